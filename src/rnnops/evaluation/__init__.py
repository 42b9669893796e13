"""Evaluation: metrics, baselines on the same windows, and plots."""
