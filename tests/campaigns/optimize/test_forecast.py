"""Forecasts: ETS daily forecasts (level, weekly pattern, band coverage, degenerate series), stock-out
probabilities (stock vs demand, censored days, restock cycle, any-region rule, bad input) and pacing targets."""

import datetime
import math
import warnings
from decimal import Decimal

import numpy as np
import polars as pl
import pytest

from campaigns.optimize.forecast import forecast_daily, pacing_targets, stockout_forecasts, weekly_profile

AS_OF = datetime.date(2025, 3, 31)  # a Monday
GTIN = "00012345678905"
KEY = (GTIN, "acme")
WEEKLY = np.array([0.0, 5.0, 10.0, 15.0, 20.0, -25.0, -25.0])


def seasonal_series(*, level: float, days: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level + WEEKLY[np.arange(days) % 7] + rng.normal(0.0, noise, days)


def sales_frame(units, on_hand, *, region: str = "north", as_of: datetime.date = AS_OF) -> pl.DataFrame:
    """Daily rows for one SKU at one retailer in one region, the last one on `as_of`."""
    n = len(units)
    return pl.DataFrame(
        {"date": [as_of - datetime.timedelta(days=n - 1 - i) for i in range(n)], "gtin14": GTIN, "retailer": "acme",
         "region": region, "units": list(units), "on_hand": list(on_hand)},
        schema_overrides={"units": pl.Int64, "on_hand": pl.Int64},
    )


def restocked_inventory(units: np.ndarray, *, every: int, refill: int) -> np.ndarray:
    """End-of-day stock that is topped up to `refill` every `every` days and drawn down by the day's sales."""
    stock, levels = refill, []
    for day, sold in enumerate(units):
        if day % every == 0:
            stock = refill
        stock = max(stock - int(sold), 0)
        levels.append(stock)
    return np.array(levels)


def demand_history(*, mean: float, days: int = 60, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(mean, days)


# --- forecast_daily ----------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("error")
def test_ets_recovers_the_level_and_the_weekly_pattern():
    # given 12 weeks of a level-100 series with a ±25 weekly pattern and a little noise
    history = seasonal_series(level=100.0, days=84, noise=2.0, seed=1)

    # when two weeks are forecast
    forecast = forecast_daily(history, horizon=14)

    # then every day is within 10% of the truth (a flat forecast would miss weekends by 25%)
    truth = 100.0 + WEEKLY[np.arange(84, 98) % 7]
    assert forecast.model == "ETS(A,N,A)"
    np.testing.assert_allclose(forecast.mean, truth, rtol=0.10)
    assert np.all(forecast.lower <= forecast.mean) and np.all(forecast.mean <= forecast.upper)


def test_the_bands_hold_about_ninety_percent_of_held_out_days():
    # given noisy seasonal series, each split into 16 weeks of history and 4 held-out weeks
    inside = total = 0
    for seed in range(8):
        series = seasonal_series(level=60.0, days=140, noise=8.0, seed=seed)
        history, held_out = series[:112], series[112:]

        # when the held-out weeks are forecast
        forecast = forecast_daily(history, horizon=28)

        inside += int(np.sum((held_out >= forecast.lower) & (held_out <= forecast.upper)))
        total += held_out.size

    # then the 5%–95% bands cover roughly 90% of them
    assert 0.75 <= inside / total <= 0.99


def test_paths_are_non_negative_reproducible_and_centred_on_the_mean():
    # given a low-volume series whose additive errors would dip below zero
    history = np.random.default_rng(3).poisson(2.0, 70).astype(float)

    # when paths are drawn twice with the same seed
    first = forecast_daily(history, horizon=10, draws=2_000, rng=7)
    second = forecast_daily(history, horizon=10, draws=2_000, rng=7)

    # then they have one row per draw, never go negative, repeat exactly, and average near the forecast
    assert first.paths.shape == (2_000, 10)
    assert first.paths.min() >= 0.0 and first.lower.min() >= 0.0
    np.testing.assert_array_equal(first.paths, second.paths)
    assert first.paths.sum(axis=1).mean() == pytest.approx(first.mean.sum(), rel=0.15)
    assert forecast_daily(history, horizon=10).paths is None


@pytest.mark.filterwarnings("error")
def test_an_all_zero_series_forecasts_zero_without_warnings():
    # given a SKU that never sold
    history = np.zeros(60)

    # when it is forecast with paths
    forecast = forecast_daily(history, horizon=7, draws=50, rng=0)

    # then everything is exactly zero
    for values in (forecast.mean, forecast.lower, forecast.upper, forecast.paths):
        assert not values.any()


@pytest.mark.parametrize(("history", "mean", "spread"), [
    ([], 0.0, False),
    ([np.nan, np.nan], 0.0, False),
    ([5.0], 5.0, False),
    ([4.0, 6.0], 5.0, True),
])
def test_under_three_points_the_forecast_is_flat_at_the_mean(history, mean, spread):
    # when a series with fewer than three observed days is forecast
    forecast = forecast_daily(history, horizon=4, draws=3, rng=0)

    # then it is flat at their mean, with bands only when the points differ
    assert forecast.model == "flat"
    np.testing.assert_array_equal(forecast.mean, np.full(4, mean))
    assert bool(forecast.upper[0] > forecast.lower[0]) is spread
    assert forecast.paths.shape == (3, 4)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("days", [3, 5, 9, 13, 14, 15, 16])
def test_short_series_fit_without_errors(days):
    # given a few days of sales (too few for a weekly pattern below 14)
    history = seasonal_series(level=30.0, days=days, noise=3.0, seed=days)

    # when forecast
    forecast = forecast_daily(history, horizon=7, draws=10, rng=0)

    # then the forecast is finite and seasonal only with two full weeks
    assert np.all(np.isfinite(forecast.mean)) and np.all(np.isfinite(forecast.paths))
    assert forecast.model == ("ETS(A,N,A)" if days >= 14 else "ETS(A,N,N)")


@pytest.mark.filterwarnings("error")
def test_statsmodels_warnings_do_not_leak(monkeypatch):
    # given a fit that warns, as statsmodels does when its optimizer stops early on an awkward series
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fit = ETSModel.fit

    def fit_and_warn(self, *args, **kwargs):
        warnings.warn("Maximum Likelihood optimization failed to converge.", ConvergenceWarning, stacklevel=2)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(ETSModel, "fit", fit_and_warn)

    # when a series is forecast, then the warning stays inside (warnings are errors in this test)
    assert forecast_daily(seasonal_series(level=30.0, days=40, noise=3.0, seed=0), horizon=3).model == "ETS(A,N,A)"


@pytest.mark.filterwarnings("error")
def test_missing_days_are_skipped_not_read_as_zero():
    # given a level-100 series with leading history missing and a week of gaps
    history = seasonal_series(level=100.0, days=84, noise=2.0, seed=4)
    history[:10] = np.nan
    history[40:47] = np.nan
    history[80] = np.inf

    # when forecast
    forecast = forecast_daily(history, horizon=7)

    # then the forecast still sits on the level
    assert forecast.mean.mean() == pytest.approx(100.0 + WEEKLY.mean(), rel=0.10)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"horizon": -1}, "horizon must be a non-negative integer, got -1"),
    ({"horizon": 3, "draws": -5}, "draws must be a non-negative integer, got -5"),
])
def test_forecast_daily_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        forecast_daily(np.ones(20), **kwargs)


