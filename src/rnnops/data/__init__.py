"""Data: sources behind a registry, chronological splits with train-only scaling, and windows."""
