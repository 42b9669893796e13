"""ETS and ARIMA baselines from statsmodels: parameters fit on training rows only, then forecasts
from many origins at once.

Each model is fit once; to forecast from every test origin, the fitted parameters are run over
the whole series (statsmodels' smooth / filter with fixed parameters, which at time t has seen
only y_0..y_t) and each origin's H-step forecast is projected from its filtered state. That is
what calling `forecast(H)` on the model refiltered up to each origin gives (tests compare the
two), at the cost of one pass over the series instead of one per origin.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np


@contextmanager
def _quiet():
    # statsmodels warns about start values and convergence on every fit; the fit's quality shows
    # in the test metrics instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class ETSBaseline:
    """Exponential smoothing with additive error, (damped) additive trend and, for a period > 1,
    additive season: ETS(A,Ad,A) (Hyndman et al. 2008), statsmodels' ETSModel.

    The initial states come from the first seasons of the training rows (statsmodels'
    heuristic, Hyndman et al. 2008 sec. 2.6.1) where there are ten of them, else they are
    estimated with the smoothing parameters; either way they are then fixed ("known"), so
    forecasting over a longer series changes nothing but the data seen.
    """

    def __init__(self, period: int, damped: bool = True):
        self.period, self.damped = period, damped
        self.params: np.ndarray | None = None  # smoothing (and damping) parameters
        self.initial: dict[str, object] = {}

    def _model(self, y: np.ndarray, **initialization):
        # lazy: statsmodels' models take about a second to import, for two optional baselines
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = self.period > 1
        return ETSModel(np.asarray(y, dtype=np.float64), error="add", trend="add",
                        damped_trend=self.damped, seasonal="add" if seasonal else None,
                        seasonal_periods=self.period if seasonal else None, **initialization)

    def fit(self, train: np.ndarray, start: np.ndarray | None = None) -> ETSBaseline:
        """`start`: smoothing parameters to start the optimiser from (a refit on more rows)."""
        if self.period > 1 and len(train) < 2 * self.period:
            raise ValueError(f"ETS with season {self.period} needs at least two seasons of "
                             f"training rows, got {len(train)}")
        method = "heuristic" if len(train) >= 10 * max(self.period, 2) else "estimated"
        model = self._model(train, initialization_method=method)
        if start is not None and method == "estimated":
            start = None  # the estimated method also optimises the initial states
        with _quiet():
            fitted = model.fit(disp=False, start_params=start)
        smoothing = [n for n in fitted.param_names if not n.startswith("initial_")]
        self.params = np.asarray([fitted.params[fitted.param_names.index(n)] for n in smoothing])
        self.initial = {"initial_level": fitted.initial_level,
                        "initial_trend": fitted.initial_trend}
        if self.period > 1:
            self.initial["initial_seasonal"] = np.asarray(fitted.initial_seasonal)
        return self

    def forecast(self, series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """series starts where the training rows started; origins index its last observed value.
        Returns (len(origins), horizon)."""
        return self.runner(series)(origins, horizon)

    def runner(self, series: np.ndarray):
        """The series filtered once; the function returned forecasts from any of its origins
        (evaluate asks a batch of windows at a time)."""
        if self.params is None:
            raise RuntimeError("fit the ETS baseline before forecasting")
        with _quiet():
            result = self._model(series, initialization_method="known",
                                 **self.initial).smooth(self.params)
        states = np.asarray(result.states)  # row t: [level, trend, season] after seeing y_t
        phi = self.params[-1] if self.damped else 1.0  # damping_trend comes last

        def forecast(origins: np.ndarray, horizon: int) -> np.ndarray:
            steps = np.arange(1, horizon + 1)
            trend_sum = np.cumsum(phi ** steps)  # phi + phi^2 + ... + phi^h
            out = states[origins, 0, None] + trend_sum * states[origins, 1, None]
            if self.period > 1:
                # s_{t+h-m(k+1)}, k = floor((h-1)/m): the latest seasonal state of that phase
                back = self.period * ((steps - 1) // self.period + 1)
                out = out + states[origins[:, None] + steps - back, 2]
            return out

        return forecast


class ARIMABaseline:
    """ARIMA(p,d,q) on the series after D seasonal differences at the period:
    SARIMA(p,d,q)(0,D,0)_m. Fit with the differencing done outside the state space (a state of
    size max(p, q + 1) instead of one that carries m lags, which is what keeps a weekly season
    affordable); forecasts are integrated back to levels here."""

    def __init__(self, order: tuple[int, int, int], seasonal_difference: int, period: int):
        self.order = tuple(order)
        self.seasonal = (0, seasonal_difference, 0, period) if seasonal_difference and period > 1 \
            else (0, 0, 0, 0)
        self.params: np.ndarray | None = None

    @property
    def lost(self) -> int:
        """Rows consumed by the differencing."""
        return self.order[1] + self.seasonal[1] * self.seasonal[3]

    def _model(self, y: np.ndarray):
        from statsmodels.tsa.statespace.sarimax import SARIMAX  # lazy: as ETSModel above

        return SARIMAX(np.asarray(y, dtype=np.float64), order=self.order,
                       seasonal_order=self.seasonal, simple_differencing=True)

    def fit(self, train: np.ndarray, start: np.ndarray | None = None) -> ARIMABaseline:
        if len(train) <= self.lost + sum(self.order) + 1:
            raise ValueError(f"ARIMA{self.order} with seasonal differencing {self.seasonal} "
                             f"needs more than {self.lost} training rows, got {len(train)}")
        with _quiet():  # no parameter covariance: only the point forecasts are used
            fitted = self._model(train).fit(disp=False, start_params=start, cov_type="none")
        self.params = np.asarray(fitted.params)
        return self

    def difference_polynomial(self) -> np.ndarray:
        """Coefficients c_0 = 1, c_1, ... of (1 - B)^d (1 - B^m)^D."""
        poly = np.array([1.0])
        for _ in range(self.order[1]):
            poly = np.convolve(poly, [1.0, -1.0])
        if self.seasonal[1]:
            seasonal = np.zeros(self.seasonal[3] + 1)
            seasonal[0], seasonal[-1] = 1.0, -1.0
            poly = np.convolve(poly, seasonal)
        return poly

    def forecast(self, series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """As ETSBaseline.forecast: (len(origins), horizon) from each origin's filtered state."""
        return self.runner(series)(origins, horizon)

    def runner(self, series: np.ndarray):
        """As ETSBaseline.runner: the series filtered once, forecasts from any origins."""
        if self.params is None:
            raise RuntimeError("fit the ARIMA baseline before forecasting")
        with _quiet():
            filtered = self._model(series).filter(self.params).filter_results
        design, transition = filtered.design[:, :, 0], filtered.transition[:, :, 0]
        obs_intercept = filtered.obs_intercept[:, 0]
        state_intercept = filtered.state_intercept[:, 0]
        predicted = filtered.predicted_state
        poly = self.difference_polynomial()
        order = len(poly) - 1
        series = np.asarray(series, dtype=np.float64)

        def forecast(origins: np.ndarray, horizon: int) -> np.ndarray:
            if origins.min() < self.lost:
                raise ValueError(f"an origin at row {origins.min()} has no differenced history")
            # predicted_state[:, j] is the state for differenced row j given rows before it;
            # the differenced series starts `lost` rows into the series.
            state = predicted[:, origins - self.lost + 1]  # (k, N)
            differenced = np.empty((len(origins), horizon))
            for h in range(horizon):
                differenced[:, h] = (design @ state)[0] + obs_intercept[0]
                state = transition @ state + state_intercept[:, None]
            # undo the differencing: y_t = w_t - sum_{k>=1} c_k y_{t-k}, on forecasts as they come
            levels = np.empty((len(origins), order + horizon))
            if order:
                levels[:, :order] = series[origins[:, None] + np.arange(-order + 1, 1)]
            for h in range(horizon):
                past = levels[:, order + h - np.arange(1, order + 1)]  # y_{t-1}, ..., y_{t-order}
                levels[:, order + h] = differenced[:, h] - past @ poly[1:]
            return levels[:, order:]

        return forecast