def test_forecast_daily_rejects_a_table():
    with pytest.raises(ValueError, match=r"values must be one-dimensional, got shape \(2, 3\)"):
        forecast_daily(np.ones((2, 3)), horizon=3)


# --- stockout_forecasts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("on_hand", "at_risk"), [(40, True), (1_000, False)])
def test_stock_against_a_week_of_demand(on_hand, at_risk):
    # given ~10 units a day, stock restocked every 10 days (last two days ago), and `on_hand` units left today
    units = demand_history(mean=10.0, days=53)
    stock = restocked_inventory(units, every=10, refill=200)
    stock[-1] = on_hand

    # when the next 7 days are forecast
    result = stockout_forecasts(sales_frame(units, stock), as_of=AS_OF, horizon_days=7)[KEY]

    # then 40 units almost surely run out, and 1 000 almost surely do not
    if at_risk:
        assert result.probability > 0.9
        assert result.sellable_units == 0.0
        assert result.days_of_cover < 7
    else:
        assert result.probability < 0.05
        assert result.sellable_units == pytest.approx(1_000 - result.expected_demand)
    assert result.on_hand == on_hand
    assert result.horizon_days == 7
    assert result.expected_demand == pytest.approx(70.0, rel=0.25)
    assert result.reason.startswith(f"{result.probability:.0%} chance of running out within 7 days ({on_hand} on hand")


