"""`manage.py rmis_suggest_spec FILE [--name NAME] [--network NET] [--kind KIND]`: draft a mapping spec for an
export no spec matches. The spec JSON goes to stdout (for `rmis_ingest --spec-file`), the column table to stderr.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaigns.harmonize.readers import UnreadableFile, open_source
from campaigns.harmonize.specs import SpecError
from campaigns.harmonize.suggest import suggest_spec, suggested_name
from campaigns.models import SpecKind

NO_SUCH_FILE = "no such file: {path}"


class Command(BaseCommand):
    help = "Suggest a mapping spec for an export from its headers and values; prints the spec as JSON."
    requires_system_checks: list[str] = []  # reads one file: no database, no checks

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--name", help="spec name (default: a slug of the file name)")
        parser.add_argument("--network", default="custom", help="network key, e.g. kroger (default: custom)")
        parser.add_argument("--kind", default=SpecKind.AD_EVENTS, choices=SpecKind.values, help="what the file holds")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(NO_SUCH_FILE.format(path=path))
        name = options["name"] or suggested_name(path.name.split(".")[0])
        with tempfile.TemporaryDirectory(prefix="rmn-suggest-") as workdir:
            try:
                source = open_source(path, workdir=Path(workdir))
                result = suggest_spec(source, name=name, network=options["network"], kind=options["kind"])
            except UnreadableFile as exc:
                raise CommandError(str(exc)) from exc
            except SpecError as exc:
                raise CommandError(f"no spec suggested: {exc}") from exc
        self.stderr.write(_table(result))
        self.stdout.write(json.dumps(result["spec"], indent=2, ensure_ascii=False))


def _table(result: dict) -> str:
    rows = [(row["header"].strip() or "(blank)", row["field"] or f"({row['status']})", row["transform"] or "",
             f"{row['confidence']:.2f}", row["why"]) for row in result["columns"]]
    titles = ("header", "field", "transform", "conf", "why")
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, title in enumerate(titles[:4])]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)) + "  " + line[4]
             for line in [titles, *rows]]
    lines.append(f"confidence {result['confidence']:.2f}")
    if result["missing_required"]:
        lines.append(f"missing required: {', '.join(result['missing_required'])}")
    lines.extend(f"note: {note}" for note in result["notes"])
    return "\n".join(lines)
