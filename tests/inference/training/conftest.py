"""Training fixtures: stand-in dataset builders for brand and retailer adapters (none exists yet, and these tests
never build one: runs are only recorded), and the adapter store."""

from __future__ import annotations

import pytest

from inference.adapters.models import AdapterKind
from inference.training.datasets import BUILDERS
from tests.inference.training.builders import OWN_DATASET


def _never_built(**_) -> None:
    raise AssertionError("these tests record runs; they never build a dataset")


@pytest.fixture
def own_datasets(monkeypatch):
    """A dataset named `voice` for brand and for retailer adapters."""
    for kind in (AdapterKind.BRAND, AdapterKind.RETAILER):
        monkeypatch.setitem(BUILDERS, (kind, OWN_DATASET), _never_built)


@pytest.fixture
def adapter_store(settings, tmp_path):
    settings.RMN_ADAPTER_DIR = tmp_path / "adapters"
    settings.RMN_ADAPTER_SIGNING_KEY = ""
    settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT = tmp_path / "adapter_signing_key.pem"
    return settings.RMN_ADAPTER_DIR
