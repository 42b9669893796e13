"""rnnops: pipeline-orchestrated MLOps for recurrent sequence models."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """`from rnnops import Forecaster, LanguageModel`, imported when asked for: `import rnnops`
    (the CLI's start) stays free of torch and pandas."""
    if name == "Forecaster":
        from rnnops.api import Forecaster

        return Forecaster
    if name == "LanguageModel":
        from rnnops.api import LanguageModel

        return LanguageModel
    raise AttributeError(f"module 'rnnops' has no attribute {name!r}")
