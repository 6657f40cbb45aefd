"""Audience holdouts: the design's power agrees with statsmodels for unequal groups and its smallest share is minimal;
the readout's interval covers the true lift (with and without clean-room noise), its false-positive rate is alpha and
it rejects at the designed MDE as often as promised, by simulation; bad inputs name their argument."""

import math
from decimal import Decimal

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from campaigns.measure.holdout import (
    AudienceBaseline,
    AudienceSource,
    HoldoutOutcome,
    StatedAudience,
    holdout_design,
    holdout_readout,
)

SEGMENT = AudienceBaseline(users=200_000, converters=4_000, days=28, revenue=60_000.0)  # 2 % convert in 4 weeks
SIMULATIONS = 4_000
NOISE_SD = 20.0

DESIGN_CASES = [(200_000, 4_000, 0.1, 0.1), (200_000, 4_000, 0.05, -0.08), (50_000, 5_000, 0.25, 0.05),
                (1_000_000, 3_000, 0.02, 0.2), (10_000, 300, 0.5, 0.3)]


def _baseline(users: int, converters: int) -> AudienceBaseline:
    return AudienceBaseline(users=users, converters=converters, days=28)


def _statsmodels_power(rate: float, lift: float, exposed: int, holdout: int) -> float:
    h = proportion_effectsize(rate * (1 + lift), rate)
    return NormalIndPower().power(h, holdout, 0.05, ratio=exposed / holdout)


# --- Design --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("users", "converters", "share", "lift"), DESIGN_CASES)
def test_design_power_agrees_with_statsmodels_for_unequal_groups(users, converters, share, lift):
    # given a segment and a holdout share

    # when the design is computed for that share
    design = holdout_design(_baseline(users, converters), holdout_share=share, lift=lift, test_days=28)

    # then the groups split the segment, and the power matches statsmodels with ratio = exposed / holdout
    assert design.holdout_users == round(users * share)
    assert design.exposed_users + design.holdout_users == users
    assert design.rate == pytest.approx(converters / users, rel=1e-12)
    expected = _statsmodels_power(design.rate, lift, design.exposed_users, design.holdout_users)
    assert design.power_at_lift == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("users", "converters", "share", "lift"), DESIGN_CASES)
def test_design_mde_has_exactly_the_target_power(users, converters, share, lift):
    # given a segment and a holdout share
    baseline = _baseline(users, converters)

    # when only the share is given
    design = holdout_design(baseline, holdout_share=share, lift=None, test_days=28, power=0.9)

    # then statsmodels gives the MDE 90 % power, and solves for the same effect size
    ratio = design.exposed_users / design.holdout_users
    assert _statsmodels_power(design.rate, design.mde, design.exposed_users, design.holdout_users) == pytest.approx(
        0.9, abs=1e-6)
    h = NormalIndPower().solve_power(None, nobs1=design.holdout_users, alpha=0.05, power=0.9, ratio=ratio)
    # statsmodels' solver stops at about 1e-5
    assert proportion_effectsize(design.rate * (1 + design.mde), design.rate) == pytest.approx(h, rel=1e-4)
    assert design.power_at_lift is None and design.lift is None


@pytest.mark.parametrize(("lift", "step"), [(0.1, 0.01), (0.15, 0.01), (-0.12, 0.01), (0.1, 0.001), (0.3, 0.005)])
def test_smallest_share_is_minimal(lift, step):
    # given a lift to detect with 80 % power

    # when the smallest holdout share is searched
    design = holdout_design(SEGMENT, holdout_share=None, lift=lift, test_days=28, share_step=step)

    # then it is on the grid, reaches the power, and one step less does not (checked against statsmodels)
    assert design.holdout_share / step == pytest.approx(round(design.holdout_share / step))
    assert design.power_at_lift >= 0.8
    assert _statsmodels_power(0.02, lift, design.exposed_users, design.holdout_users) >= 0.8
    smaller = round(SEGMENT.users * (design.holdout_share - step))
    assert _statsmodels_power(0.02, lift, SEGMENT.users - smaller, smaller) < 0.8
    less = holdout_design(SEGMENT, holdout_share=design.holdout_share - step, lift=lift, test_days=28)
    assert less.power_at_lift < 0.8


