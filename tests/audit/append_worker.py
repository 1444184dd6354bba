"""A separate process that appends N audit entries, each committed on its own: in a transaction of its own
(as a mutating service does), or, with ``alone``, as a statement outside any transaction (as a read or a
refusal is recorded)."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")


def main(count: int, name: str, alone: bool) -> None:
    import django

    django.setup()
    from django.db import transaction

    from audit.actions import AuditAction
    from audit.actors import Actor
    from audit.services import Target, audit_record

    actor = Actor.worker(name)
    for number in range(count):
        with nullcontext() if alone else transaction.atomic():
            audit_record(actor=actor, action=AuditAction.USER_CREATE, target=Target.of("user", number))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3:] == ["alone"])
