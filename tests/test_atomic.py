import pytest

from rnnops.atomic import staged


def test_staged_folder_replaces_the_old_one_only_on_success(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged(out) as (temp,):
        temp.mkdir()
        (temp / "new.txt").write_text("new")
        assert not (out / "new.txt").exists()  # nothing visible before the block ends
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]


def test_staged_leaves_nothing_behind_on_error(tmp_path):
    out, metrics = tmp_path / "out", tmp_path / "metrics.json"
    metrics.write_text("previous")
    with pytest.raises(RuntimeError), staged(out, metrics) as (folder, file):
        folder.mkdir()
        (folder / "half.bin").write_text("x")
        file.write_text("half")
        raise RuntimeError("crash midway")
    assert not out.exists()
    assert metrics.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]

