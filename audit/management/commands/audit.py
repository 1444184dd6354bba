from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from audit.checkpoints import checkpoint_create, log_verify_and_alert
from audit.exporting import audit_export
from audit.keys import write_new_key


class Command(BaseCommand):
    help = "Audit log: keygen, checkpoint, verify, export."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser("keygen", help="write a new Ed25519 signing key (PEM, mode 0600)")
        keygen.add_argument("--out", default=None, help="defaults to AUDIT_SIGNING_KEY_FILE")
        sub.add_parser("checkpoint", help="sign a checkpoint of the current tree now")
        sub.add_parser("verify", help="verify the live database against the signed checkpoints")
        export = sub.add_parser("export", help="write the audit bundle (zip)")
        export.add_argument("--out", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "keygen":
            path = Path(options["out"] or settings.AUDIT_SIGNING_KEY_FILE)
            try:
                signer = write_new_key(path)
            except FileExistsError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"wrote {path} (mode 0600); verifier key: {signer.verifier_key}")
        elif action == "checkpoint":
            stored = checkpoint_create()
            self.stdout.write(stored.note)
        elif action == "verify":
            result = log_verify_and_alert()
            if not result.ok:
                index = (
                    "" if result.first_bad_index is None else f"first bad index {result.first_bad_index}: "
                )
                self.stdout.write(f"FAIL: {index}{result.reason}")
                raise SystemExit(1)
            self.stdout.write(
                f"OK: {result.entries} entries, {result.checkpoints_verified} checkpoints, "
                f"verified tree size {result.verified_tree_size}"
            )
        elif action == "export":
            out = Path(options["out"])
            count = audit_export(actor=Actor.system("manage.py audit export"), out=out)
            self.stdout.write(f"wrote {out} with {count} entries")
