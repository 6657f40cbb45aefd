"""Forecasts for the budget optimizer: daily ETS forecasts with bands and simulated paths (spend and sales per cell,
for pacing), per-SKU stock-out probabilities from sales and inventory, and weekday-shaped pacing targets."""

from __future__ import annotations

import datetime
import math
import warnings
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

BAND_ALPHA = 0.10  # 5% / 95% bands
Z_BAND = 1.6448536269514722  # the normal 95% quantile, for the bands of the flat fallback
MIN_ETS_POINTS = 3
MIN_HEURISTIC_POINTS = 10  # statsmodels' heuristic initialization needs 10 points (more with a season)
DEFAULT_RESTOCK_DAYS = 14
NO_REGION = "(no region)"
HISTORY_DAYS = 365  # a year shows the weekly pattern and the restock cycle, and keeps fits fast
SALES_SCHEMA = {"date": pl.Date, "gtin14": pl.String, "retailer": pl.String, "region": pl.String,
                "units": None, "on_hand": None}

NOT_NON_NEGATIVE = "{name} must be a non-negative integer, got {value!r}"
NOT_POSITIVE = "{name} must be a positive integer, got {value!r}"
NOT_ONE_DIMENSIONAL = "values must be one-dimensional, got shape {shape}"
MISSING_COLUMNS = "sales is missing column(s): {columns}"
WRONG_DTYPE = "sales column {column!r} must be {expected}, got {actual}"
BAD_TOTAL = "total must be a finite non-negative amount, got {value!r}"
BAD_PROFILE = "weekly_profile must be 7 finite non-negative weights (Monday first), got {value!r}"
EMPTY_PROFILE = "weekly_profile gives no weight to any of the {days} days from {start}"
LENGTH_MISMATCH = "dates and values must have the same length, got {dates} and {values}"


