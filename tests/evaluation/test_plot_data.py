"""The CSVs behind dvc.yaml's plots hold every column the plots name, whatever ran."""

import pandas as pd
import yaml

from rnnops.evaluation.forecasts import DVC_BANDS, for_dvc_plots
from rnnops.evaluation.suite import BASELINES
from tests.conftest import ROOT


def test_missing_baselines_are_empty_columns_not_missing_ones():
    frame = pd.DataFrame({"step": [1, 2], "model": [0.1, 0.2], "linear": [0.3, 0.4]})
    out = for_dvc_plots(frame)
    assert list(out.columns) == ["step", "model", "linear",
                                 *(b for b in BASELINES if b != "linear")]
    assert out["ets"].isna().all() and out["linear"].tolist() == [0.3, 0.4]


def test_every_plotted_baseline_column_is_one_evaluate_writes():
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    written = {"model", "actual", "forecast", *BASELINES, *DVC_BANDS}
    for plot in plots:
        if not isinstance(plot, dict):
            continue
        (title, spec), = plot.items()
        for path, fields in spec.get("y", {}).items():
            if path.startswith("reports/plots/") and isinstance(fields, list):
                assert set(fields) <= written, (title, set(fields) - written)
