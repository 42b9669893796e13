"""Passwords are found by value in any string and hidden; the rest of the URL stays readable."""

from __future__ import annotations

import logging

import pytest

from rnnops.config import flatten, to_dict
from rnnops.masking import MaskingFilter, mask, masked
from tests.conftest import load


@pytest.mark.parametrize(("text", "expected"), [
    ("postgresql://rnnops:s3cret@db.example:5432/optuna",
     "postgresql://rnnops:***@db.example:5432/optuna"),
    ("mysql+pymysql://u:p@ss@host/db?x=a@b", "mysql+pymysql://u:***@host/db?x=a@b"),
    ("https://user:tok/en@example.com/file.csv", "https://user:***@example.com/file.csv"),
    ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
    ("postgresql://host/db?user=u&password=zz&sslmode=require",
     "postgresql://host/db?user=u&password=***&sslmode=require"),
    ("sweep.storage=postgresql://u:pw@h/db", "sweep.storage=postgresql://u:***@h/db"),
    # a Hydra sweep job's override, ':' escaped
    ("sweep.storage=postgresql\\://u\\:pw@h\\:5432/db", "sweep.storage=postgresql\\://u\\:***@h\\:5432/db"),
    ("cannot open 'postgresql://u:pw@h:1/db': refused", "cannot open 'postgresql://u:***@h:1/db': "
     "refused"),
    # nothing to hide
    ("postgresql://rnnops@db.example/optuna", "postgresql://rnnops@db.example/optuna"),
    ("sqlite:////tmp/store/mlflow.db", "sqlite:////tmp/store/mlflow.db"),
    ("http://127.0.0.1:5000/#/experiments", "http://127.0.0.1:5000/#/experiments"),
    ("train.lr=0.01", "train.lr=0.01"),
])
def test_masked_hides_the_password_and_keeps_the_rest(text, expected):
    assert masked(text) == expected


def test_every_url_valued_key_is_masked_by_value():
    cfg = load("sweep.storage=postgresql://u:hunter2@db:5432/optuna",
               "tracking.uri=http://admin:hunter2@mlflow.example:5000",
               "data.url=https://reader:hunter2@files.example/co2.csv")
    flat = flatten(mask(to_dict(cfg)))
    assert not [k for k, v in flat.items() if "hunter2" in str(v)]
    assert flat["sweep.storage"] == "postgresql://u:***@db:5432/optuna"
    assert flat["tracking.uri"] == "http://admin:***@mlflow.example:5000"
    assert flat["data.url"] == "https://reader:***@files.example/co2.csv"
    assert flat["train.lr"] == cfg.train.lr  # other values untouched, types kept


def test_log_records_and_their_tracebacks_are_masked():
    secret = "mysql://u:" + "Zq9" + "@h/d"  # split, so the traceback's source line lacks it
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "opening %s", (secret,), None)
    try:
        raise ValueError(f"bad url {secret}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert MaskingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "Zq9" not in text
    assert text.startswith("opening mysql://u:***@h/d\n")
    assert text.endswith("ValueError: bad url mysql://u:***@h/d")


def test_after_mask_logs_every_record_is_masked_as_it_is_made():
    """Hydra's launchers set their log handlers up again between jobs and then log each job's
    overrides: the records themselves are masked, whatever handler writes them."""
    from rnnops.masking import mask_logs

    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    mask_logs()
    logger = logging.getLogger("rnnops.tests.masking")
    logger.addHandler(Keep())  # a handler added later, without the filter
    logger.propagate = False
    logger.warning("#0 : sweep.storage=%s", "postgresql\\://u\\:" + "Zq9" + "@h\\:1/db")
    assert seen == ["#0 : sweep.storage=postgresql\\://u\\:***@h\\:1/db"]