def test_smallest_share_respects_the_k_anonymity_minimum():
    # given a lift so large that a handful of held-out users would do
    baseline = _baseline(100_000, 20_000)

    # when the smallest share is searched with a 0.01 % step
    design = holdout_design(baseline, holdout_share=None, lift=1.0, test_days=28, share_step=0.0001, min_group=50)

    # then the holdout is still at least min_group users
    assert design.holdout_users == 50
    assert design.holdout_share == pytest.approx(0.0005)


def test_design_reports_what_the_holdout_costs_and_earns():
    # given 10 % of 200 000 users held out, hoping for +10 %

    # when the design is computed
    design = holdout_design(SEGMENT, holdout_share=0.1, lift=0.1, test_days=28)

    # then the cost is 20 000 users without ads, and the exposed 180 000 × 2 % × 10 % convert in addition
    assert design.cost == design.holdout_users == 20_000
    assert design.incremental_conversions == pytest.approx(180_000 * 0.02 * 0.1)
    assert design.incremental_revenue == pytest.approx(360 * 60_000 / 4_000)  # at $15 per converter
    assert design.forgone_conversions == pytest.approx(20_000 * 0.02 * 0.1)
    assert design.revenue_mde is None  # no revenue_sd stated


def test_rate_over_a_longer_test_assumes_a_constant_daily_chance():
    # given a baseline over 14 days
    baseline = AudienceBaseline(users=100_000, converters=1_000, days=14)

    # when the test lasts 28 days
    design = holdout_design(baseline, holdout_share=0.1, lift=None, test_days=28)

    # then a user's chance of converting compounds: 1 − 0.99²
    assert design.rate == pytest.approx(1 - 0.99**2)


def test_privacy_noise_costs_power():
    # given the same segment and share

    # when the clean room adds noise to each count
    plain = holdout_design(SEGMENT, holdout_share=0.1, lift=0.15, test_days=28)
    noisy = holdout_design(SEGMENT, holdout_share=0.1, lift=0.15, test_days=28, noise_sd=NOISE_SD)

    # then power falls and the MDE grows
    assert noisy.power_at_lift < plain.power_at_lift
    assert noisy.mde > plain.mde


def test_revenue_mde_with_a_stated_spread():
    # given revenue per user with a stated sd
    baseline = AudienceBaseline(users=200_000, converters=4_000, days=28, revenue=60_000.0, revenue_sd=2.5)

    # when the design is computed
    design = holdout_design(baseline, holdout_share=0.1, lift=None, test_days=28)

    # then the revenue MDE is the t-test's on the mean revenue per user, d = lift × mean / sd
    from statsmodels.stats.power import TTestIndPower

    d = TTestIndPower().solve_power(None, nobs1=20_000, alpha=0.05, power=0.8, ratio=9.0)
    assert design.revenue_mde == pytest.approx(d * 2.5 / 0.3, rel=1e-4)


def test_an_unreachable_lift_names_the_best_mde_at_half():
    # given a lift too small for the segment
    best = holdout_design(SEGMENT, holdout_share=0.5, lift=None, test_days=28).mde

    # when the smallest share is searched, then it fails and names the best MDE a 50 % holdout reaches
    with pytest.raises(ValueError, match=r"^lift: \+1\.00% is out of reach") as error:
        holdout_design(SEGMENT, holdout_share=None, lift=0.01, test_days=28)
    assert f"{best:+.2%}" in str(error.value)


# --- Readout -------------------------------------------------------------------------------------------------------


def test_readout_without_noise_is_the_wald_risk_ratio():
    # given a finished holdout with exact counts
    outcome = HoldoutOutcome(exposed_users=180_000, exposed_converters=3_960, holdout_users=20_000,
                             holdout_converters=400)

    # when it is read out
    readout = holdout_readout(outcome)

    # then lift, interval and p-value are statsmodels' risk ratio (log method) less one
    table = Table2x2(np.array([[3_960, 180_000 - 3_960], [400, 20_000 - 400]]))
    assert readout.lift == pytest.approx(table.riskratio - 1, rel=1e-12)
    assert readout.lift_interval == pytest.approx(tuple(np.array(table.riskratio_confint(0.05)) - 1), rel=1e-9)
    assert readout.p_value == pytest.approx(table.riskratio_pvalue(), rel=1e-9)
    assert readout.incremental_conversions == pytest.approx(3_960 - 180_000 * 0.02)
    low, high = readout.incremental_conversions_interval
    assert low < readout.incremental_conversions < high


