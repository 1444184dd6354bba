"""A separate process that commits one audited action and dies before it can sequence it (as a killed
worker would, right after its commit)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")


def main(target_id: str) -> None:
    import django

    django.setup()
    from django.db import transaction

    from audit import services
    from audit.actions import AuditAction
    from audit.actors import Actor

    def die(**_kwargs: object) -> int:
        os._exit(0)

    services.audit_sequence = die  # what on_commit calls once the transaction has committed
    with transaction.atomic():
        services.audit_record(
            actor=Actor.worker("dying"),
            action=AuditAction.USER_CREATE,
            target=services.Target.of("user", target_id),
        )
    sys.exit("the process should have died after its commit")


if __name__ == "__main__":
    main(sys.argv[1])
