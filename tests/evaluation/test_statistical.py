"""ETS and ARIMA: fit on training rows, then forecasts from many origins in one pass, which must
equal what statsmodels itself forecasts from each origin."""

import numpy as np
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

from rnnops.evaluation.statistical import ARIMABaseline, ETSBaseline


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    return (0.02 * t + 2 * np.sin(2 * np.pi * t / 4) + 0.1 * rng.normal(0, 0.3, 400).cumsum()
            + rng.normal(0, 0.2, 400))


def test_arima_forecasts_equal_statsmodels_refiltered_at_each_origin(series):
    model = ARIMABaseline((1, 1, 1), 1, 4).fit(series[:300])
    origins = np.array([299, 320, 377])
    ours = model.forecast(series, origins, 6)
    for row, origin in zip(ours, origins, strict=True):
        # the same parameters, differencing inside the state space, data up to the origin only
        reference = SARIMAX(series[: origin + 1], order=(1, 1, 1),
                            seasonal_order=(0, 1, 0, 4)).filter(model.params).forecast(6)
        np.testing.assert_allclose(row, reference, atol=1e-6)


def test_arima_difference_polynomial():
    poly = ARIMABaseline((0, 1, 0), 1, 3).difference_polynomial()
    # (1 - B)(1 - B^3) = 1 - B - B^3 + B^4
    assert poly.tolist() == [1.0, -1.0, 0.0, -1.0, 1.0]


def test_ets_forecasts_equal_statsmodels_at_the_train_end_and_later_origins(series):
    model = ETSBaseline(4, damped=True).fit(series[:300])
    fitted = ETSModel(series[:300], error="add", trend="add", damped_trend=True, seasonal="add",
                      seasonal_periods=4, initialization_method="heuristic").fit(disp=False)
    np.testing.assert_allclose(model.forecast(series[:300], np.array([299]), 6)[0],
                               fitted.forecast(6), atol=1e-8)
    origins = np.array([320, 377])
    ours = model.forecast(series, origins, 6)
    for row, origin in zip(ours, origins, strict=True):
        reference = model._model(series[: origin + 1], initialization_method="known",
                                 **model.initial).smooth(model.params).forecast(6)
        np.testing.assert_allclose(row, reference, atol=1e-8)


def test_no_future_rows_reach_a_forecast(series):
    """Changing the series after an origin leaves that origin's forecast as it was."""
    origins = np.array([310])
    for model in (ARIMABaseline((1, 0, 1), 1, 4), ETSBaseline(4)):
        model.fit(series[:300])
        changed = series.copy()
        changed[311:] += 100.0
        np.testing.assert_allclose(model.forecast(series, origins, 5),
                                   model.forecast(changed, origins, 5), atol=1e-9)


def test_short_training_rows_are_refused():
    with pytest.raises(ValueError, match="two seasons"):
        ETSBaseline(52).fit(np.zeros(60))
