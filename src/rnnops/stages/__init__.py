"""The pipeline stages as plain functions: typed config in, files out. dvc.yaml runs them through
pipelines/*.py; `rnnops run` runs them in one process."""
