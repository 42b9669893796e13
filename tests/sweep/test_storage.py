"""Opening a study's storage: SQLite, journal files, PostgreSQL URLs, and clear errors."""

from __future__ import annotations

import optuna
import pytest

from rnnops.errors import ConfigError
from rnnops.sweep.storage import default_url, driver_url, masked, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def roundtrip(url: str) -> None:
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.add_trial(optuna.trial.create_trial(value=1.5, params={}, distributions={}))
    again = optuna.load_study(study_name="s", storage=open_storage(url))
    assert [t.value for t in again.trials] == [1.5]


def test_default_is_a_sqlite_file_in_the_folder(tmp_path):
    url = default_url(tmp_path / "optuna")
    assert url == f"sqlite:///{tmp_path / 'optuna' / 'optuna.db'}"
    roundtrip(url)
    assert (tmp_path / "optuna" / "optuna.db").is_file()


def test_a_sqlite_file_s_new_folder_is_made(tmp_path):
    roundtrip(f"sqlite:///{tmp_path}/new/folder/study.db")  # as journal: does
    assert (tmp_path / "new" / "folder" / "study.db").is_file()


def test_journal_file(tmp_path):
    roundtrip(f"journal:{tmp_path}/j/study.log")
    assert (tmp_path / "j" / "study.log").stat().st_size > 0


def test_postgresql_means_psycopg3_and_passwords_stay_hidden():
    assert driver_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert driver_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert driver_url("postgresql+psycopg2://h/db") == "postgresql+psycopg2://h/db"
    assert masked("postgresql://user:s3cret@host:5432/db") == "postgresql://user:***@host:5432/db"
    assert masked("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


def test_unreachable_server_is_one_line_on_the_key_without_the_password():
    with pytest.raises(ConfigError) as err:
        open_storage("postgresql://rnnops:s3cret@127.0.0.1:1/optuna")
    message = str(err.value)
    assert message.startswith("config key 'sweep.storage': cannot open postgresql://rnnops:***@")
    assert "s3cret" not in message and "\n" not in message


def test_unknown_scheme_names_the_key_given():
    with pytest.raises(ConfigError, match="'hydra.sweeper.storage'.*is no storage URL"):
        open_storage("redis://localhost", key="hydra.sweeper.storage")
