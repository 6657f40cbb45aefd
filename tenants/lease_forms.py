"""The lease pages' forms: a retailer's grant and a brand's clean-room query. Fields only parse; the rules are
lease_grant's and clean_room_query's, so the pages and the API answer bad input alike, each error on its own field.
"""

from __future__ import annotations

from typing import Any

from django import forms

from tenants.leases import AGENTS, CLEAN_ROOM_VIEWS, LeaseError

CHECKBOXES = forms.CheckboxSelectMultiple


class GrantForm(forms.Form):
    """What a lease grant asks for (tenants/leases.py); blank numbers are left out, so the service's defaults apply."""

    brand = forms.ChoiceField(choices=[])
    views = forms.MultipleChoiceField(choices=[(v, v) for v in CLEAN_ROOM_VIEWS], initial=list(CLEAN_ROOM_VIEWS),
                                      required=False, widget=CHECKBOXES, help_text="Clean-room views it may query.")
    agents = forms.MultipleChoiceField(choices=[(a, a) for a in AGENTS], required=False, widget=CHECKBOXES,
                                       help_text="Agents that may work in your enclave for it.")
    k = forms.IntegerField(required=False, initial=50, label="k",
                           help_text="Rows backed by fewer shoppers are suppressed.")
    dp = forms.BooleanField(required=False, label="Differential privacy",
                            help_text="Noise on every aggregate, charged to the ε budget.")
    epsilon_budget = forms.FloatField(required=False, label="ε budget", help_text="Empty: 1 with DP.")
    epsilon_per_query = forms.FloatField(required=False, initial=0.1, label="ε per query")
    days = forms.IntegerField(required=False, initial=90, label="Days", help_text="Until it expires.")
    fixed_fee = forms.CharField(required=False, initial="0", label="Fixed fee", help_text="A month.")
    incremental_share = forms.CharField(required=False, initial="0", label="Incremental share",
                                        help_text="Of measured incremental sales, e.g. 0.05 for 5%.")

    def __init__(self, *args, brands: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = brands

    def grant_request(self) -> dict[str, Any]:
        """The request as POST /api/v1/leases takes it. The checkboxes are always sent: none ticked means none."""
        request: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            value = value.strip() if isinstance(value, str) else value
            if value not in (None, "") or name in ("views", "agents"):
                request[name] = value
        return request

    def add_lease_error(self, exc: LeaseError) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


EXAMPLE_QUERY = "SELECT placement, COUNT(*) FROM exposures GROUP BY placement"


class QueryForm(forms.Form):
    sql = forms.CharField(required=False, strip=False, label="SQL", widget=forms.Textarea(
        attrs={"rows": 5, "spellcheck": "false", "placeholder": EXAMPLE_QUERY}))