def test_readout_adds_the_noise_variance_to_each_count():
    # given the same counts, once exact and once with noise sd 20 on each count
    counts = {"exposed_users": 180_000, "exposed_converters": 3_960, "holdout_users": 20_000, "holdout_converters": 400}

    # when both are read out
    exact = holdout_readout(HoldoutOutcome(**counts))
    noisy = holdout_readout(HoldoutOutcome(**counts, noise_sd=NOISE_SD))

    # then the log interval widens by exactly the noise terms
    def half_width(readout):
        return (math.log1p(readout.lift_interval[1]) - math.log1p(readout.lift_interval[0])) / 2

    var_exact = (1 / 3_960 - 1 / 180_000) + (1 / 400 - 1 / 20_000)
    var_noise = sum(NOISE_SD**2 / c**2 + NOISE_SD**2 / n**2 for n, c in ((180_000, 3_960), (20_000, 400)))
    assert half_width(exact) == pytest.approx(1.959964 * math.sqrt(var_exact), rel=1e-6)
    assert half_width(noisy) == pytest.approx(1.959964 * math.sqrt(var_exact + var_noise), rel=1e-6)
    assert noisy.lift == exact.lift and noisy.p_value > exact.p_value


def test_iroas_comes_with_an_interval_around_it():
    # given revenue in both groups and the spend on the exposed group
    outcome = HoldoutOutcome(exposed_users=180_000, exposed_converters=4_320, holdout_users=20_000,
                             holdout_converters=400, exposed_revenue=68_000.0, holdout_revenue=6_000.0)

    # when it is read out with the spend in Decimal
    readout = holdout_readout(outcome, spend=Decimal("4000"))

    # then incremental revenue = exposed − exposed users × holdout revenue per user, iROAS = that / spend
    assert readout.incremental_revenue == pytest.approx(68_000 - 180_000 * 0.3)
    assert readout.iroas == pytest.approx(14_000 / 4_000)
    low, high = readout.iroas_interval
    assert low < readout.iroas < high
    assert readout.incremental_revenue_interval == pytest.approx((low * 4_000, high * 4_000))
    assert "Incremental ROAS: 3.50" in readout.verdict and "basket size" in readout.verdict


def test_verdicts_never_claim_more_than_the_interval():
    # given a clear lift, a clear drop and an unclear one
    def read(exposed_converters):
        return holdout_readout(HoldoutOutcome(exposed_users=180_000, exposed_converters=exposed_converters,
                                              holdout_users=20_000, holdout_converters=400, noise_sd=NOISE_SD))

    # when each is read out, then the verdict follows the interval
    up, down, unclear = read(4_500), read(2_800), read(3_800)
    assert up.lift_interval[0] > 0 and up.verdict.startswith("The exposed users converted more than the holdout")
    assert down.lift_interval[1] < 0 and down.verdict.startswith("The exposed users converted less than the holdout")
    assert unclear.lift_interval[0] < 0 < unclear.lift_interval[1]
    assert unclear.verdict.startswith("The test cannot tell the lift from zero")
    assert "not evidence of no effect" in unclear.verdict
    assert "privacy noise (sd 20 on each count)" in unclear.verdict


@pytest.mark.parametrize(("group", "sizes"), [("exposed", (49, 20_000)), ("holdout", (180_000, 49))])
def test_readout_refuses_groups_below_k_anonymity(group, sizes):
    # given a group of 49 users under a minimum of 50
    outcome = HoldoutOutcome(exposed_users=sizes[0], exposed_converters=5, holdout_users=sizes[1],
                             holdout_converters=5, min_group=50)

    # when it is read out, then it is refused, naming the group
    with pytest.raises(ValueError, match=rf"^outcome: the {group} group has 49 users, below the k-anonymity minimum"):
        holdout_readout(outcome)


# --- By simulation ---------------------------------------------------------------------------------------------------


