"""docs/results.md from rows.yaml (the published figures and the notes) and results/*.json
(ours, written by row.py)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DROP_LAST = "_drop_last"  # rnnops.evaluation.report.DROP_LAST: the metrics of that subset
OUT = HERE.parents[1] / "docs" / "results.md"

HEADER = """# Results

Produced by `make results` (`dvc repro` in pipelines/benchmarks), one row per stage
of that pipeline; each row's command below reproduces it alone. Data: the ETT files, Penn
Treebank and Tiny Shakespeare by their pinned URLs, or `RNNOPS_DATA_ROOT` for local copies.
Published figures: SegRNN (Lin et al. 2023), DLinear (Zeng et al. 2023), Informer (Zhou et al.
2021), Zaremba et al. (2014), AWD-LSTM (Merity et al. 2018). Rows not run yet say so. Wall
times are for the machine named in the row, which may have been shared with other work while
the row ran (see the notes). Forecasting rows are scored on every test window; rows whose
experiment sets `evaluate.drop_last_batch` are also scored on the first windows only, the ones a
test loader of that batch with drop_last keeps, which is how the published figures were scored
(the Informer lineage's code; Qiu et al. 2024 measure the difference). The target is judged on
the full test set, and in brackets on those windows.
"""


def ours(result: dict) -> str:
    model = result["metrics"]["model"]
    if "perplexity" in model:
        return f"perplexity {model['perplexity']:.1f}"
    if "bpc" in model:
        return f"{model['loss']:.3f} nats/char ({model['bpc']:.3f} bpc)"
    text = f"{model['mse']:.3f} / {model['mae']:.3f}"
    if f"mse{DROP_LAST}" in model:
        text += (f" (drop_last windows: {model[f'mse{DROP_LAST}']:.3f} / "
                 f"{model[f'mae{DROP_LAST}']:.3f})")
    return text


def target_met(result: dict, target: dict) -> str:
    """On the full test set; where the row also scored the drop_last windows the published
    figures were scored on, how it fares there too."""
    model = result["metrics"]["model"]

    def met(suffix: str) -> str:
        checks = [model[k + suffix] <= v for k, v in target.items() if k + suffix in model]
        return "" if not checks else ("yes" if all(checks) else "no")

    full, first = met(""), met(DROP_LAST)
    return f"{full} (drop_last: {first})" if first else full


def result(name: str) -> dict | None:
    path = HERE / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def best_baseline(metrics: dict) -> str:
    """The baseline with the lowest test MSE: picked on the test set, so it flatters the
    baselines (a choice on validation could only do as well)."""
    mse, name = min((v["mse"], k) for k, v in metrics.items() if k != "model")
    return f"{mse:.3f} ({name})"


def transfer_table(rows: dict) -> list[str]:
    """The transfer rows (rows.yaml `transfer`) side by side by fraction of training rows."""
    by_fraction: dict[float, dict[str, dict]] = {}
    for name, row in rows.items():
        if "transfer" in row and "corpus" not in row["transfer"] and (r := result(name)):
            by_fraction.setdefault(row["transfer"]["fraction"], {})[row["transfer"]["start"]] = r
    if not by_fraction:
        return []
    lines = ["\n## Transfer: ETTh2 test MSE / MAE by fraction of its training rows\n",
             "| training rows | pre-trained on ETTh1 + ETTm1, fine-tuned | same model from scratch "
             "| best baseline on test (MSE) |", "|---|---|---|---|"]
    for fraction in sorted(by_fraction):
        runs = by_fraction[fraction]
        cells = [" / ".join(f"{runs[start]['metrics']['model'][m]:.3f}" for m in ("mse", "mae"))
                 if start in runs else "not run" for start in ("pre-trained", "scratch")]
        baseline = best_baseline(next(iter(runs.values()))["metrics"])
        lines.append(f"| {fraction:.0%} | {cells[0]} | {cells[1]} | {baseline} |")
    return lines


def text_transfer_table(rows: dict) -> list[str]:
    """The character-model transfer rows side by side by fraction of training text."""
    by_fraction: dict[float, dict[str, dict]] = {}
    for name, row in rows.items():
        if row.get("transfer", {}).get("corpus") == "text" and (r := result(name)):
            by_fraction.setdefault(row["transfer"]["fraction"], {})[row["transfer"]["start"]] = r
    if not by_fraction:
        return []
    lines = ["\n## Transfer: Tiny Shakespeare validation bits per character by fraction of its "
             "training text\n",
             "| training text | pre-trained on Penn Treebank's characters, fine-tuned | same "
             "model from scratch |", "|---|---|---|"]
    for fraction in sorted(by_fraction):
        runs = by_fraction[fraction]
        cells = [f"{runs[start]['metrics']['model']['bpc']:.3f} bpc (epochs "
                 f"{runs[start]['train']['epochs_run']})" if start in runs else "not run"
                 for start in ("pre-trained", "scratch")]
        lines.append(f"| {fraction:.0%} | {cells[0]} | {cells[1]} |")
    return lines


INTERVAL_FORECASTERS = ("model", "ets", "seasonal_naive", "linear")


def interval_table(rows: dict) -> list[str]:
    """Coverage, width and CRPS of the interval rows (rows.yaml `intervals`)."""
    found = [(name, r) for name, row in rows.items() if row.get("intervals")
             and (r := result(name))]
    if not found:
        return []
    lines = ["\n## Prediction intervals: test coverage and CRPS (scaled data)\n",
             "| row | forecaster | intervals | coverage 80 % | coverage 95 % | width 80 % | CRPS "
             "| MSE |", "|---|---|---|---|---|---|---|---|"]
    for name, r in found:
        quantile = "quantile" in name
        for forecaster in INTERVAL_FORECASTERS:
            m = r["metrics"].get(forecaster)
            if not m or "coverage_80" not in m:
                continue
            how = "its own quantiles" if quantile and forecaster == "model" else "conformal"
            lines.append(f"| {name} | {forecaster} | {how} | {m['coverage_80']:.3f} | "
                         f"{m['coverage_95']:.3f} | {m['width_80']:.3f} | {m['crps']:.4f} | "
                         f"{m['mse']:.4f} |")
    return lines


def render() -> str:
    rows = yaml.safe_load((HERE / "rows.yaml").read_text())["rows"]
    lines, table = [HEADER], None
    for name, row in rows.items():
        if row.get("table", "Other") != table:
            table = row.get("table", "Other")
            lines += [f"\n## {table}\n", "| row | ours | target | met | published | epochs | "
                      "wall time | device | command |", "|---|---|---|---|---|---|---|---|---|"]
        published = "; ".join(f"{k} {' / '.join(f'{v:g}' for v in vs)}"
                              for k, vs in row.get("published", {}).items())
        target = ", ".join(f"{k} <= {v:g}" for k, v in row.get("target", {}).items())
        path = HERE / "results" / f"{name}.json"
        if not path.exists():
            lines.append(f"| {name} | not run | {target} | | {published} | | | | "
                         f"`python pipelines/benchmarks/row.py {name}` |")
            continue
        r = json.loads(path.read_text())
        minutes = sum(v for v in r["seconds"].values() if v) / 60
        lines.append(f"| {name} | {ours(r)} | {target} | {target_met(r, row.get('target', {}))} "
                     f"| {published} | {r['train']['epochs_run']} | {minutes:.1f} min | "
                     f"{r['device']} | `{r['command']}` |")
    lines += transfer_table(rows) + text_transfer_table(rows) + interval_table(rows)
    notes = [f"- {name}: {' '.join(row['note'].split())}" for name, row in rows.items()
             if row.get("note")]
    if notes:
        lines += ["\n## Notes\n", *notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    OUT.write_text(render())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
