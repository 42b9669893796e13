"""rnnops' Optuna sweeper for Hydra: `hydra/sweeper=optuna` on Optuna 5, with pruning across job
processes, shared storage and resumable studies."""
