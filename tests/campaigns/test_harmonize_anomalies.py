"""Batch anomalies against the tenant's own history: spikes, drops, zero delivery, gaps, currency, restatements."""

import datetime as dt
from pathlib import Path

from django_tenants.utils import schema_context

from campaigns.harmonize import IngestOptions, ingest_file

HEADER = ("date,campaignId,campaignName,advProductId,advProductName,brandName,pageTypeName,environment,keyword,"
          "salesChannel,retailerId,retailerName,impressions,clicks,spend,attributedSales,attributedUnits,"
          "attributedOrders,ctr,cpc,cpo,cpm,roas,currency")
START = dt.date(2026, 6, 1)


def criteo_file(tmp_path: Path, name: str, days: list[tuple[dt.date, dict]]) -> Path:
    """One Criteo row per (day, campaign) with the given metrics; defaults are a steady campaign."""
    lines = [HEADER]
    for day, metrics in days:
        values = {"campaign": "C1", "impressions": 10_000 + (day.day % 7) * 150, "clicks": 100 + day.day % 5,
                  "spend": 50 + (day.day % 5), "sales": 150 + (day.day % 3) * 4, "currency": "USD", **metrics}
        lines.append(f"{day.isoformat()},{values['campaign']},Campaign {values['campaign']},MM-1,P,B,search,web,k,"
                     f"Online,1,MegaMart,{values['impressions']},{values['clicks']},{values['spend']:.2f},"
                     f"{values['sales']:.2f},1,1,,,,,,{values['currency']}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def ingest(path: Path) -> dict:
    with schema_context("acme"):
        return ingest_file(path=path, file_name=path.name, actor="test", options=IngestOptions()).to_dict()


def history(tmp_path: Path, days: int = 40) -> None:
    ingest(criteo_file(tmp_path, "history.csv", [(START + dt.timedelta(days=i), {}) for i in range(days)]))


def codes(summary: dict) -> dict[str, dict]:
    return {anomaly["code"]: anomaly for anomaly in summary["anomalies"]}


def test_a_spend_spike_and_a_roas_drop_are_flagged_against_history(acme, tmp_path):
    # given 40 steady days
    history(tmp_path)
    day = START + dt.timedelta(days=41)

    # when a day arrives with ten times the spend and almost no sales
    summary = ingest(criteo_file(tmp_path, "new.csv", [(day, {"spend": 600.0, "sales": 20.0})]))

    # then both are flagged, plainly and with the numbers
    found = codes(summary)
    assert found["spend_spike"]["severity"] == "critical"
    assert found["spend_spike"]["details"]["campaign"] == "C1"
    assert found["spend_spike"]["message"].startswith(f"spend spike for campaign 'C1' on {day}: $600.00 vs a usual $")
    assert found["roas_drop"]["severity"] in ("warning", "critical")


def test_steady_days_raise_no_metric_anomaly(acme, tmp_path):
    history(tmp_path)
    summary = ingest(criteo_file(tmp_path, "new.csv", [(START + dt.timedelta(days=41 + i), {}) for i in range(5)]))
    assert not [code for code in codes(summary) if code.endswith(("_spike", "_drop"))]


def test_sudden_zero_impressions(acme, tmp_path):
    history(tmp_path)
    day = START + dt.timedelta(days=41)
    summary = ingest(criteo_file(tmp_path, "new.csv", [(day, {"impressions": 0, "clicks": 0, "spend": 0.0,
                                                              "sales": 0.0})]))
    found = codes(summary)["zero_impressions"]
    assert found["severity"] == "warning"
    assert found["details"] == {"campaign": "C1", "date": day.isoformat(), "usual": found["details"]["usual"]}
    assert found["details"]["usual"] >= 10_000


def test_missing_days_inside_the_file(acme, tmp_path):
    days = [START + dt.timedelta(days=i) for i in range(10) if i not in (3, 4)]
    summary = ingest(criteo_file(tmp_path, "gappy.csv", [(day, {}) for day in days]))
    found = codes(summary)["missing_days"]
    assert found["details"]["count"] == 2
    assert found["details"]["days"] == [(START + dt.timedelta(days=3)).isoformat(),
                                        (START + dt.timedelta(days=4)).isoformat()]


def test_currency_change_is_critical(acme, tmp_path):
    history(tmp_path, days=10)
    summary = ingest(criteo_file(tmp_path, "eur.csv", [(START + dt.timedelta(days=20), {"currency": "EUR"})]))
    found = codes(summary)["currency_change"]
    assert found["severity"] == "critical"
    assert found["details"] == {"before": ["USD"], "now": ["EUR"]}


def test_a_large_restatement_is_a_warning(acme, tmp_path):
    days = [START + dt.timedelta(days=i) for i in range(5)]
    ingest(criteo_file(tmp_path, "first.csv", [(day, {"sales": 100.0}) for day in days]))

    # when the same days come back with 30% more sales
    summary = ingest(criteo_file(tmp_path, "restated.csv", [(day, {"sales": 130.0}) for day in days]))

    found = codes(summary)["restatement"]
    assert found["severity"] == "warning"
    assert found["details"]["replaced_rows"] == 5
    assert (found["details"]["old_sales"], found["details"]["new_sales"]) == ("500.0000", "650.00")
    assert found["message"].startswith("This file restates 5 rows loaded earlier: attributed sales +30.0%")
