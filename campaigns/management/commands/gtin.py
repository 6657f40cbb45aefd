"""`manage.py gtin CODE...`: read product codes the way the harmonizer does, one JSON line per code."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from campaigns.harmonize.gtin import NETWORKS, normalize_many

INVALID_CODES = "{invalid} of {total} codes are invalid"


class Command(BaseCommand):
    help = "Normalize GTINs (UPC-A, UPC-E, EAN-13, GTIN-8/14) and network product ids; exit 1 if any is invalid."
    # Pure string work: no database, so no system checks that might touch one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("codes", nargs="+", metavar="CODE")
        parser.add_argument("--network", choices=NETWORKS, help="read codes the way this network writes them")
        parser.add_argument("--upce", action="store_true", help="accept UPC-E codes (6 or 8 digits)")

    def handle(self, *args, codes: list[str], network: str | None, upce: bool, **options) -> None:
        results = normalize_many(codes, upce=upce, network=network)
        for code in codes:
            self.stdout.write(json.dumps(results[code].to_dict()))
        invalid = sum(not results[code].valid for code in codes)
        if invalid:
            raise CommandError(INVALID_CODES.format(invalid=invalid, total=len(codes)), returncode=1)