def test_days_with_an_empty_shelf_do_not_drag_demand_down():
    # given ~30 units a day, and an empty shelf (so nothing sold) for the 17 days before the restock yesterday
    units = demand_history(mean=30.0, days=70, seed=0)
    stock = np.full(70, 5_000)
    units[52:69], stock[52:69] = 0, 0

    # when a week is forecast
    result = stockout_forecasts(sales_frame(units, stock), as_of=AS_OF, horizon_days=7)[KEY]

    # then the daily demand is still ~30, where the naive mean of sales is well below
    assert units.mean() < 0.85 * 30.0
    assert result.expected_demand / 7 == pytest.approx(30.0, rel=0.10)


@pytest.mark.parametrize(("stock_history", "horizon"), [("every_10_days", 10), ("never", 14)])
def test_the_risk_window_ends_at_the_next_restock(stock_history, horizon):
    # given stock that is topped up every 10 days, today included (or never rises: the 14-day default cycle)
    units = demand_history(mean=10.0, days=51)
    if stock_history == "every_10_days":
        stock = restocked_inventory(units, every=10, refill=200)
    else:
        stock = 5_000 - np.cumsum(units)

    # when a month is asked for
    result = stockout_forecasts(sales_frame(units, stock), as_of=AS_OF, horizon_days=30)[KEY]

    # then the window stops at the next delivery, one cycle after the last
    assert result.horizon_days == horizon
    assert result.reason.startswith(f"{result.probability:.0%} chance of running out within {horizon} days")


def test_a_stockout_in_any_region_counts_for_the_sku():
    # given two regions each with a real but uncertain chance of running out in a week, and one with plenty
    units = demand_history(mean=10.0, days=53)
    north, south, west = (restocked_inventory(units, every=10, refill=200) for _ in range(3))
    north[-1], south[-1], west[-1] = 70, 80, 5_000
    regions = {"north": sales_frame(units, north, region="north"), "south": sales_frame(units, south, region="south"),
               "west": sales_frame(units, west, region="west")}

    # when each region is forecast alone, and then all together
    alone = {name: stockout_forecasts(frame, as_of=AS_OF, horizon_days=7)[KEY] for name, frame in regions.items()}
    together = stockout_forecasts(pl.concat(regions.values()), as_of=AS_OF, horizon_days=7)[KEY]

    # then the SKU runs out if any region does (independent regions), although its total stock looks ample
    p = {name: forecast.probability for name, forecast in alone.items()}
    assert 0.05 < p["north"] < 0.95 and 0.05 < p["south"] < 0.95 and p["west"] < 0.01
    assert together.probability == pytest.approx(1 - (1 - p["north"]) * (1 - p["south"]) * (1 - p["west"]))
    assert together.probability > max(p.values())
    assert together.on_hand == 5_150
    assert together.expected_demand == pytest.approx(sum(f.expected_demand for f in alone.values()))
    assert together.sellable_units == pytest.approx(sum(f.sellable_units for f in alone.values()))
    assert together.reason.startswith(f"{together.probability:.0%} chance of running out in at least one of 3 regions")
    top = max(("north", "south"), key=p.get)
    assert together.reason.endswith(f"; most at risk: {top} ({p[top]:.0%}, {alone[top].on_hand} on hand)")


