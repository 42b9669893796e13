"""Hyperparameter search with Optuna: the study, its search space, pruning and the objective."""
