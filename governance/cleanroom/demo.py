"""The demo retailer's clean-room data, generated with a known true lift: shoppers with segments and regions,
campaigns that target a segment and hold out a random 10% of it (recorded as the segment "holdout <campaign>"),
exposures for the rest, and purchases whose chance, after a shopper's first exposure, is the baseline × (1 + lift)
for the campaign's products. Loaded with COPY into the current schema's clean-room tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
from dataclasses import dataclass

import numpy as np
from django.db import connection

SEGMENTS = ("lapsed cereal buyers", "new parents", "frozen enthusiasts", "value seekers", "organic shoppers")
REGIONS = ("US-NE", "US-SE", "US-MW", "US-SW", "US-W", "US-NW", "US-TX", "US-CA")
PLACEMENTS = ("search", "category", "product_page", "homepage")
HOLDOUT_SHARE = 0.10
OTHER_GTINS = ("00041235000019", "00041235000026", "00041235000033", "00041235000040", "00041235000057")


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    segment: str
    gtins: tuple[str, ...]
    lift: float  # true relative lift in the chance of buying the campaign's products, once exposed
    base_rate: float  # chance per shopper of buying them over the whole period without ads


CAMPAIGNS = (
    Campaign("MM-CEREAL-Q4", "lapsed cereal buyers", ("00041235944905", "00041235833650"), 0.25, 0.08),
    Campaign("MM-FROZEN-Q4", "frozen enthusiasts", ("00736210578298", "00736210684173"), 0.10, 0.12),
    Campaign("MM-BABY-Q4", "new parents", ("00850034225203",), 0.40, 0.05),
)


def user_key(secret: bytes, shopper: int) -> str:
    return hmac.new(secret, f"shopper:{shopper}".encode(), hashlib.sha256).hexdigest()[:32]


def generate(*, users: int = 200_000, start: dt.date = dt.date(2026, 9, 1), days: int = 60, seed: int = 20261126,
             secret: bytes = b"megamart-demo", campaigns: tuple[Campaign, ...] = CAMPAIGNS) -> dict:
    """Replace the current schema's clean-room rows with a generated population; returns the truth."""
    rng = np.random.default_rng(seed)
    keys = np.array([user_key(secret, i) for i in range(users)])
    region = rng.integers(0, len(REGIONS), users)
    # Each shopper is in one or two segments.
    first = rng.integers(0, len(SEGMENTS), users)
    second = np.where(rng.random(users) < 0.4, rng.integers(0, len(SEGMENTS), users), -1)
    segment_rows = [(keys[i], SEGMENTS[s]) for i, s in enumerate(first)]
    segment_rows += [(keys[i], SEGMENTS[s]) for i, s in enumerate(second) if s >= 0 and s != first[i]]
    members = {name: np.flatnonzero((first == j) | (second == j)) for j, name in enumerate(SEGMENTS)}
    t0 = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp()
    span = days * 86_400

    exposures: list[tuple] = []
    purchases: list[tuple] = []
    truth = {"users": users, "start": start.isoformat(), "days": days, "campaigns": []}
    for campaign in campaigns:
        who = members[campaign.segment]
        held = rng.random(who.size) < HOLDOUT_SHARE
        segment_rows += [(keys[i], f"holdout {campaign.campaign_id}") for i in who[held]]
        exposed = who[~held]
        # Exposures: 1 + Poisson(6.5) per exposed shopper, spread over the period.
        counts = 1 + rng.poisson(6.5, exposed.size)
        shopper = np.repeat(exposed, counts)
        when = t0 + rng.random(shopper.size) * span
        placement = rng.integers(0, len(PLACEMENTS), shopper.size)
        exposures += list(zip(keys[shopper], [campaign.campaign_id] * shopper.size,
                              np.array(PLACEMENTS)[placement], np.array(REGIONS)[region[shopper]], when, strict=True))
        first_seen = np.full(users, np.inf)
        np.minimum.at(first_seen, shopper, when)
        # Purchases of the campaign's products: baseline chance for everyone in the segment, × (1 + lift) for
        # exposed shoppers after their first exposure (a purchase time drawn first decides which applies).
        buy_at = t0 + rng.random(who.size) * span
        after = buy_at >= first_seen[who]
        chance = np.where(after, campaign.base_rate * (1 + campaign.lift), campaign.base_rate)
        buys = rng.random(who.size) < chance
        buyer = who[buys]
        gtin = np.array(campaign.gtins)[rng.integers(0, len(campaign.gtins), buyer.size)]
        units = 1 + rng.poisson(0.5, buyer.size)
        price = rng.uniform(3.0, 7.0, buyer.size).round(2)
        purchases += list(zip(keys[buyer], gtin, np.array(REGIONS)[region[buyer]], buy_at[buys], units,
                              (units * price).round(2), strict=True))
        truth["campaigns"].append({"campaign_id": campaign.campaign_id, "segment": campaign.segment,
                                   "gtins": list(campaign.gtins), "true_lift": campaign.lift,
                                   "base_rate": campaign.base_rate, "segment_users": int(who.size),
                                   # what a holdout comparison over the whole period measures: the lift only
                                   # applies to purchases after the first exposure
                                   "period_lift": float(campaign.lift * np.mean(
                                       1.0 - (first_seen[exposed] - t0) / span)),
                                   "held_out": int(held.sum()), "exposed": int(exposed.size)})
    # Everyday purchases of other products: about five per shopper, the bulk of the table.
    n_other = rng.poisson(5.0 * users)
    shopper = rng.integers(0, users, n_other)
    units = 1 + rng.poisson(0.7, n_other)
    price = rng.uniform(1.5, 12.0, n_other).round(2)
    purchases += list(zip(keys[shopper], np.array(OTHER_GTINS)[rng.integers(0, len(OTHER_GTINS), n_other)],
                          np.array(REGIONS)[region[shopper]], t0 + rng.random(n_other) * span, units,
                          (units * price).round(2), strict=True))
    _load(exposures, purchases, segment_rows)
    truth.update(exposures=len(exposures), purchases=len(purchases), segment_rows=len(segment_rows))
    return truth


def _load(exposures: list[tuple], purchases: list[tuple], segments: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cleanroom_exposure, cleanroom_purchase, cleanroom_segment")
        _copy(cursor, "cleanroom_exposure (user_key, campaign_id, placement, region, ts)",
              ((k, c, p, r, _ts(t)) for k, c, p, r, t in exposures))
        _copy(cursor, "cleanroom_purchase (user_key, gtin14, region, ts, units, revenue)",
              ((k, g, r, _ts(t), str(u), f"{v:.2f}") for k, g, r, t, u, v in purchases))
        _copy(cursor, "cleanroom_segment (user_key, segment)", segments)
        cursor.execute("ANALYZE cleanroom_exposure; ANALYZE cleanroom_purchase; ANALYZE cleanroom_segment")


def _ts(seconds: float) -> str:
    return dt.datetime.fromtimestamp(float(seconds), tz=dt.UTC).isoformat()


def _copy(cursor, target: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(map(str, row)))
        buffer.write("\n")
    with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:  # noqa: S608 - fixed table names
        copy.write(buffer.getvalue())
