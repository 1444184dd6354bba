"""The checkpoint signer and the published verifier keys.

The private key is an Ed25519 PEM file named by ``AUDIT_SIGNING_KEY_FILE`` (``manage.py audit keygen``
writes one with mode 0600; the embedded default makes one under ``var/``). Anything with the
``audit.checkpoint.Signer`` shape (a KMS or HSM client) can replace it.
Rotation: point ``AUDIT_SIGNING_KEY_FILE`` at a new key; the next checkpoint publishes it, and the old
key stays listed (with ``valid_until``) so that earlier checkpoints remain verifiable.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.checkpoint import Ed25519Signer, Signer, Verifier, verifier_key
from audit.store import CheckpointStore
from governance.core.env import write_private_file_once


def signer_name() -> str:
    return str(settings.AUDIT_LOG_ORIGIN)


def write_new_key(path: Path) -> Ed25519Signer:
    signer = Ed25519Signer.generate(signer_name())
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite a signing key")
    write_private_file_once(path, signer.private_pem())
    return signer


def load_signer() -> Signer:
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    if not path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(
                f"AUDIT_SIGNING_KEY_FILE={path} does not exist; run `manage.py audit keygen`"
            )
        # Embedded default: a first run makes its own key; racing processes end up with the same file.
        with contextlib.suppress(FileExistsError):
            write_new_key(path)
    return Ed25519Signer.from_private_pem(signer_name(), path.read_bytes())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def publish_signer_key(signer: Signer, store: CheckpointStore | None = None) -> bool:
    """Make sure the signer's verifier key is published; close the previous key's validity on rotation.

    Returns True when the published list changed (a first key or a rotation).
    """
    store = store or CheckpointStore()
    vkey = verifier_key(signer.name, signer.public_key)
    lines = store.key_lines()
    if any(line.split()[0] == vkey for line in lines):
        return False
    stamp = _now()
    closed = [line if "valid_until=" in line else f"{line} valid_until={stamp}" for line in lines]
    store.write_key_lines([*closed, f"{vkey} valid_from={stamp}"])
    return True


def published_verifiers(store: CheckpointStore | None = None) -> list[Verifier]:
    store = store or CheckpointStore()
    return [Verifier.parse(line.split()[0]) for line in store.key_lines()]
