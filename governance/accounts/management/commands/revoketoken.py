from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.accounts import services
from governance.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Revoke an API token by its prefix (the part before the dot)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token = services.token_revoke(
                actor=Actor.system("manage.py revoketoken"), prefix=options["prefix"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"revoked {token.prefix}")