def test_sales_after_the_last_stock_count_and_after_as_of():
    # given a stock count of 100 three days before as_of, 10 units sold on each day since, and rows after as_of
    units = demand_history(mean=10.0)
    stock = restocked_inventory(units, every=10, refill=200).astype(object)
    stock[-4], stock[-3:] = 100, [None] * 3
    units[-3:] = 10
    future = sales_frame([0] * 5, [0] * 5, as_of=AS_OF + datetime.timedelta(days=5))

    # when forecast as of today
    result = stockout_forecasts(pl.concat([sales_frame(units, stock), future]), as_of=AS_OF, horizon_days=7)[KEY]

    # then those sales have come off the count, and the future rows are ignored
    assert result.on_hand == 70


def test_no_inventory_data_gives_an_unknown_probability():
    # given sales but no on-hand counts in one region, and counts in another
    units = demand_history(mean=10.0)
    blind = sales_frame(units, [None] * len(units), region="east")
    counted = sales_frame(units, restocked_inventory(units, every=10, refill=200), region="north")

    # when forecast
    only_blind = stockout_forecasts(blind, as_of=AS_OF, horizon_days=7)[KEY]
    mixed = stockout_forecasts(pl.concat([blind, counted]), as_of=AS_OF, horizon_days=7)[KEY]

    # then the blind region alone is unknown, and the mixed SKU says which region it could not judge
    assert only_blind.probability is None
    assert only_blind.reason == "unknown: no on-hand inventory reported up to the forecast date (1 region(s))"
    assert only_blind.expected_demand > 0
    assert mixed.probability is not None
    assert mixed.reason.endswith("; no inventory data for east")


def test_an_empty_shelf_today_is_a_certain_stockout():
    units = demand_history(mean=10.0)
    stock = restocked_inventory(units, every=10, refill=200)
    stock[-1] = 0

    result = stockout_forecasts(sales_frame(units, stock), as_of=AS_OF, horizon_days=7)[KEY]

    assert result.probability == 1.0 and result.on_hand == 0 and result.days_of_cover == 0.0


def test_no_demand_means_endless_cover():
    result = stockout_forecasts(sales_frame([0] * 30, [50] * 30), as_of=AS_OF, horizon_days=7)[KEY]

    assert result.probability == 0.0 and result.days_of_cover == math.inf and result.sellable_units == 50.0


def test_empty_sales_give_no_forecasts():
    assert stockout_forecasts(pl.DataFrame(), as_of=AS_OF, horizon_days=7) == {}
    assert stockout_forecasts(sales_frame([], []), as_of=AS_OF, horizon_days=7) == {}


@pytest.mark.parametrize(("sales", "kwargs", "message"), [
    (sales_frame([1] * 5, [9] * 5).drop("on_hand"), {}, "sales is missing column(s): on_hand"),
    (sales_frame([1] * 5, [9] * 5).drop("gtin14", "units"), {}, "sales is missing column(s): gtin14, units"),
    (sales_frame([1] * 5, [9] * 5).with_columns(pl.col("date").cast(pl.String)), {},
     "sales column 'date' must be Date, got String"),
    (sales_frame([1] * 5, [9] * 5).with_columns(pl.col("units").cast(pl.String)), {},
     "sales column 'units' must be numeric, got String"),
    (sales_frame([1] * 5, [9] * 5), {"horizon_days": -1}, "horizon_days must be a non-negative integer, got -1"),
    (sales_frame([1] * 5, [9] * 5), {"draws": 0}, "draws must be a positive integer, got 0"),
])
def test_stockout_forecasts_reject_bad_input(sales, kwargs, message):
    with pytest.raises(ValueError) as error:
        stockout_forecasts(sales, as_of=AS_OF, **({"horizon_days": 7} | kwargs))
    assert str(error.value) == message


