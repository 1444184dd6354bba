from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.accounts import services
from governance.core.errors import ApplicationError
from governance.core.roles import ALL_ROLES


class Command(BaseCommand):
    help = "Create a user with one or more roles (audited as a system action)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, choices=sorted(ALL_ROLES))
        parser.add_argument("--password", help="omit for a machine account; '-' asks for it on the terminal")
        parser.add_argument("--full-name", default="", help="printed name shown on e-signatures")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if password == "-":  # noqa: S105 ("-" means: ask on the terminal)
            password = getpass.getpass("Password: ")
        try:
            user = services.user_create(
                actor=Actor.system("manage.py adduser"),
                username=options["username"],
                roles=options["role"],
                password=password,
                full_name=options["full_name"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"created {user.username} with roles {', '.join(user.role_names())}")
