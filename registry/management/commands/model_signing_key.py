"""``manage.py model_signing_key generate|rotate|show``: the EC P-256 key that signs model artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from governance.core.env import write_private_file_once
from registry import signing


class Command(BaseCommand):
    help = "The key that signs model artifacts (OpenSSF model signing): generate, rotate, show."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser("generate", help="write a new EC P-256 private key (PEM, mode 0600)")
        generate.add_argument("--out", default=None, help="defaults to MODEL_SIGNING_KEY_FILE")
        rotate = sub.add_parser(
            "rotate", help="new key; the old public key stays trusted for verification (audited)"
        )
        rotate.add_argument(
            "--out", default=None, help="write the new key here instead of replacing MODEL_SIGNING_KEY_FILE"
        )
        sub.add_parser("show", help="print the trusted public keys (PEM) with their ids")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "generate":
            path = Path(options["out"] or settings.MODEL_SIGNING_KEY_FILE)
            if path.exists():
                raise CommandError(f"{path} exists; refusing to overwrite a signing key (use rotate)")
            pem = signing.key_generate()
            write_private_file_once(path, pem)
            self.stdout.write(f"wrote {path} (mode 0600)")
        elif action == "rotate":
            out = Path(options["out"]) if options["out"] else None
            try:
                previous, new = signing.signing_key_rotate(
                    actor=Actor.system("manage.py model_signing_key rotate"), out=out
                )
            except FileExistsError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"rotated: {previous} -> {new}; {previous} stays trusted for verification")
        else:
            for key_id, pem in signing.trusted_public_keys().items():
                self.stdout.write(f"# {key_id}\n{pem.decode('ascii')}")