# --- pacing ------------------------------------------------------------------------------------------------------

def test_flat_pacing_splits_the_total_evenly():
    targets = pacing_targets(Decimal("1000.00"), start=AS_OF, days=14)

    assert [day for day, _ in targets] == [AS_OF + datetime.timedelta(days=i) for i in range(14)]
    assert all(amount == pytest.approx(1000 / 14, rel=1e-12) for _, amount in targets)
    assert abs(math.fsum(amount for _, amount in targets) - 1000.0) <= 1e-9


def test_pacing_follows_the_weekly_profile_and_adds_up_exactly():
    # given a profile with weekends twice as busy, scaled arbitrarily, and an awkward total and span from a Wednesday
    profile = [3.0, 3.0, 3.0, 3.0, 3.0, 6.0, 6.0]
    start = AS_OF + datetime.timedelta(days=2)

    # when paced
    targets = dict(pacing_targets(1234.567, start=start, days=17, weekly_profile=profile))

    # then Saturday gets twice Wednesday, and the days add up to the total
    saturday = start + datetime.timedelta(days=3)
    assert saturday.weekday() == 5
    assert targets[saturday] == pytest.approx(2 * targets[start], rel=1e-12)
    assert abs(sum(targets.values()) - 1234.567) <= 1e-9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"days": 0}, "days must be a positive integer, got 0"),
    ({"days": 7, "weekly_profile": [1.0] * 6}, "weekly_profile must be 7 finite non-negative weights"),
    ({"days": 7, "weekly_profile": [1.0] * 6 + [-1.0]}, "weekly_profile must be 7 finite non-negative weights"),
    ({"days": 2, "weekly_profile": [1.0] * 5 + [0.0, 0.0]}, "weekly_profile gives no weight to any of the 2 days"),
])
def test_pacing_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pacing_targets(100.0, start=AS_OF + datetime.timedelta(days=5), **kwargs)


def test_pacing_rejects_a_negative_total():
    with pytest.raises(ValueError, match="total must be a finite non-negative amount, got -1"):
        pacing_targets(-1, start=AS_OF, days=3)


def test_the_weekly_profile_is_estimated_from_history():
    # given four weeks of spend, weekends at twice the weekday level
    dates = [AS_OF + datetime.timedelta(days=i) for i in range(28)]
    values = [200.0 if day.weekday() >= 5 else 100.0 for day in dates]

    # when the profile is estimated (and used for pacing)
    profile = weekly_profile(dates, values)
    targets = dict(pacing_targets(900.0, start=AS_OF, days=7, weekly_profile=profile))

    # then weekdays are 7/9 of an average day and weekend days 14/9
    assert profile == pytest.approx([7 / 9] * 5 + [14 / 9] * 2)
    assert targets[AS_OF] == pytest.approx(100.0)
    assert targets[AS_OF + datetime.timedelta(days=6)] == pytest.approx(200.0)


def test_the_weekly_profile_is_flat_without_two_weeks_of_history():
    dates = [AS_OF + datetime.timedelta(days=i) for i in range(13)]

    assert weekly_profile(dates, [float(i) for i in range(13)]) == [1.0] * 7
    assert weekly_profile(dates * 3, [0.0] * 39) == [1.0] * 7


def test_the_risk_window_counts_from_the_last_delivery():
    # given a 10-day delivery cycle whose last delivery was 7 days before the last day of data, and as_of 1 day on
    units = demand_history(mean=10.0, days=58)
    stock = restocked_inventory(units, every=10, refill=200)

    # when a month is asked for
    as_of = AS_OF + datetime.timedelta(days=1)
    result = stockout_forecasts(sales_frame(units, stock), as_of=as_of, horizon_days=30)[KEY]

    # then the risk lasts until the next delivery, 2 days away
    assert result.horizon_days == 2
