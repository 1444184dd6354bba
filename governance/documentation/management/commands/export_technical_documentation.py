from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.core.errors import ApplicationError
from governance.documentation.services import FORMATS, technical_documentation_export


class Command(BaseCommand):
    help = (
        "Export a model version's technical documentation (EU AI Act Annex IV) and model card "
        "(zip: JSON, HTML, PDF and the audit proofs). Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("node_id", help="e.g. model:churn#3")
        parser.add_argument("--out", required=True)
        parser.add_argument("--format", default="zip", choices=FORMATS)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            rendered = technical_documentation_export(
                actor=Actor.system("manage.py export_technical_documentation"),
                subject=options["node_id"],
                fmt=options["format"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        out = Path(options["out"])
        out.write_bytes(rendered.content)
        self.stdout.write(f"wrote {out} ({len(rendered.content)} bytes, document sha256 {rendered.sha256})")
