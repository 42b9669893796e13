"""The kinds of data the pipeline handles, by data.kind (the task contract: tasks/contract.py)."""

from __future__ import annotations

from rnnops.config import Config
from rnnops.tasks.contract import Task
from rnnops.tasks.forecasting import ForecastingTask
from rnnops.tasks.language import LanguageTask

TASKS: dict[str, Task] = {"series": ForecastingTask(), "text": LanguageTask()}


def task_for(cfg: Config) -> Task:
    """The task of cfg.data.kind (the schema allows only the kinds listed here)."""
    return TASKS[cfg.data.kind]
