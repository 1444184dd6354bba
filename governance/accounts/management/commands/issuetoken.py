from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.accounts import selectors, services
from governance.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Issue an API token for a user; the token is printed alone on the last line, once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="token", help="a label for the token (shown in the audit log)")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = selectors.user_get(username=options["username"])
            token, raw = services.token_issue(
                actor=Actor.system("manage.py issuetoken"),
                user=user,
                name=options["name"],
                expires_days=options["expires_days"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        expires = token.expiry_date.isoformat() if token.expiry_date else "never"
        self.stderr.write(f"token {token.prefix} ({token.name}) for {user.username}, expires {expires}")
        self.stdout.write(raw)