def _simulate(rng, *, rate: float, lift: float, exposed: int, holdout: int, noise_sd: float, read_noise_sd=None):
    """SIMULATIONS holdouts drawn at once; each read out by `holdout_readout` on its (noisy) aggregates."""
    converters_e = rng.binomial(exposed, rate * (1 + lift), SIMULATIONS).astype(float)
    converters_h = rng.binomial(holdout, rate, SIMULATIONS).astype(float)
    users_e, users_h = np.full(SIMULATIONS, float(exposed)), np.full(SIMULATIONS, float(holdout))
    counts = [users_e, converters_e, users_h, converters_h]
    if noise_sd:  # the clean room's Gaussian mechanism, independent on each released count
        counts = [count + rng.normal(0.0, noise_sd, SIMULATIONS) for count in counts]
    read_sd = noise_sd if read_noise_sd is None else read_noise_sd
    readouts = [
        holdout_readout(HoldoutOutcome(exposed_users=n_e, exposed_converters=c_e, holdout_users=n_h,
                                       holdout_converters=c_h, noise_sd=read_sd))
        for n_e, c_e, n_h, c_h in zip(*counts, strict=True)
    ]
    low, high = np.array([r.lift_interval for r in readouts]).T
    rejected = np.array([r.p_value < 0.05 for r in readouts])
    return {"covered": ((low <= lift) & (lift <= high)).mean(), "rejected": rejected.mean()}


@pytest.mark.parametrize("noise_sd", [0.0, NOISE_SD])
def test_interval_covers_the_true_lift_95_percent_of_the_time(noise_sd):
    # given 4 000 holdouts of 20 000 users (2 % convert) against 180 000 exposed converting 10 % more
    rng = np.random.default_rng(11)

    # when each is read out, its noise (if any) accounted for
    result = _simulate(rng, rate=0.02, lift=0.1, exposed=180_000, holdout=20_000, noise_sd=noise_sd)

    # then the 95 % interval holds the true lift 93–97 % of the time (binomial sd ≈ 0.35 point)
    assert 0.93 <= result["covered"] <= 0.97


def test_ignoring_the_noise_would_under_cover():
    # given noisy counts read as if they were exact (the check above has teeth)
    rng = np.random.default_rng(12)

    # when read out without the noise variance
    result = _simulate(rng, rate=0.02, lift=0.1, exposed=180_000, holdout=20_000, noise_sd=NOISE_SD, read_noise_sd=0)

    # then the interval is too narrow
    assert result["covered"] < 0.90


@pytest.mark.parametrize("noise_sd", [0.0, NOISE_SD])
def test_a_a_false_positive_rate_is_alpha(noise_sd):
    # given holdouts where the ads do nothing
    rng = np.random.default_rng(13)

    # when each is read out
    result = _simulate(rng, rate=0.02, lift=0.0, exposed=180_000, holdout=20_000, noise_sd=noise_sd)

    # then about 5 % are called significant
    assert 0.03 <= result["rejected"] <= 0.06


@pytest.mark.parametrize(("noise_sd", "share"), [(0.0, 0.1), (NOISE_SD, 0.1), (0.0, 0.3), (NOISE_SD, 0.05)])
def test_the_designed_mde_is_detected_as_often_as_promised(noise_sd, share):
    # given a design's MDE at 80 % power, with the noise it will be read with
    design = holdout_design(SEGMENT, holdout_share=share, lift=None, test_days=28, noise_sd=noise_sd)
    rng = np.random.default_rng(14)

    # when holdouts run with exactly that lift
    result = _simulate(rng, rate=design.rate, lift=design.mde, exposed=design.exposed_users,
                       holdout=design.holdout_users, noise_sd=noise_sd)

    # then the readout rejects within 5 points of the promised 80 %
    assert abs(result["rejected"] - 0.8) <= 0.05


# --- The audience source ---------------------------------------------------------------------------------------------

STATED = {
    "lapsed cereal buyers": {
        "users": 200_000, "converters": 4_000, "days": 28, "revenue": Decimal("60000.00"),
        "outcome": {"exposed_users": 180_000, "exposed_converters": 3_960, "holdout_users": 20_000,
                    "holdout_converters": 400, "exposed_revenue": Decimal("59400"), "holdout_revenue": 6_000},
    },
}


