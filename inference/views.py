"""Page: the playground. A prompt goes to the router, which picks the adapter stack this tenant may use for the task
and retailer; the page then runs the base model and the stack side by side (two jobs on the gpu worker) and shows
the router's explanation next to both answers as they finish."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import render

from inference.services import COMPOSITIONS, DEFAULT_TASK, generate_request
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page
from tenants.jobs.selectors import job_list
from tenants.models import Tenant, TenantKind

NO_STACK = "No adapter applies to this request, so the base model alone answers."


def _retailer_choices() -> list[tuple[str, str]]:
    retailers = Tenant.objects.filter(kind=TenantKind.RETAILER).order_by("name").values_list("slug", "name")
    return [("", "No retailer"), *[(slug, name) for slug, name in retailers]]


class PlaygroundForm(forms.Form):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=32_000)
    task = forms.SlugField(max_length=100, initial=DEFAULT_TASK,
                           help_text="Picks the platform's task adapter, e.g. ad_copy or planner.")
    retailer = forms.ChoiceField(required=False, help_text="The retailer whose context this is.")
    composition = forms.ChoiceField(choices=[(c, c.capitalize()) for c in COMPOSITIONS], initial="additive",
                                    widget=forms.RadioSelect)
    max_new_tokens = forms.IntegerField(min_value=1, max_value=settings.RMN_GENERATE_MAX_NEW_TOKENS, initial=96)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["retailer"].choices = _retailer_choices()


@page(write=True)
def generate_page(request):
    form = PlaygroundForm(request.POST or None)
    run = None
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        common = {"actor": request.user.actor, "tenant": request.tenant, "prompt": values["prompt"],
                  "max_new_tokens": values["max_new_tokens"], "task": values["task"],
                  "retailer": values["retailer"] or None}
        try:
            stacked, chosen = generate_request(**common, composition=values["composition"])
            base = None
            if chosen.stack:
                base, _ = generate_request(**common, adapters=[])
            run = {"route": chosen, "stacked": stacked, "base": base, "no_stack": NO_STACK}
        except ApiError as exc:
            form.add_error(None, str(exc.detail))
    context = {"form": form, "run": run, "recent": job_list(kind="generate")[:10]}
    template = "pages/generate.html#generate-panel" if request.htmx else "pages/generate.html"
    return render(request, template, context)
