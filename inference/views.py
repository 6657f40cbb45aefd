"""Page: the assistant playground, which sends a prompt to the base model and shows the job as it runs."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.shortcuts import render

from inference.services import generate_request
from rmn_saas.errors import ApiError
from rmn_saas.page_access import page
from tenants.jobs.selectors import job_list


class GenerateForm(forms.Form):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=32_000)
    max_new_tokens = forms.IntegerField(min_value=1, max_value=settings.RMN_GENERATE_MAX_NEW_TOKENS, initial=96)


@page(write=True)
def generate_page(request):
    form = GenerateForm(request.POST or None)
    job = None
    if request.method == "POST" and form.is_valid():
        try:
            job = generate_request(actor=request.user.actor, **form.cleaned_data)
        except ApiError as exc:
            form.add_error("prompt", str(exc.detail))
    context = {"form": form, "job": job, "recent": job_list(kind="generate")[:10]}
    template = "pages/generate.html#generate-panel" if request.htmx else "pages/generate.html"
    return render(request, template, context)
