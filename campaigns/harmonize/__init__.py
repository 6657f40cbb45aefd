"""The harmonizer: any network's export (or a catalog / sales file) into RMIS, through mapping specs as data.

Public surface: `ingest_file`, `IngestOptions`, `IngestError`, `suggest_spec`, `available_specs`.
"""

from campaigns.harmonize.pipeline import IngestError, IngestOptions, IngestResult, available_specs, ingest_file
from campaigns.harmonize.suggest import suggest_spec

__all__ = ["IngestError", "IngestOptions", "IngestResult", "available_specs", "ingest_file", "suggest_spec"]
