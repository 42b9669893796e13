"""rnnops: pipeline-orchestrated MLOps for recurrent sequence models."""

__version__ = "0.1.0"
