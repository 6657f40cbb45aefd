"""The retailer's clean room as an `AudienceSource` (campaigns/measure/holdout.py): a holdout test's segment size,
baseline and outcome counted with aggregate queries under the brand's lease, so a holdout is designed and read out
without any shopper-level row leaving the retailer. Under a DP lease the counts carry Laplace noise, whose sd the
outcome reports so the readout's interval includes it.

The retailer's clean room records who was held out of a campaign as the segment "holdout <campaign id>"; the
exposed group is whoever the campaign reached; a conversion is buying one of the campaign's products."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from campaigns.measure.holdout import AudienceBaseline, HoldoutOutcome
from governance.cleanroom.services import clean_room_query
from tenants.models import Tenant

HOLDOUT_SEGMENT = "holdout {campaign_id}"


class CleanRoomAudience:
    def __init__(self, *, brand: Tenant, actor: str, lease_id: int, campaign_id: str, gtins: Sequence[str],
                 min_group: int = 50) -> None:
        if not gtins or not all(isinstance(g, str) and g.isdigit() for g in gtins):
            raise ValueError("gtins: name the campaign's products as GTIN digits")
        if not isinstance(campaign_id, str) or not campaign_id.replace("-", "").replace("_", "").isalnum():
            raise ValueError("campaign_id: must be the campaign's id (letters, digits, - and _)")
        self.brand, self.actor, self.lease_id = brand, actor, lease_id
        self.campaign_id, self.gtins, self.min_group = campaign_id, list(gtins), min_group
        self.noise_sd = 0.0

    def segment_size(self, segment: str) -> int:
        return round(self._count(f"SELECT COUNT(DISTINCT user_key) FROM segments WHERE segment = {_text(segment)}"))

    def baseline(self, segment: str, *, days: int) -> AudienceBaseline:
        """The segment's shoppers and how many bought the products in the `days` before the campaign began."""
        start = self._first_exposure()
        since = start - dt.timedelta(days=days)
        users = self.segment_size(segment)
        converters = self._count(
            "SELECT COUNT(DISTINCT s.user_key) FROM segments s JOIN purchases p ON s.user_key = p.user_key "
            f"WHERE s.segment = {_text(segment)} AND p.gtin14 IN ({self._gtins()}) "
            f"AND p.ts >= '{since:%Y-%m-%d}' AND p.ts < '{start:%Y-%m-%d}'")
        return AudienceBaseline(users=users, converters=min(users, round(converters)), days=days)

    def outcome(self, segment: str, *, start: dt.date, end: dt.date) -> HoldoutOutcome:
        """Exposed shoppers (the campaign reached them) against the held-out ones, and who of each bought the
        products between `start` and `end`."""
        until = end + dt.timedelta(days=1)
        window = f"AND p.ts >= '{start:%Y-%m-%d}' AND p.ts < '{until:%Y-%m-%d}'"
        campaign = _text(self.campaign_id)
        held = _text(HOLDOUT_SEGMENT.format(campaign_id=self.campaign_id))
        return HoldoutOutcome(
            exposed_users=self._count(f"SELECT COUNT(DISTINCT user_key) FROM exposures WHERE campaign_id = {campaign}"),
            exposed_converters=self._count(
                "SELECT COUNT(DISTINCT e.user_key) FROM exposures e JOIN purchases p ON e.user_key = p.user_key "
                f"WHERE e.campaign_id = {campaign} AND p.gtin14 IN ({self._gtins()}) {window}"),
            holdout_users=self._count(f"SELECT COUNT(DISTINCT user_key) FROM segments WHERE segment = {held}"),
            holdout_converters=self._count(
                "SELECT COUNT(DISTINCT s.user_key) FROM segments s JOIN purchases p ON s.user_key = p.user_key "
                f"WHERE s.segment = {held} AND p.gtin14 IN ({self._gtins()}) {window}"),
            noise_sd=self.noise_sd, min_group=self.min_group)

    def _first_exposure(self) -> dt.date:
        rows = clean_room_query(
            brand=self.brand, actor=self.actor, lease_id=self.lease_id,
            sql=f"SELECT DATE_TRUNC('day', ts) AS day, COUNT(*) FROM exposures WHERE campaign_id = "
                f"{_text(self.campaign_id)} GROUP BY day")["rows"]
        if not rows:
            raise ValueError(f"campaign_id: the clean room has no exposures for {self.campaign_id!r} (or too few "
                             "shoppers a day to release)")
        return min(dt.date.fromisoformat(row[0][:10]) for row in rows)

    def _count(self, sql: str) -> float:
        answer = clean_room_query(brand=self.brand, actor=self.actor, lease_id=self.lease_id, sql=sql)
        if not answer["rows"]:
            raise ValueError("outcome: a group has fewer shoppers than the lease's k, so the clean room released "
                             "nothing for it")
        self.noise_sd = max(self.noise_sd, answer.get("noise_sd", {}).get(answer["columns"][0], 0.0))
        return float(answer["rows"][0][0])

    def _gtins(self) -> str:
        return ", ".join(_text(g) for g in self.gtins)


def _text(value: str) -> str:
    """A string literal for the verifier's dialect; it refuses quotes and escapes, so refuse them here first."""
    if "'" in value or "\\" in value:
        raise ValueError(f"segment: names with quotes or backslashes cannot be queried: {value!r}")
    return f"'{value}'"
