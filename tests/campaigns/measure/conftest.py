"""Measurement tests use the plans' demo history fixtures."""

from tests.campaigns.plans.conftest import walmart_history  # noqa: F401
