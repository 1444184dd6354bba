"""``manage.py audit_committer``: serve group commit for audit appends on ``AUDIT_COMMITTER_SOCKET``
(audit/committer.py); SIGTERM or SIGINT stop it after the batch in hand."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from audit.committer import Committer

APPLICATION_NAME = "audit_committer"


class Command(BaseCommand):
    help = "Serve group commit for audit appends on AUDIT_COMMITTER_SOCKET (PostgreSQL only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--socket", default=None, help="defaults to AUDIT_COMMITTER_SOCKET")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["socket"] or settings.AUDIT_COMMITTER_SOCKET
        if not path:
            raise CommandError("no socket: set AUDIT_COMMITTER_SOCKET or pass --socket")
        if connection.vendor != "postgresql":
            raise CommandError("the audit committer needs PostgreSQL (on SQLite every writer queues its own)")
        # Named in pg_stat_activity, so an operator sees which session is the committer's.
        options_ = connection.settings_dict.get("OPTIONS", {})
        connection.settings_dict["OPTIONS"] = {**options_, "application_name": APPLICATION_NAME}
        connection.close()
        try:
            committer = Committer(Path(path))
        except (RuntimeError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: committer.stop())
        self.stdout.write(f"audit committer serving {path}")
        self.stdout.flush()
        committer.serve()
        self.stdout.write(f"audit committer stopped after {committer.committed} actions")
