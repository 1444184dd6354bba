from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit import selectors
from audit.actors import Actor
from audit.checkpoints import checkpoint_create, log_verify_and_alert
from audit.exporting import audit_export
from audit.keys import write_new_key
from audit.verify import (
    EXIT_NOTHING_COVERED,
    EXIT_OK,
    EXIT_UNCOVERED,
    VerifyResult,
    summary,
    verdict,
)

VERIFY_HELP = """Verify the live database against the signed checkpoints and the leaf-hash record.

exit status:
  0  OK: verified up to N; entries after N (if any) are younger than AUDIT_CHECKPOINT_EVERY_SECONDS
  1  FAIL: an entry or checkpoint is wrong (the first bad index is named); an alert is raised
  3  UNCOVERED: nothing covered yet (no signed checkpoint covers any entry, e.g. an empty log)
  4  STALE: verified up to N, but entries from N were integrated longer ago than
     AUDIT_CHECKPOINT_EVERY_SECONDS and are still in no signed checkpoint: is the checkpoint task
     (celery beat, audit.tasks.audit_checkpoint) running?"""


def _stale_tail(result: VerifyResult) -> str:
    """A sentence naming the oldest integrated entry no checkpoint covers, when it is older than the
    checkpoint period (the periodic task should have signed it by then); empty otherwise."""
    if not result.uncovered:
        return ""
    size = result.verified_tree_size
    oldest = selectors.entry_list(start=size, end=size + 1).values_list("timestamp", flat=True).first()
    period = settings.AUDIT_CHECKPOINT_EVERY_SECONDS
    if oldest is None or timezone.now() - oldest <= timedelta(seconds=period):
        return ""
    age = int((timezone.now() - oldest).total_seconds())
    return (
        f"entries {size}..{result.entries - 1} are integrated but in no signed checkpoint; the oldest "
        f"(index {size}, {oldest.isoformat()}) is {age} s old, past the checkpoint period of {period} s: "
        "is the checkpoint task (celery beat, audit.tasks.audit_checkpoint) running?"
    )


def verify_live() -> tuple[int, str]:
    """Verify the live log: the exit status and the line ``manage.py audit verify`` prints."""
    result = log_verify_and_alert()
    status, line = verdict(result)
    if status not in (EXIT_NOTHING_COVERED, EXIT_UNCOVERED):
        return status, line
    stale = _stale_tail(result)
    if status == EXIT_NOTHING_COVERED:
        return status, f"{line}; {stale}" if stale else line
    if stale:
        return EXIT_UNCOVERED, f"STALE: {summary(result)}; {stale}"
    # A tail younger than the checkpoint period is normal: the periodic task will sign it shortly.
    return EXIT_OK, (
        f"OK: {summary(result)}; entries {result.verified_tree_size}..{result.entries - 1} are not yet "
        f"in a checkpoint (younger than the checkpoint period of {settings.AUDIT_CHECKPOINT_EVERY_SECONDS} s)"
    )


class Command(BaseCommand):
    help = "Audit log: keygen, checkpoint, verify, export."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser("keygen", help="write a new Ed25519 signing key (PEM, mode 0600)")
        keygen.add_argument("--out", default=None, help="defaults to AUDIT_SIGNING_KEY_FILE")
        sub.add_parser("checkpoint", help="sign a checkpoint of the current tree now")
        sub.add_parser(
            "verify",
            help="verify the live database against the signed checkpoints (exit 0 OK, 1 FAIL, "
            "3 nothing covered yet, 4 stale uncheckpointed entries)",
            description=VERIFY_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
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
            status, line = verify_live()
            self.stdout.write(line)
            if status != EXIT_OK:
                raise SystemExit(status)
        elif action == "export":
            out = Path(options["out"])
            count = audit_export(actor=Actor.system("manage.py audit export"), out=out)
            self.stdout.write(f"wrote {out} with {count} entries")
