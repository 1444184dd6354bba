"""``manage.py seed_policies``: install the default release policies that are missing (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import Actor
from governance.approvals.services.policies import policy_seed_defaults


class Command(BaseCommand):
    help = "Create the default release policies that do not exist yet; each creation is audited."

    def handle(self, *args: Any, **options: Any) -> None:
        created = policy_seed_defaults(actor=Actor.system("seed_policies"))
        if created:
            self.stdout.write(f"created policies: {', '.join(created)}")
        else:
            self.stdout.write("every default policy exists already")