def test_stated_audience_answers_from_the_request():
    # given numbers the user stated
    source = StatedAudience(STATED)

    # when the design and readout ask it
    size = source.segment_size("lapsed cereal buyers")
    baseline = source.baseline("lapsed cereal buyers", days=28)
    outcome = source.outcome("lapsed cereal buyers", start=None, end=None)

    # then it answers as an AudienceSource would, with money as float
    assert isinstance(source, AudienceSource)
    assert size == 200_000
    assert baseline == AudienceBaseline(users=200_000, converters=4_000, days=28, revenue=60_000.0)
    assert outcome.exposed_revenue == 59_400.0 and outcome.noise_sd == 0.0 and outcome.min_group == 50
    assert holdout_readout(outcome).lift == pytest.approx(0.1)


def _with(**changes):
    segment = {**STATED["lapsed cereal buyers"], **changes}
    return {"lapsed cereal buyers": {k: v for k, v in segment.items() if v is not None}}


def _outcome_with(**changes):
    outcome = {**STATED["lapsed cereal buyers"]["outcome"], **changes}
    return _with(outcome={k: v for k, v in outcome.items() if v is not None})


PATH = r"stated\['lapsed cereal buyers'\]"
BAD_STATED = [
    ("not a dict", lambda: StatedAudience([1]), "stated", "mapping"),
    ("segment not a dict", lambda: StatedAudience({"x": 5}), r"stated\['x'\]", "mapping"),
    ("missing users", lambda: StatedAudience(_with(users=None)), PATH, "missing ['users']"),
    ("unknown key", lambda: StatedAudience(_with(convertors=5)), PATH, "unknown keys ['convertors']"),
    ("negative users", lambda: StatedAudience(_with(users=-1)), rf"{PATH}\.users", "at least 0"),
    ("float converters", lambda: StatedAudience(_with(converters=40.5)), rf"{PATH}\.converters", "whole number"),
    ("bool converters", lambda: StatedAudience(_with(converters=True)), rf"{PATH}\.converters", "whole number"),
    ("more converters", lambda: StatedAudience(_with(converters=300_000)), rf"{PATH}\.converters", "at most the users"),
    ("days 0", lambda: StatedAudience(_with(days=0)), rf"{PATH}\.days", "at least 1"),
    ("revenue text", lambda: StatedAudience(_with(revenue="lots")), rf"{PATH}\.revenue", "finite number"),
    ("revenue negative", lambda: StatedAudience(_with(revenue=-5)), rf"{PATH}\.revenue", "at least 0"),
    ("revenue NaN", lambda: StatedAudience(_with(revenue=math.nan)), rf"{PATH}\.revenue", "finite"),
    ("sd alone", lambda: StatedAudience(_with(revenue=None, revenue_sd=3.0)), rf"{PATH}\.revenue_sd", "needs"),
    ("sd 0", lambda: StatedAudience(_with(revenue_sd=0.0)), rf"{PATH}\.revenue_sd", "positive"),
    ("outcome missing", lambda: StatedAudience(_outcome_with(holdout_users=None)), rf"{PATH}\.outcome",
     "missing ['holdout_users']"),
    ("outcome float count", lambda: StatedAudience(_outcome_with(holdout_users=2.5e4)),
     rf"{PATH}\.outcome\.holdout_users", "whole number"),
    ("outcome more converters", lambda: StatedAudience(_outcome_with(holdout_converters=20_001)),
     rf"{PATH}\.outcome\.holdout_converters", "at most the users"),
    ("outcome one revenue", lambda: StatedAudience(_outcome_with(holdout_revenue=None)),
     rf"{PATH}\.outcome\.holdout_revenue", "both groups or of neither"),
    ("outcome unknown", lambda: StatedAudience(_outcome_with(spend=9)), rf"{PATH}\.outcome", "unknown keys ['spend']"),
    ("unknown segment", lambda: StatedAudience(STATED).baseline("new parents", days=28), "segment", "no numbers"),
    ("no outcome", lambda: StatedAudience(_with(outcome=None)).outcome("lapsed cereal buyers", start=None, end=None),
     "segment", "no outcome"),
]


@pytest.mark.parametrize(("call", "argument", "says"), [c[1:] for c in BAD_STATED], ids=[c[0] for c in BAD_STATED])
def test_stated_audience_validates_what_it_is_told(call, argument, says):
    # given stated numbers with one thing wrong

    # when the source is built or asked, then the message names where the bad number is and what is wrong
    with pytest.raises(ValueError, match=rf"^{argument}: ") as error:
        call()
    assert says in str(error.value)


# --- Bad input -----------------------------------------------------------------------------------------------------

