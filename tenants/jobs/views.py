"""Pages: the job list, and the progress partial that polls until a job finishes."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from rmn_saas.page_access import page
from tenants.jobs.selectors import job_get, job_list


@page()
def jobs_page(request):
    return render(request, "pages/jobs.html", {"jobs": job_list()[:50]})


@page()
def job_progress_partial(request, job_id):
    job = job_get(job_id=job_id)
    if job is None:
        raise Http404
    return render(request, "pages/jobs.html#job-row", {"job": job})
