"""A brand's clean-room query under a lease, end to end: the lease checked (an expired or revoked one is refused
at the first query), the SQL verified (a refused one runs nothing and says which clause broke which rule), the
privacy budget checked and charged, the query run in the retailer's schema, the answer released (k-anonymity,
DP noise) and the run recorded: the lease's ledger (public schema) and both tenants' audit logs.

A repeated identical query under a DP lease gets the answer it got the first time without spending ε again:
re-asking for fresh noise is how averaging attacks strip it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import connection, transaction
from django_tenants.utils import schema_context

from governance.audit.models import Outcome
from governance.audit.services import audit_record
from governance.cleanroom.execute import HAVING_UNDER_DP, run
from governance.cleanroom.verify import QueryRefused, verify
from tenants.leases import LeaseError, epsilon_spent, lease_for_use
from tenants.models import Lease, LeaseQuery, Tenant

ACTION = "cleanroom.query"
BUDGET_EXHAUSTED = ("this query needs ε = {need:g} but the lease has {left:g} of its {budget:g} left; nothing was run "
                    "(repeating an earlier query is free)")


class CleanRoomError(ValueError):
    def __init__(self, message: str, *, status: int, code: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code, self.details = message, status, code, details or {}


def clean_room_query(*, brand: Tenant, actor: str, lease_id: Any, sql: Any, agent: str | None = None) -> dict:
    """`agent` names the agent asking (the agents pass it; the lease must grant that agent); people pass none."""
    if not isinstance(sql, str) or not sql.strip():
        raise CleanRoomError("sql: write one SELECT over the leased views", status=400, code="invalid_request",
                             details={"field": "sql"})
    lease = _lease(brand, lease_id, agent=agent)
    try:
        # The brand's own uploaded audience is always joinable under its lease; the retailer's views as granted.
        verified = verify(sql, allowed_views=set(lease.views) | {"audience"})
        if lease.dp and verified.having:
            raise QueryRefused("HAVING", "having_under_dp", HAVING_UNDER_DP)
    except QueryRefused as exc:
        _audit_both(lease, actor, outcome=Outcome.DENIED,
                    details={"sql": sql[:2000], "clause": exc.clause, "rule": exc.rule})
        raise CleanRoomError(exc.message, status=400, code="query_refused",
                             details={"clause": exc.clause, "rule": exc.rule}) from exc
    refusal = None
    with transaction.atomic():
        lease = _lease(brand, lease_id, lock=True, agent=agent)  # one query at a time per lease: one budget check
        earlier = (LeaseQuery.objects.filter(lease=lease, fingerprint=verified.fingerprint, repeated=False)
                   .order_by("created_at").first() if lease.dp else None)
        epsilon = lease.epsilon_per_query if lease.dp and earlier is None else 0.0
        left = lease.epsilon_budget - epsilon_spent(lease) if lease.dp else None
        if lease.dp and epsilon > left + 1e-12:
            refusal = CleanRoomError(
                BUDGET_EXHAUSTED.format(need=epsilon, left=max(0.0, left), budget=lease.epsilon_budget),
                status=403, code="privacy_budget_exhausted", details={"epsilon_left": max(0.0, left)})
        else:
            answer = earlier.answer if earlier is not None else _run(lease, verified, epsilon)
            entry = LeaseQuery.objects.create(
                lease=lease, actor=actor, sql=verified.sql, fingerprint=verified.fingerprint, epsilon=epsilon,
                rows_returned=len(answer["rows"]), rows_suppressed=answer["suppressed"], answer=answer,
                repeated=earlier is not None)
            _audit_both(lease, actor, details={
                "query": entry.pk, "agent": agent, "sql": verified.sql, "rows_returned": entry.rows_returned,
                "rows_suppressed": entry.rows_suppressed, "epsilon": epsilon, "repeated": entry.repeated})
    if refusal is not None:
        _audit_both(lease, actor, outcome=Outcome.DENIED, details={"sql": verified.sql, "refused": refusal.code})
        raise refusal
    return {"query": entry.pk, "lease": lease.pk, **answer, "k": lease.k, "dp": lease.dp, "epsilon": epsilon,
            "epsilon_left": left - epsilon if lease.dp else None, "repeated": entry.repeated}


def _lease(brand: Tenant, lease_id: Any, *, lock: bool = False, agent: str | None = None) -> Lease:
    try:
        return lease_for_use(lease_id=lease_id, brand=brand, lock=lock, agent=agent)
    except LeaseError as exc:
        raise CleanRoomError(exc.message, status=exc.status, code=exc.code, details={"field": exc.field}) from exc


def _run(lease: Lease, verified, epsilon: float) -> dict:
    try:
        with schema_context(lease.retailer.schema_name):
            released = run(verified, schema=lease.retailer.schema_name, k=lease.k,
                           epsilon=epsilon if lease.dp else None, lease_id=lease.pk)
    except Exception as exc:  # a timeout or a type error in Postgres: the query ran nothing that is kept
        if connection.needs_rollback:
            raise
        raise CleanRoomError(f"the query could not be run: {str(exc).splitlines()[0]}", status=400,
                             code="query_failed") from exc
    return {key: value for key, value in asdict(released).items() if key != "epsilon"}


def _audit_both(lease: Lease, actor: str, *, outcome: str = Outcome.SUCCESS, details: dict,
                action: str = ACTION) -> None:
    """The brand's audit log (the current schema) and the retailer's: a retailer sees every query under its
    leases, refused ones included."""
    details = {"lease": lease.pk, **details}
    audit_record(actor=actor, action=action, outcome=outcome, object_type="lease", object_id=str(lease.pk),
                 details=details)
    with schema_context(lease.retailer.schema_name):
        audit_record(actor=f"{lease.brand.slug}:{actor}", action=action, outcome=outcome, object_type="lease",
                     object_id=str(lease.pk), details=details)


MAX_AUDIENCE = 1_000_000
AUDIENCE_NAME = "audience: a name of letters, digits, spaces, - and _ (at most 64)"
USER_KEYS = "user_keys: a list of hashed shopper keys (hex, at most 64 characters), at most 1,000,000"


def audience_upload(*, brand: Tenant, actor: str, lease_id: Any, audience: Any, user_keys: Any) -> dict:
    """A brand's hashed audience, stored in the retailer's schema for this lease only (an upload under the same
    name replaces the earlier one). Queries join it on user_key; nothing in it can be read back row by row."""
    if not isinstance(audience, str) or not audience.strip() or len(audience) > 64 or \
            not all(ch.isalnum() or ch in " -_" for ch in audience):
        raise CleanRoomError(AUDIENCE_NAME, status=400, code="invalid_request", details={"field": "audience"})
    if not isinstance(user_keys, list) or len(user_keys) > MAX_AUDIENCE or not all(
            isinstance(key, str) and 0 < len(key) <= 64 and all(ch in "0123456789abcdef" for ch in key.lower())
            for key in user_keys):
        raise CleanRoomError(USER_KEYS, status=400, code="invalid_request", details={"field": "user_keys"})
    with transaction.atomic():
        lease = _lease(brand, lease_id, lock=True)
        with schema_context(lease.retailer.schema_name):
            from governance.cleanroom.models import Audience

            Audience.objects.filter(lease_id=lease.pk, audience=audience).delete()
            Audience.objects.bulk_create(
                [Audience(lease_id=lease.pk, audience=audience, user_key=key.lower()) for key in set(user_keys)],
                batch_size=10_000)
        _audit_both(lease, actor, action="cleanroom.audience_upload",
                    details={"audience": audience, "uploaded": len(set(user_keys))})
    return {"lease": lease.pk, "audience": audience, "user_keys": len(set(user_keys))}
