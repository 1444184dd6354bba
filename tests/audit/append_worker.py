"""A separate process that appends N audit entries, each in its own committed transaction."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")


def main(count: int, name: str) -> None:
    import django

    django.setup()
    from django.db import transaction

    from audit.actions import AuditAction
    from audit.actors import Actor
    from audit.services import Target, audit_record

    actor = Actor.worker(name)
    for number in range(count):
        with transaction.atomic():
            audit_record(actor=actor, action=AuditAction.USER_CREATE, target=Target.of("user", number))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
