from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.core.errors import ApplicationError
from registry.services.reports import FORMATS, lineage_report_export


class Command(BaseCommand):
    help = "Export the lineage report of a node (zip: every format plus the audit proofs). Audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_id", help="e.g. model:churn#3 or deployment:production:churn")
        parser.add_argument("--out", required=True)
        parser.add_argument("--format", default="zip", choices=FORMATS)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rendered = lineage_report_export(
                actor=Actor.system("manage.py export_lineage"),
                subject=options["node_id"],
                fmt=options["format"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        out = Path(options["out"])
        out.write_bytes(rendered.content)
        self.stdout.write(f"wrote {out} ({len(rendered.content)} bytes)")
