from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.accounts import lockouts, selectors
from governance.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Lift a person's sign-in lock-out and signing lock-out (audited as one action)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = selectors.user_get(username=options["username"])
            unlocked = lockouts.user_unlock(actor=Actor.system("manage.py unlockuser"), user=user)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        signing = (
            f"signing was locked until {unlocked.signing_locked_until:%Y-%m-%d %H:%M:%S} UTC"
            if unlocked.signing_locked_until
            else "signing was not locked"
        )
        cleared = unlocked.login_attempts_cleared
        self.stdout.write(f"unlocked {user.username}: {cleared} failed sign-in(s) cleared, {signing}")
