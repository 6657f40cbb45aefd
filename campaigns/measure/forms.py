"""The experiment pages' forms: a designer per kind (geo test, switchback, audience holdout) and the readout forms.

Fields only parse; the rules are the request schemas' (experiments.py, switchback_experiments.py,
holdout_experiments.py, readout.py), so the pages and /api/v1/experiments answer bad input alike. Each form turns
what was filled in into exactly the request the API takes, and puts the API's errors back on its own fields.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django import forms

from campaigns.measure.models import ExperimentKind
from campaigns.measure.requests import MeasureRequestError

METRIC_CHOICES = [("revenue", "Revenue"), ("units", "Units")]
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _regions(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class RequestForm(forms.Form):
    """A form whose cleaned data is an API request: blank fields are left out (the API's defaults apply), dates
    become ISO strings, and the fields named in `groups` go into a nested object (`{"audience": {"users": ...}}`)."""

    kind: ClassVar[str | None] = None  # set in the request; the geo form leaves it out (geo is the API's default)
    groups: ClassVar[dict[str, dict[str, str]]] = {}  # nested object → {form field: its key in the object}

    def request_data(self) -> dict[str, Any]:
        request: dict[str, Any] = {"kind": self.kind} if self.kind else {}
        for name, value in self.cleaned_data.items():
            value = self.request_value(name, value)
            if value in (None, "", []):
                continue
            group = next((group for group, fields in self.groups.items() if name in fields), None)
            if group:
                request.setdefault(group, {})[self.groups[group][name]] = value
            else:
                request[name] = value
        return request

    def request_value(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def field_of(self, exc: MeasureRequestError) -> str | None:
        """The form field an error names; None (the top of the form) for a conflict or a field not on the form.
        An error about a nested object ("audience": "converters: must be at most the users ...") goes to the
        field of the key its message starts with, or to the top when it names none (e.g. the whole audience)."""
        if exc.status == 409:
            return None
        if exc.field in self.groups:
            key = exc.message.partition(": ")[0].rsplit(".", 1)[-1]
            return next((name for name, of in self.groups[exc.field].items() if of == key), None)
        return exc.field if exc.field in self.fields else None

    def add_request_error(self, exc: MeasureRequestError) -> None:
        field, message = self.field_of(exc), exc.message
        if field is not None and exc.field in self.groups:
            message = message.partition(": ")[2]  # under its own field, the key it starts with says nothing more
        self.add_error(field, message)


class DesignForm(RequestForm):
    """A designer: the retailers (and networks) to choose from are the tenant's, given by the view; `fieldsets`
    groups the fields under headings on the page, whose element ids start with `slug`."""

    slug: ClassVar[str] = "experiment"
    fieldsets: ClassVar[list[tuple[str, tuple[str, ...]]]] = []

    def __init__(self, *args, retailers: list[str] | None = None, networks: list[str] | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, names in (("retailer", retailers), ("network", networks)):
            if isinstance(self.fields.get(name), forms.ChoiceField):
                self.fields[name].choices = [(value, value) for value in names or []]

    def experiment_request(self) -> dict[str, Any]:
        """The request as /api/v1/experiments takes it: only what was filled in."""
        return self.request_data()

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.fieldsets]


class ExperimentForm(DesignForm):
    """What a geo test design asks for (campaigns/measure/experiments.py)."""

    fieldsets = [("What to test", ("name", "retailer", "metric")),
                 ("Regions", ("n_treated", "cells", "include", "exclude")),
                 ("Dates and power", ("test_days", "start_date", "pre_days", "lift", "iroas", "power"))]

    name = forms.CharField(max_length=200, required=False)
    retailer = forms.ChoiceField(choices=[])
    metric = forms.ChoiceField(choices=METRIC_CHOICES, initial="revenue")
    n_treated = forms.IntegerField(label="Treated regions per cell")
    cells = forms.IntegerField(required=False, initial=1, label="Cells")
    include = forms.CharField(required=False, label="Must treat", help_text="Region names, comma-separated.")
    exclude = forms.CharField(required=False, label="Leave out", help_text="Region names, comma-separated.")
    test_days = forms.IntegerField(initial=28, label="Test days")
    start_date = forms.DateField(required=False, widget=DATE_INPUT,
                                 help_text="Empty: the day after the last day with sales.")
    pre_days = forms.IntegerField(required=False, label="Pre-period days", help_text="Empty: 84.")
    lift = forms.FloatField(required=False, help_text="The lift you hope to see, e.g. 0.05 for 5%.")
    iroas = forms.FloatField(required=False, label="iROAS", help_text="Expected, to estimate the test's cost.")
    power = forms.FloatField(required=False, initial=0.8)

    def request_value(self, name: str, value: Any) -> Any:
        if name in ("include", "exclude"):
            return _regions(value)
        return super().request_value(name, value)


class SwitchbackForm(DesignForm):
    """What a switchback design asks for (campaigns/measure/switchback_experiments.py): the network's ads go on and
    off in every region, block by block."""

    kind = ExperimentKind.SWITCHBACK
    slug = prefix = "switchback"  # its fields share names with the other designers' on the same page
    fieldsets = [("What to switch", ("name", "retailer", "metric", "network", "placement")),
                 ("Blocks", ("block_days", "washout_days", "seed")),
                 ("Dates and power", ("test_days", "start_date", "pre_days", "lift", "power"))]

    name = forms.CharField(max_length=200, required=False)
    retailer = forms.ChoiceField(choices=[])
    metric = forms.ChoiceField(choices=METRIC_CHOICES, initial="revenue")
    network = forms.ChoiceField(choices=[], help_text="The network whose ads are switched on and off.")
    placement = forms.CharField(required=False, help_text="Empty: all of the network's placements.")
    block_days = forms.IntegerField(required=False, initial=3, label="Block days", help_text="Empty: 3.")
    washout_days = forms.IntegerField(required=False, initial=1, label="Washout days",
                                      help_text="The first days of each block, left out of the readout. Empty: 1.")
    test_days = forms.IntegerField(required=False, label="Test days",
                                   help_text="Empty: as long as the lift below needs.")
    start_date = forms.DateField(required=False, widget=DATE_INPUT,
                                 help_text="Empty: the day after the last day with sales.")
    pre_days = forms.IntegerField(required=False, label="Pre-period days", help_text="Empty: 182.")
    lift = forms.FloatField(required=False, help_text="The lift you hope to see, e.g. 0.05 for 5%.")
    power = forms.FloatField(required=False, initial=0.8)
    seed = forms.IntegerField(required=False, help_text="Empty: a random ON/OFF order.")


AUDIENCE_FIELDS = {"audience_users": "users", "audience_converters": "converters", "audience_days": "days",
                   "audience_revenue": "revenue"}


class HoldoutForm(DesignForm):
    """What an audience holdout design asks for (campaigns/measure/holdout_experiments.py): the segment's numbers
    before the test, and a holdout share or the lift that sizes one."""

    kind = ExperimentKind.HOLDOUT
    slug = prefix = "holdout"
    fieldsets = [("What to test", ("name", "retailer", "segment")),
                 ("The segment before the test", ("audience_users", "audience_converters", "audience_days",
                                                  "audience_revenue")),
                 ("Holdout, dates and power", ("holdout_share", "lift", "test_days", "start_date", "power",
                                               "min_group"))]
    groups = {"audience": AUDIENCE_FIELDS}

    name = forms.CharField(max_length=200, required=False)
    retailer = forms.CharField(max_length=64, help_text="The retailer whose audience segment is tested.")
    segment = forms.CharField(max_length=200, help_text="The audience segment the campaign targets.")
    audience_users = forms.IntegerField(label="Users", help_text="In the segment now.")
    audience_converters = forms.IntegerField(label="Converters", help_text="Of them, how many bought in those days.")
    audience_days = forms.IntegerField(label="Over days", initial=28)
    audience_revenue = forms.FloatField(required=False, label="Their revenue", help_text="For incremental revenue.")
    holdout_share = forms.FloatField(required=False, label="Holdout share",
                                     help_text="e.g. 0.1; empty: the smallest share that detects the lift.")
    lift = forms.FloatField(required=False, help_text="The lift in conversion rate you hope to see, e.g. 0.1.")
    test_days = forms.IntegerField(initial=28, label="Test days")
    start_date = forms.DateField(required=False, widget=DATE_INPUT, help_text="Empty: tomorrow.")
    power = forms.FloatField(required=False, initial=0.8)
    min_group = forms.IntegerField(required=False, label="Smallest group", help_text="k-anonymity minimum. Empty: 50.")


class CalibrationFields(RequestForm):
    """What every readout may name: the test's spend (→ iROAS) and the tested network (→ its factor)."""

    spend = forms.CharField(required=False, label="Test spend", help_text="Extra spend in the treated regions.")
    network = forms.CharField(required=False, help_text="The network whose ads were tested, to calibrate it.")
    placement = forms.CharField(required=False)
    campaign = forms.CharField(required=False)
    attributed_sales = forms.CharField(required=False, label="Attributed sales",
                                       help_text="Empty: the network's own attribution in the test.")

    def readout_request(self) -> dict[str, Any]:
        """The request as /api/v1/experiments/<id>/readout takes it: only what was filled in."""
        return self.request_data()


class ReadoutForm(CalibrationFields):
    """A geo test's readout request (campaigns/measure/readout.py): all optional; a network calibrates its factor."""

    field_order = ["method"]

    method = forms.ChoiceField(required=False, choices=[("did", "Difference-in-differences"),
                                                        ("synthetic", "Synthetic control")],
                               help_text="Both are computed; this one gives the lift, iROAS and calibration.")


class SwitchbackReadoutForm(CalibrationFields):
    """A switchback's readout request: ON against OFF blocks; the switched network is calibrated unless another is
    named."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["spend"].help_text = "What the ads cost on the days they were on."
        self.fields["network"].help_text = "Empty: the network the test switched."
        self.fields["attributed_sales"].help_text = "Empty: the network's attribution on the analysed ON days."


OUTCOME_KEYS = ("exposed_users", "exposed_converters", "holdout_users", "holdout_converters", "exposed_revenue",
                "holdout_revenue", "noise_sd")


class HoldoutReadoutForm(CalibrationFields):
    """An audience holdout's readout request: each group's users, converters (and revenue) over the test, as the
    clean room (or the retailer) reports them, and what calibrates the tested network."""

    groups = {"outcome": {name: name for name in OUTCOME_KEYS}}
    field_order = list(OUTCOME_KEYS)

    exposed_users = forms.IntegerField(label="Exposed users")
    exposed_converters = forms.IntegerField(label="Exposed converters")
    holdout_users = forms.IntegerField(label="Held-out users")
    holdout_converters = forms.IntegerField(label="Held-out converters")
    exposed_revenue = forms.FloatField(required=False, label="Exposed revenue", help_text="Both groups' or neither.")
    holdout_revenue = forms.FloatField(required=False, label="Held-out revenue")
    noise_sd = forms.FloatField(required=False, label="Noise sd", help_text="The clean room's noise on the counts.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["spend"].help_text = "What the campaign cost on the exposed users."
        self.fields["attributed_sales"].help_text = "What the network credited to the campaign in the test."
