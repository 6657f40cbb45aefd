"""The adapter router: for a request (tenant, retailer context, task) the stack [retailer, brand, task] of adapters
the tenant may use on the served base model, with an explanation of what was chosen, why, and what was skipped.

Per kind it takes the newest approved adapter that `access.adapter_usable` allows and that fits the base model.
Adapters the tenant may not use are never named in the answer: only their owner and the reason are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings

from inference.adapters.access import Decision, adapter_for_use, adapter_usable
from inference.adapters.models import STACK_ORDER, Adapter, AdapterKind, AdapterStatus
from rmn_saas.errors import ApiError
from tenants.models import Tenant, TenantKind

CHOSEN = "{kind}: {label} of {owner} — {why}"
CHOSEN_EXPLICIT = "{kind}: {label} of {owner} — named by the request; {why}"
NO_RETAILER = "retailer: none — the request names no retailer"
NOT_A_BRAND = "brand: none — {tenant} is a {tenant_kind}, not a brand"
NONE_FOUND = "{kind}: none — no approved {kind} adapter{scope} that {tenant} may use on {base_model}"
NOT_NAMED = "{kind}: none — not named by the request"
STACK = "stack on {base_model}: {labels}"
BASE_ONLY = "no adapters: the base model {base_model} alone"
BASE_SKIP = "base model {found}, not {wanted}"
UNUSABLE_SKIP = "{owner}'s {kind} adapters: {reason}"
UNKNOWN_RETAILER = "No retailer {slug!r} here."
INCOMPATIBLE_BASE = "Adapter {id} ({label}) is for base model {found!r}, not {wanted!r}."
TWO_OF_A_KIND = "The request names two {kind} adapters ({first} and {second}); a stack takes one of each kind."
NAMED_TWICE = "The request names adapter {id} twice."


@dataclass(frozen=True)
class AdapterRef:
    id: int
    name: str
    kind: str
    version: int
    owner: str
    base_model: str
    rank: int
    alpha: float
    target_modules: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, adapter: Adapter) -> AdapterRef:
        return cls(id=adapter.pk, name=adapter.name, kind=adapter.kind, version=adapter.version,
                   owner=adapter.owner.slug, base_model=adapter.base_model, rank=adapter.rank, alpha=adapter.alpha,
                   target_modules=list(adapter.target_modules))


@dataclass(frozen=True)
class Route:
    base_model: str
    task: str
    retailer: str | None
    stack: list[AdapterRef]
    explanation: list[str]
    skipped: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)


def _retailer(tenant: Tenant, slug: str | None) -> Tenant | None:
    if not slug:
        # A retailer's own requests are in its own context.
        return tenant if tenant.kind == TenantKind.RETAILER else None
    retailer = Tenant.objects.filter(slug=slug, kind=TenantKind.RETAILER).first()
    if retailer is None:
        raise ApiError(status_code=404, code="unknown_retailer", message=UNKNOWN_RETAILER.format(slug=slug))
    return retailer


def route(*, tenant: Tenant, task: str, retailer: str | None = None, explicit: list[int] | None = None,
          base_model: str | None = None) -> Route:
    """The stack for this request. `explicit` names the adapters instead: each must be usable (else the same 404 as
    a missing one, for the first that is not) and fit the base model (else 400 naming it); an empty list asks for
    the base model alone."""
    base_model = base_model or settings.RMN_BASE_MODEL
    context = _retailer(tenant, retailer)
    if explicit is not None:
        stack, explanation, skipped = _explicit(tenant, context, explicit, base_model)
    else:
        stack, explanation, skipped = _automatic(tenant, context, task, base_model)
    labels = ", ".join(f"{ref.name} v{ref.version}" for ref in stack)
    explanation.append(STACK.format(base_model=base_model, labels=labels) if stack
                       else BASE_ONLY.format(base_model=base_model))
    return Route(base_model=base_model, task=task, retailer=context.slug if context else None, stack=stack,
                 explanation=explanation, skipped=skipped)


def _automatic(tenant: Tenant, context: Tenant | None, task: str,
               base_model: str) -> tuple[list[AdapterRef], list[str], list[dict]]:
    stack, explanation, skipped = [], [], []
    approved = Adapter.objects.filter(status=AdapterStatus.APPROVED).select_related("owner")
    for kind in STACK_ORDER:
        if kind == AdapterKind.RETAILER:
            if context is None:
                explanation.append(NO_RETAILER)
                continue
            candidates, scope = approved.filter(kind=kind, owner=context), f" of {context.name}"
        elif kind == AdapterKind.BRAND:
            if tenant.kind != TenantKind.BRAND:
                explanation.append(NOT_A_BRAND.format(tenant=tenant.name, tenant_kind=tenant.kind))
                continue
            candidates, scope = approved.filter(kind=kind, owner=tenant), f" of {tenant.name}"
        else:
            candidates = approved.filter(kind=kind, task=task, owner__kind=TenantKind.PLATFORM)
            scope = f" for task {task!r}"
        chosen = _first_fit(tenant, context, candidates.order_by("-created_at", "-pk"), base_model, skipped)
        if chosen is None:
            explanation.append(NONE_FOUND.format(kind=kind, scope=scope, tenant=tenant.name, base_model=base_model))
            continue
        adapter, decision = chosen
        stack.append(AdapterRef.of(adapter))
        explanation.append(CHOSEN.format(kind=kind, label=adapter.label, owner=adapter.owner.name,
                                         why=decision.reason))
    return stack, explanation, skipped


def _first_fit(tenant: Tenant, context: Tenant | None, candidates, base_model: str,
               skipped: list[dict]) -> tuple[Adapter, Decision] | None:
    for adapter in candidates:
        decision = adapter_usable(tenant=tenant, adapter=adapter, retailer=context)
        if not decision.allowed:
            # Not named: an adapter the tenant may not use stays as unknown to it as a missing one.
            entry = {"kind": adapter.kind, "adapter": None,
                     "reason": UNUSABLE_SKIP.format(owner=adapter.owner.name, kind=adapter.kind,
                                                    reason=decision.reason)}
            if entry not in skipped:
                skipped.append(entry)
            continue
        if adapter.base_model != base_model:
            skipped.append({"kind": adapter.kind, "adapter": asdict(AdapterRef.of(adapter)),
                            "reason": BASE_SKIP.format(found=adapter.base_model, wanted=base_model)})
            continue
        return adapter, decision
    return None


def _explicit(tenant: Tenant, context: Tenant | None, ids: list[int],
              base_model: str) -> tuple[list[AdapterRef], list[str], list[dict]]:
    chosen: dict[str, tuple[Adapter, Decision]] = {}
    adapters = []
    for adapter_id in ids:
        if adapter_id in [adapter.pk for adapter in adapters]:
            raise ApiError(status_code=400, code="invalid", message=NAMED_TWICE.format(id=adapter_id))
        adapters.append(adapter_for_use(tenant=tenant, adapter_id=adapter_id, retailer=context))
    for adapter in adapters:
        if adapter.base_model != base_model:
            raise ApiError(status_code=400, code="incompatible_adapter",
                           message=INCOMPATIBLE_BASE.format(id=adapter.pk, label=adapter.label,
                                                            found=adapter.base_model, wanted=base_model),
                           details={"adapter": adapter.pk, "base_model": adapter.base_model})
        if adapter.kind in chosen:
            raise ApiError(status_code=400, code="invalid",
                           message=TWO_OF_A_KIND.format(kind=adapter.kind, first=chosen[adapter.kind][0].label,
                                                        second=adapter.label))
        chosen[adapter.kind] = (adapter, adapter_usable(tenant=tenant, adapter=adapter, retailer=context))
    stack, explanation = [], []
    for kind in STACK_ORDER:
        if kind not in chosen:
            explanation.append(NOT_NAMED.format(kind=kind))
            continue
        adapter, decision = chosen[kind]
        stack.append(AdapterRef.of(adapter))
        explanation.append(CHOSEN_EXPLICIT.format(kind=kind, label=adapter.label, owner=adapter.owner.name,
                                                  why=decision.reason))
    return stack, explanation, []
