"""Budget allocation requests: the `allocate_budget` tool behind POST /api/v1/optimize/allocate and
`manage.py allocate`. Small separable problems solve right away on the fast engine (numpy only, so the web
process never loads cvxpy); large or flighted ones become a job on the `default` worker."""

from __future__ import annotations

from typing import Any

from campaigns.optimize import Infeasible, ProblemError, allocate, problem_from_dict
from governance.audit.services import audit_record
from rmn_saas.errors import ApiError
from tenants.jobs.models import Job
from tenants.jobs.services import job_create

SYNC_CELL_LIMIT = 10_000


def problem_or_400(data: Any):
    try:
        return problem_from_dict(data)
    except ProblemError as exc:
        raise ApiError(status_code=400, code=exc.code, message=exc.message, details={"field": exc.field}) from exc


def allocation_solve(problem, *, engine: str = "auto") -> dict:
    """Solve and serialize; infeasible constraints are a 422 that says which clash and what is achievable."""
    try:
        return allocate(problem, engine=engine).to_dict()
    except Infeasible as exc:
        error = exc.as_error()
        raise ApiError(status_code=422, code=error["code"], message=error["message"],
                       details=error["details"]) from exc
    except ProblemError as exc:
        raise ApiError(status_code=400, code=exc.code, message=exc.message, details={"field": exc.field}) from exc


def allocation_request(*, actor: str, data: Any) -> tuple[dict | None, Job | None]:
    """(allocation, None) when solved now; (None, job) when queued for the worker."""
    problem = problem_or_400(data)
    large = len(problem.cells) > SYNC_CELL_LIMIT
    flighted = bool(problem.constraints.periods)
    if large or flighted:
        from campaigns.tasks import allocate_budget

        job = job_create(kind="allocate", actor=actor, params={"problem": data}, task=allocate_budget)
        return None, job
    result = allocation_solve(problem, engine="fast")
    audit_record(actor=actor, action="optimize.allocate", object_type="allocation",
                 details={"cells": len(problem.cells), "objective": result.get("objective")})
    return result, None
