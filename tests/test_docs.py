"""The documentation agrees with the project: every shell command it shows is run by
tests/e2e/test_docs_commands.py or listed there with a reason, and the configuration page lists
every config key with its default and every option of every group."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT
from tests.e2e.test_docs_commands import NOT_RUN, documented_commands, run_commands, shell_commands

CONFIG_PAGE = ROOT / "docs" / "configuration.md"


def test_the_command_reader_joins_lines_and_drops_comments():
    text = ("intro\n```bash\nmake run    # set up .venv\n\npython a.py x=1 \\\n    'y=#1'  # c\n"
            "```\n```yaml\nnot: a command\n```\n")
    assert shell_commands(text) == ["make run", "python a.py x=1 'y=#1'"]


def test_every_documented_command_is_run_or_listed():
    documented = documented_commands()
    run, listed = set(run_commands()), set(NOT_RUN)
    assert not run & listed, f"both run and listed as not runnable: {sorted(run & listed)}"
    new = {c: files for c, files in documented.items() if c not in run | listed}
    assert not new, ("commands in the docs that tests/e2e/test_docs_commands.py neither runs "
                     f"(SCENARIOS) nor lists with a reason (NOT_RUN): {new}")
    stale = (run | listed) - set(documented)
    assert not stale, f"commands no longer in the docs; drop them from the test: {sorted(stale)}"


def flat_params(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and dotted != "sweep.space":
            out.update(flat_params(value, dotted))
        else:
            out[dotted] = value
    return out


def test_the_configuration_page_lists_every_key_with_its_default():
    params = flat_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    rows = re.findall(r"^\| `([\w.]+)` \| (.+?) \| .+ \|$", CONFIG_PAGE.read_text(), re.M)
    table = {key: default for key, default in rows if key in params or "." in key}
    assert set(table) == set(params), (
        f"docs/configuration.md misses {sorted(set(params) - set(table))} and lists unknown "
        f"keys {sorted(set(table) - set(params))}")
    for key, default in table.items():
        if key == "sweep.space":
            assert "conf/sweep" in default
            continue
        shown = yaml.safe_load(default.strip("`"))
        assert shown == params[key], f"docs/configuration.md: {key} default {default}, " \
                                     f"params.yaml has {params[key]!r}"


def test_the_configuration_page_names_every_option_of_every_group():
    text = CONFIG_PAGE.read_text()
    for group in sorted(p for p in (ROOT / "conf").iterdir() if p.is_dir()):
        row = re.search(rf"^\| `{group.name}` \|.*$", text, re.M)
        assert row, f"docs/configuration.md has no row for the group {group.name}"
        for option in group.glob("*.yaml"):
            assert f"`{option.stem}`" in row.group(0), (
                f"docs/configuration.md: group {group.name} does not name option {option.stem}")
