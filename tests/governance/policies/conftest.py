"""Policy fixtures: MegaMart's demo rules compiled in memory (no database), and rule builders for precise cases."""

from __future__ import annotations

import pytest

from governance.policies.checker import CompiledPolicy, policy_compile
from governance.policies.demo import MEGAMART_POLICY_RULES
from governance.policies.rules import policy_document_validate


def rule(rule_id: str, kind: str, spec: dict, *, severity: str = "block", category: str = "test") -> dict:
    return {"rule_id": rule_id, "kind": kind, "severity": severity, "category": category, "spec": spec}


def compiled(*rules: dict, version: int = 1) -> CompiledPolicy:
    policy_document_validate({"rules": list(rules)}, retailer_slug="megamart")
    return policy_compile(rules, version=version)


@pytest.fixture(scope="session")
def demo_policy() -> CompiledPolicy:
    return policy_compile(MEGAMART_POLICY_RULES, version=1)
