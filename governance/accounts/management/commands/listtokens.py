from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.accounts import selectors


class Command(BaseCommand):
    help = "List API tokens (prefix, user, name, created, expires, state); never the secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = selectors.user_get(username=options["username"]) if options["username"] else None
        for token in selectors.token_list(user=user):
            state = "revoked" if token.revoked else ("expired" if token.has_expired else "active")
            expires = token.expiry_date.isoformat() if token.expiry_date else "never"
            self.stdout.write(
                f"{token.prefix}\t{token.user.username}\t{token.name}\t{token.created.isoformat()}\t{expires}\t{state}"
            )