@dataclass(frozen=True, eq=False)
class DailyForecast:
    """A daily forecast `horizon` days past the last value: the mean, 5%/95% bands and, when asked for, simulated
    future paths (draws × horizon). Everything is clipped at 0. `model` names what produced it."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    paths: np.ndarray | None
    model: str


@dataclass(frozen=True)
class StockoutForecast:
    """The stock-out outlook of one SKU at one retailer, over all its regions (a stock-out in any region counts)."""

    gtin14: str
    retailer: str
    probability: float | None
    on_hand: int
    expected_demand: float
    days_of_cover: float
    horizon_days: int
    sellable_units: float
    reason: str


@dataclass(frozen=True)
class _RegionOutlook:
    region: str
    probability: float | None
    on_hand: int | None
    expected_demand: float
    daily_demand: float
    horizon_days: int


# --- daily forecasts ---------------------------------------------------------------------------------------------

def forecast_daily(values: np.ndarray | Sequence[float], *, horizon: int, season: int = 7, draws: int = 0,
                   rng: np.random.Generator | int | None = None) -> DailyForecast:
    """Forecast a non-negative daily series `horizon` days ahead with ETS (additive error, no trend, additive
    `season`-day seasonality once there are two full seasons). NaNs are missing days. Under 3 observed points, or
    a constant series, the forecast is flat at the observed mean with the observed spread."""
    _check_count("horizon", horizon, minimum=0)
    _check_count("draws", draws, minimum=0)
    generator = np.random.default_rng(rng)
    history = _history(values)
    observed = history[~np.isnan(history)]
    if horizon == 0:
        return _flat_forecast(observed, 0, draws, generator)
    if observed.size < MIN_ETS_POINTS or np.ptp(observed) == 0:
        return _flat_forecast(observed, horizon, draws, generator)
    return _ets_forecast(_fill_missing(history, season), horizon, season, draws, generator)


def _history(values: np.ndarray | Sequence[float]) -> np.ndarray:
    history = np.asarray(values, dtype=float)
    if history.ndim != 1:
        raise ValueError(NOT_ONE_DIMENSIONAL.format(shape=history.shape))
    history = np.where(np.isfinite(history), history, np.nan)
    known = np.flatnonzero(~np.isnan(history))
    # Days before the first observation are not history, just the series not having started.
    return history[known[0]:] if known.size else history[:0]


def _fill_missing(history: np.ndarray, season: int) -> np.ndarray:
    """ETS cannot skip days, so a missing day takes the mean of its weekday (of the whole series, without one)."""
    missing = np.isnan(history)
    if not missing.any():
        return history
    filled = history.copy()
    overall = np.nanmean(history)
    phase = np.arange(history.size) % max(season, 1)
    for p in np.unique(phase[missing]):
        same_phase = history[phase == p]
        fill = np.nanmean(same_phase) if (~np.isnan(same_phase)).any() else overall
        filled[missing & (phase == p)] = fill
    return filled


def _flat_forecast(observed: np.ndarray, horizon: int, draws: int, generator: np.random.Generator) -> DailyForecast:
    level = float(observed.mean()) if observed.size else 0.0
    spread = float(observed.std(ddof=1)) if observed.size > 1 else 0.0
    mean = np.full(horizon, max(level, 0.0))
    lower = np.full(horizon, max(level - Z_BAND * spread, 0.0))
    upper = np.full(horizon, max(level + Z_BAND * spread, 0.0))
    paths = None
    if draws:
        paths = np.clip(level + spread * generator.standard_normal((draws, horizon)), 0.0, None)
    return DailyForecast(mean, lower, upper, paths, "flat")


def _ets_forecast(history: np.ndarray, horizon: int, season: int, draws: int,
                  generator: np.random.Generator) -> DailyForecast:
    # Imported on first use: statsmodels (and pandas) take about a second to import, and web requests rarely forecast.
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    n = history.size
    period = season if season > 1 and n >= 2 * season else None
    with warnings.catch_warnings():
        # Short or flat-ish series make the optimizer warn (ConvergenceWarning and the like); the fit is still usable.
        warnings.simplefilter("ignore")
        model = ETSModel(
            pd.Series(history),  # statsmodels 0.15's get_prediction fails on a plain array (it wants an index)
            error="add", trend=None, damped_trend=False, seasonal="add" if period else None,
            seasonal_periods=period, initialization_method=_initialization(n, period),
        )
        fit = model.fit(disp=False)
        frame = fit.get_prediction(start=n, end=n + horizon - 1).summary_frame(alpha=BAND_ALPHA)
        paths = None
        if draws:
            simulated = fit.simulate(horizon, repetitions=draws, anchor="end", rng=generator)
            paths = np.clip(np.asarray(simulated, dtype=float).reshape(horizon, draws).T, 0.0, None)
    mean, lower, upper = (np.clip(frame[c].to_numpy(dtype=float), 0.0, None) for c in ("mean", "pi_lower", "pi_upper"))
    return DailyForecast(mean, lower, upper, paths, f"ETS(A,N,{'A' if period else 'N'})")


def _initialization(n: int, period: int | None) -> str:
    """The heuristic start is ~10× faster than estimating the initial states (which adds one parameter per
    weekday to the optimization); it needs 10 points, plus half a season either side with a season."""
    needed = MIN_HEURISTIC_POINTS + (2 * (period // 2) if period else 0)
    return "heuristic" if n >= needed else "estimated"


# --- stock-out probabilities -------------------------------------------------------------------------------------

def stockout_forecasts(sales: pl.DataFrame, *, as_of: datetime.date, horizon_days: int, draws: int = 500,
                       seed: int = 0) -> dict[tuple[str, str], StockoutForecast]:
    """The chance that each (gtin14, retailer) runs out of stock in some region within `horizon_days` after
    `as_of` (or before its next restock, if sooner), from daily `units` sold and end-of-day `on_hand` per region.
    Uses the history up to `as_of`, inclusive."""
    _check_count("horizon_days", horizon_days, minimum=0)
    _check_count("draws", draws, minimum=1)
    if sales.is_empty():
        return {}
    _check_sales_columns(sales)
    recent = sales.filter(
        pl.col("date") <= as_of, pl.col("date") > as_of - datetime.timedelta(days=HISTORY_DAYS),
        pl.col("gtin14").is_not_null(), pl.col("retailer").is_not_null(),  # rows that name no SKU count for none
    ).with_columns(pl.col("region").fill_null(NO_REGION))
    regions: dict[tuple[str, str], list[_RegionOutlook]] = defaultdict(list)
    for (gtin14, retailer, region), rows in recent.partition_by(["gtin14", "retailer", "region"], as_dict=True).items():
        rng = np.random.default_rng([seed, zlib.crc32(f"{gtin14}|{retailer}|{region}".encode())])
        regions[(gtin14, retailer)].append(
            _region_outlook(rows, region=region, as_of=as_of, horizon_days=horizon_days, draws=draws, rng=rng))
    return {key: _combine(key, outlooks) for key, outlooks in sorted(regions.items())}


def _check_count(name: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError((NOT_POSITIVE if minimum > 0 else NOT_NON_NEGATIVE).format(name=name, value=value))


def _check_sales_columns(sales: pl.DataFrame) -> None:
    missing = [c for c in SALES_SCHEMA if c not in sales.columns]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(columns=", ".join(missing)))
    for column, expected in SALES_SCHEMA.items():
        actual = sales.schema[column]
        if expected is not None and actual != expected:
            raise ValueError(WRONG_DTYPE.format(column=column, expected=expected, actual=actual))
        if expected is None and not (actual.is_integer() or actual.is_float() or actual == pl.Null):
            raise ValueError(WRONG_DTYPE.format(column=column, expected="numeric", actual=actual))


def _region_outlook(rows: pl.DataFrame, *, region: str, as_of: datetime.date, horizon_days: int, draws: int,
                    rng: np.random.Generator) -> _RegionOutlook:
    last_day, units, on_hand = _daily_series(rows)
    # A day that ended with nothing on the shelf sold only what there was: its sales understate demand, so it is
    # missing for the demand fit rather than a low-demand day.
    demand = np.where(on_hand == 0, np.nan, units)
    # Stock is replenished on the usual cycle, so the risk lasts until the next delivery: one cycle after the last
    # restock (at least a day away when a delivery is due or overdue). With no restock seen, a whole cycle.
    interval = _restock_interval(on_hand)
    days_since = _days_since_restock(on_hand)
    if days_since is None:
        until_delivery = math.ceil(interval)
    else:
        until_delivery = max(1, math.ceil(interval - days_since - (as_of - last_day).days))
    window = min(horizon_days, until_delivery)
    # Days between the last data and as_of still consume stock: they are forecast too.
    gap = (as_of - last_day).days
    forecast = forecast_daily(demand, horizon=gap + window, draws=draws, rng=rng)
    expected = float(forecast.mean.sum())
    daily = float(forecast.mean.mean()) if forecast.mean.size else 0.0
    readings = np.flatnonzero(~np.isnan(on_hand))
    if not readings.size:
        return _RegionOutlook(region, None, None, expected, daily, window)
    latest = readings[-1]
    # Units sold after the latest reading have left the shelf too.
    stock = max(int(round(on_hand[latest] - np.nansum(units[latest + 1:]))), 0)
    probability = 1.0 if stock == 0 else float(np.mean(forecast.paths.sum(axis=1) > stock))
    return _RegionOutlook(region, probability, stock, expected, daily, window)


def _daily_series(rows: pl.DataFrame) -> tuple[datetime.date, np.ndarray, np.ndarray]:
    """Dense daily `units` and `on_hand` (NaN where unknown) from the first to the last day in `rows`. Several rows
    for one day (stores within the region) add up."""
    daily = rows.group_by("date").agg(
        pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in ("units", "on_hand"))
    first, last = daily["date"].min(), daily["date"].max()
    index = daily.select((pl.col("date") - first).dt.total_days()).to_series().to_numpy()
    size = (last - first).days + 1
    units, on_hand = np.full(size, np.nan), np.full(size, np.nan)
    units[index] = daily["units"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    on_hand[index] = daily["on_hand"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return last, units, on_hand


def _days_since_restock(on_hand: np.ndarray) -> int | None:
    """Days from the latest restock (a day on which on-hand rose) to the last day of the series; None if none."""
    known = np.flatnonzero(~np.isnan(on_hand))
    restocks = known[1:][np.diff(on_hand[known]) > 0]
    return None if not restocks.size else int(len(on_hand) - 1 - restocks[-1])


def _restock_interval(on_hand: np.ndarray) -> float:
    """The median number of days between restocks (days on which on-hand rose); DEFAULT_RESTOCK_DAYS when the
    history shows fewer than two restocks."""
    known = np.flatnonzero(~np.isnan(on_hand))
    restocks = known[1:][np.diff(on_hand[known]) > 0]
    if restocks.size < 2:
        return float(DEFAULT_RESTOCK_DAYS)
    return float(np.median(np.diff(restocks)))


def _combine(key: tuple[str, str], outlooks: list[_RegionOutlook]) -> StockoutForecast:
    gtin14, retailer = key
    known = [o for o in outlooks if o.probability is not None]
    horizon = max(o.horizon_days for o in (known or outlooks))
    unknown_regions = sorted(o.region for o in outlooks if o.probability is None)
    if not known:
        expected = sum(o.expected_demand for o in outlooks)
        reason = f"unknown: no on-hand inventory reported up to the forecast date ({len(outlooks)} region(s))"
        return StockoutForecast(gtin14, retailer, None, 0, expected, math.nan, horizon, 0.0, reason)
    # Running out in any region counts as a stock-out. Regions are taken as independent (separate shelves and
    # deliveries), so P(any) = 1 − Π(1 − p_region). Regions without inventory data are left out, which makes
    # this a lower bound for them (the reason says so).
    probability = 1.0 - math.prod(1.0 - o.probability for o in known)
    on_hand = sum(o.on_hand for o in known)
    expected = sum(o.expected_demand for o in known)
    daily = sum(o.daily_demand for o in known)
    # Stock in one region cannot meet demand in another, so the surplus is counted region by region.
    sellable = sum(max(o.on_hand - o.expected_demand, 0.0) for o in known)
    cover = on_hand / daily if daily > 0 else (math.inf if on_hand > 0 else 0.0)
    riskiest = max(known, key=lambda o: o.probability)
    reason = _stockout_reason(probability, horizon, on_hand, expected, riskiest if len(known) > 1 else None,
                              len(known), unknown_regions)
    return StockoutForecast(gtin14, retailer, probability, on_hand, expected, cover, horizon, sellable, reason)


def _stockout_reason(probability: float, horizon: int, on_hand: int, expected: float,
                     riskiest: _RegionOutlook | None, regions: int, unknown_regions: list[str]) -> str:
    where = f" in at least one of {regions} regions" if regions > 1 else ""
    reason = (f"{probability:.0%} chance of running out{where} within {horizon} days "
              f"({on_hand} on hand, ~{expected:.0f} units of demand expected)")
    if riskiest is not None and riskiest.probability > 0:
        reason += f"; most at risk: {riskiest.region} ({riskiest.probability:.0%}, {riskiest.on_hand} on hand)"
    if unknown_regions:
        reason += f"; no inventory data for {', '.join(unknown_regions)}"
    return reason


# --- pacing ------------------------------------------------------------------------------------------------------

def pacing_targets(total: Decimal | float, /, *, start: datetime.date, days: int,
                   weekly_profile: Sequence[float] | None = None) -> list[tuple[datetime.date, float]]:
    """Daily targets from `start` for `days` days that add up to `total`, in proportion to the Monday-first
    `weekly_profile` (flat when None)."""
    _check_count("days", days, minimum=1)
    amount = float(total)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(BAD_TOTAL.format(value=total))
    profile = _checked_profile(weekly_profile)
    dates = [start + datetime.timedelta(days=i) for i in range(days)]
    weights = np.array([profile[d.weekday()] for d in dates])
    if weights.sum() <= 0:
        raise ValueError(EMPTY_PROFILE.format(days=days, start=start))
    targets = amount * weights / weights.sum()
    # Rounding leaves the sum a few ulps off; the last day absorbs it so the targets add up to the total.
    targets[-1] = amount - math.fsum(targets[:-1])
    return list(zip(dates, targets.tolist(), strict=True))


def _checked_profile(weekly_profile: Sequence[float] | None) -> np.ndarray:
    if weekly_profile is None:
        return np.ones(7)
    profile = np.asarray(weekly_profile, dtype=float)
    if profile.shape != (7,) or not np.all(np.isfinite(profile)) or np.any(profile < 0):
        raise ValueError(BAD_PROFILE.format(value=weekly_profile))
    return profile


def weekly_profile(dates: Sequence[datetime.date], values: Sequence[float]) -> list[float]:
    """A Monday-first weekday profile from daily history: each weekday's mean over the overall mean (so 1.0 is an
    average day). Rows of one date add up; NaNs are skipped. Flat with under 14 days, or no activity."""
    if len(dates) != len(values):
        raise ValueError(LENGTH_MISMATCH.format(dates=len(dates), values=len(values)))
    per_day: dict[datetime.date, float] = defaultdict(float)
    for day, value in zip(dates, values, strict=True):
        if value is not None and math.isfinite(float(value)):
            per_day[day] += float(value)
    if len(per_day) < 14:
        return [1.0] * 7
    by_weekday: list[list[float]] = [[] for _ in range(7)]
    for day, value in per_day.items():
        by_weekday[day.weekday()].append(value)
    overall = float(np.mean(list(per_day.values())))
    if overall <= 0:
        return [1.0] * 7
    # A weekday never seen in the history counts as an average day.
    return [float(np.mean(v)) / overall if v else 1.0 for v in by_weekday]