OUTCOME = {"exposed_users": 180_000, "exposed_converters": 3_960, "holdout_users": 20_000, "holdout_converters": 400}


def _design(**changes):
    return holdout_design(**{"baseline": SEGMENT, "holdout_share": 0.1, "lift": 0.1, "test_days": 28, **changes})


BAD_INPUT = [
    ("share 0", lambda: _design(holdout_share=0.0), "holdout_share", "above 0 and at most 0.5"),
    ("share 0.6", lambda: _design(holdout_share=0.6), "holdout_share", "above 0 and at most 0.5"),
    ("share text", lambda: _design(holdout_share="10%"), "holdout_share", "above 0"),
    ("step 0", lambda: _design(holdout_share=None, share_step=0.0), "share_step", "above 0"),
    ("neither", lambda: _design(holdout_share=None, lift=None), "holdout_share", "or a lift"),
    ("share below k", lambda: _design(holdout_share=0.0002), "holdout_share", "below min_group (50)"),
    ("tiny segment", lambda: _design(baseline=_baseline(99, 10)), "baseline", "at least min_group (50)"),
    ("no converters", lambda: _design(baseline=_baseline(1_000, 0)), "converters", "both converters"),
    ("all convert", lambda: _design(baseline=_baseline(1_000, 1_000)), "converters", "both converters"),
    ("lift 0", lambda: _design(lift=0.0), "lift", "non-zero"),
    ("lift −1", lambda: _design(lift=-1.0), "lift", "above -1"),
    ("rate > 1", lambda: _design(lift=60.0), "lift", "at most 1"),
    ("test_days 0", lambda: _design(test_days=0), "test_days", "at least 1"),
    ("test_days float", lambda: _design(test_days=14.5), "test_days", "whole number"),
    ("power ≤ alpha", lambda: _design(power=0.04), "power", "above alpha"),
    ("alpha 0", lambda: _design(alpha=0.0), "alpha", "between 0 and 1"),
    ("min_group 0", lambda: _design(min_group=0), "min_group", "at least 1"),
    ("noise negative", lambda: _design(noise_sd=-1.0), "noise_sd", "at least 0"),
    ("no mde", lambda: _design(baseline=_baseline(100, 98), holdout_share=0.5, lift=None), "holdout_share",
     "cannot reach power"),
    ("outcome converters", lambda: HoldoutOutcome(**{**OUTCOME, "exposed_converters": 2e5}), "exposed_converters",
     "at most the users"),
    ("outcome NaN", lambda: HoldoutOutcome(**{**OUTCOME, "holdout_users": math.nan}), "holdout_users", "finite"),
    ("outcome noise", lambda: HoldoutOutcome(**OUTCOME, noise_sd=-2.0), "noise_sd", "at least 0"),
    ("outcome min_group", lambda: HoldoutOutcome(**OUTCOME, min_group=0), "min_group", "at least 1"),
    ("no converters", lambda: holdout_readout(HoldoutOutcome(**{**OUTCOME, "holdout_converters": 0})), "outcome",
     "holdout group has no converters"),
    ("noisy negative", lambda: holdout_readout(HoldoutOutcome(**{**OUTCOME, "exposed_converters": 0.0})), "outcome",
     "exposed group has no converters"),
    ("alpha readout", lambda: holdout_readout(HoldoutOutcome(**OUTCOME), alpha=1.0), "alpha", "between 0 and 1"),
    ("spend no revenue", lambda: holdout_readout(HoldoutOutcome(**OUTCOME), spend=100.0), "spend", "revenue"),
    ("spend 0", lambda: holdout_readout(HoldoutOutcome(**OUTCOME), spend=0.0), "spend", "positive"),
    ("spend negative", lambda: holdout_readout(HoldoutOutcome(**OUTCOME), spend=-5), "spend", "at least 0"),
    ("revenue 0", lambda: holdout_readout(HoldoutOutcome(**OUTCOME, exposed_revenue=5.0, holdout_revenue=0.0)),
     "outcome", "holdout group has no revenue"),
]


@pytest.mark.parametrize(("call", "argument", "says"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_its_argument(call, argument, says):
    # given a call with one bad argument

    # when it is made, then it fails with a message that starts with that argument and says what is wrong
    with pytest.raises(ValueError, match=rf"^{argument}: ") as error:
        call()
    assert says in str(error.value)
