"""A stage run on its own stops with one line when the prepared data was made with other data
settings, and goes on when only keys that prepare does not read differ."""

from __future__ import annotations

import json

import pytest

from rnnops.data.prepared import META, PreparedData
from rnnops.data.prepared_text import load_prepared_text
from rnnops.data.provenance import DATA_SETTINGS
from rnnops.errors import UserError
from tests.conftest import load
from tests.data.conftest import prepare


def test_series_prepared_with_other_settings_is_refused(tmp_path):
    prepare(tmp_path)  # co2, lookback 104
    folder = tmp_path / "data" / "prepared"
    with pytest.raises(UserError) as err:
        PreparedData.load(folder, load("data=synthetic").data)
    assert str(err.value) == (
        f"{folder}: prepared with data.name='co2', but this run has data.name='synthetic'; run "
        "the prepare stage again with this run's settings (dvc repro, or rnnops prepare with "
        "the same overrides)")
    with pytest.raises(UserError, match=r"data.lookback=104, but this run has data.lookback=52"):
        PreparedData.load(folder, load("data.lookback=52").data)
    with pytest.raises(UserError, match=r"data.split=.*'train': 0.7.*this run has data.split="):
        PreparedData.load(folder, load("data.split.train=0.6").data)
    # where the files come from and what only later stages read do not matter
    same = load("data.stride=4", "data.season_period=12", "data.root=/elsewhere").data
    assert len(PreparedData.load(folder, same).arrays["train"]) > 0


def test_data_prepared_before_settings_were_recorded_is_read(tmp_path):
    prepare(tmp_path)
    folder = tmp_path / "data" / "prepared"
    meta = json.loads((folder / META).read_text())
    del meta[DATA_SETTINGS]
    (folder / META).write_text(json.dumps(meta))
    PreparedData.load(folder, load("data.lookback=52").data)


def test_text_prepared_with_another_level_is_refused(tmp_path):
    (tmp_path / "story.txt").write_text("the cat sat on the mat\n" * 200)
    text = ["data=text", f"data.path={tmp_path / 'story.txt'}"]
    prepare(tmp_path, *text, "data.level=char")
    folder = tmp_path / "data" / "prepared"
    load_prepared_text(folder, load(*text, "data.level=char", "data.lookback=7").data)
    with pytest.raises(UserError, match="prepared with data.level='char', but this run has "
                                        "data.level='word'"):
        load_prepared_text(folder, load(*text, "data.level=word").data)
