"""Signed checkpoints: a C2SP tlog-checkpoint body inside a C2SP signed-note, signed with Ed25519.

A checkpoint commits to the tree head (origin, size, RFC 9162 root). Signature lines by keys the
reader does not know (witness cosignatures, a rotated-away key) are ignored, as signed-note requires;
a note is accepted only when a trusted key's signature verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01  # C2SP signed-note "Signature types"
KEY_ID_SIZE = 4
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
ROOT_SIZE = 32
MAX_SIGNATURES = 100  # signed-note: verifiers SHOULD cap the count (and MUST accept at least 16)
SIGNATURE_PREFIX = "\u2014 "  # em dash, space

_SIZE_RE = re.compile(r"(?:0|[1-9][0-9]*)")


class NoteError(ValueError):
    """A note is malformed, or no trusted key's signature on it verifies."""


def _valid_name(name: str) -> bool:
    # signed-note: non-empty, no Unicode spaces, no "+"; control characters are banned note-wide.
    return bool(name) and not any(char == "+" or char.isspace() or ord(char) < 0x20 for char in name)


def _strict_b64decode(text: str) -> bytes:
    """Standard base64 (RFC 4648 §4), rejecting anything but the one canonical spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("non-canonical base64")
    return raw


def key_id(name: str, public_key: bytes) -> bytes:
    """signed-note "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4]."""
    if len(public_key) != ED25519_KEY_SIZE:
        raise ValueError(f"Ed25519 public key must be {ED25519_KEY_SIZE} bytes, got {len(public_key)}")
    material = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + bytes(public_key)
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string ``<name>+<8 hex key id>+<base64(0x01 || key)>`` (Go sumdb/note format)."""
    if not _valid_name(name):
        raise ValueError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
    encoded = base64.b64encode(bytes([ALG_ED25519]) + bytes(public_key)).decode("ascii")
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class Verifier:
    """A trusted Ed25519 note key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise ValueError(f"invalid key name {self.name!r}")
        if len(self.public_key) != ED25519_KEY_SIZE:
            raise ValueError(f"Ed25519 public key must be {ED25519_KEY_SIZE} bytes")
        if self.key_id != key_id(self.name, self.public_key):
            raise ValueError(f"key id {self.key_id.hex()} does not match key {self.name}")

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || key)>``; the key id must match name and key."""
        if not isinstance(vkey, str) or any(char.isspace() for char in vkey):
            raise ValueError("verifier key must be one word without whitespace")
        # The name and key id cannot contain "+", base64 can: split twice only.
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise ValueError("verifier key must look like <name>+<8 hex digits>+<base64 key>")
        name, hex_id, encoded = parts
        if not _valid_name(name):
            raise ValueError(f"invalid key name {name!r}")
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise ValueError("key id must be 8 lowercase hex digits")
        raw = _strict_b64decode(encoded)
        if not raw or raw[0] != ALG_ED25519:
            raise ValueError("unsupported signature algorithm (only Ed25519, 0x01)")
        if len(raw) != 1 + ED25519_KEY_SIZE:
            raise ValueError(f"Ed25519 key must be {ED25519_KEY_SIZE} bytes, got {len(raw) - 1}")
        public_key = raw[1:]
        if key_id(name, public_key).hex() != hex_id:
            raise ValueError(f"key id {hex_id} does not match name and key")
        return cls(name=name, key_id=bytes.fromhex(hex_id), public_key=public_key)

    @property
    def vkey(self) -> str:
        return verifier_key(self.name, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is this key's RFC 8032 Ed25519 signature of ``message``."""
        if len(signature) != ED25519_SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(bytes(signature), bytes(message))
        except (InvalidSignature, ValueError):
            return False
        return True


class Signer(Protocol):
    """What signs notes. A KMS or HSM client with this shape can replace the file key."""

    @property
    def name(self) -> str: ...

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature of ``message``."""
        ...


class Ed25519Signer:
    """A :class:`Signer` holding its Ed25519 private key in memory."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _valid_name(name):
            raise ValueError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
        self.name = name
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_private_pem(cls, name: str, pem: bytes) -> Ed25519Signer:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM file does not hold an Ed25519 private key")
        return cls(name, key)

    def private_pem(self) -> bytes:
        """PKCS #8 PEM, unencrypted: protect the file (mode 0600) or keep the key in a KMS instead."""
        return self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def __repr__(self) -> str:
        return f"Ed25519Signer({self.verifier_key!r})"


def _check_note_text(text: str, what: str) -> None:
    # signed-note "Format": valid UTF-8 and no control characters other than newline.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    if any(ord(char) < 0x20 and char != "\n" for char in text):
        raise NoteError(f"{what} contains a control character")


def sign_note(body: str, signers: Sequence[Signer]) -> str:
    """The signed note: ``body``, a blank line, then one ``— <name> <base64(key id || sig)>`` per signer.

    The signed message is exactly the UTF-8 body, final newline included (C2SP signed-note "Format").
    """
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_note_text(body, "note text")
    if not signers:
        raise NoteError("a note needs at least one signer")
    message = body.encode("utf-8")
    lines: list[str] = []
    seen: set[tuple[str, bytes]] = set()
    for signer in signers:
        if not _valid_name(signer.name):
            raise NoteError(f"invalid signer name {signer.name!r}")
        identity = (signer.name, key_id(signer.name, signer.public_key))
        if identity in seen:
            continue
        seen.add(identity)
        signature = signer.sign(message)
        if len(signature) != ED25519_SIGNATURE_SIZE:
            raise NoteError(f"signer {signer.name} returned a {len(signature)}-byte signature")
        encoded = base64.b64encode(identity[1] + signature).decode("ascii")
        lines.append(f"{SIGNATURE_PREFIX}{signer.name} {encoded}\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signatures")
    return body + "\n" + "".join(lines)


# One branch per rule of the C2SP signed-note format, in the order the spec states them.
def open_note(note: str, verifiers: Sequence[Verifier]) -> tuple[str, list[Verifier]]:  # noqa: C901
    """Split and verify a C2SP signed note; return its text and the trusted keys whose signatures verify.

    Signatures by unknown keys are ignored; a known key's bad signature, or no verifying trusted
    signature at all, rejects the note (signed-note "Signatures").
    """
    if not isinstance(note, str):
        raise NoteError("a note must be text")
    _check_note_text(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: signature lines must each end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        identity = (verifier.name, verifier.key_id)
        other = known.get(identity)
        if other is not None and other.public_key != verifier.public_key:
            raise NoteError(f"ambiguous key {verifier.name}+{verifier.key_id.hex()}")
        known[identity] = verifier
    verified: list[Verifier] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed note: signature line {line[:40]!r} does not start with an em dash")
        name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not space or not _valid_name(name) or " " in encoded:
            raise NoteError(f"malformed note: bad signature line {line[:40]!r}")
        try:
            raw = _strict_b64decode(encoded)
        except ValueError as exc:
            raise NoteError(f"malformed note: signature by {name}: {exc}") from None
        if len(raw) <= KEY_ID_SIZE:
            raise NoteError(f"malformed note: signature by {name} is too short")
        signer = known.get((name, raw[:KEY_ID_SIZE]))
        if signer is None:
            continue  # a witness cosignature or a key we were not told to trust
        if not signer.verify(text.encode("utf-8"), raw[KEY_ID_SIZE:]):
            raise NoteError(f"invalid signature for key {name}+{raw[:KEY_ID_SIZE].hex()}")
        if signer not in verified:
            verified.append(signer)
    if not verified:
        raise NoteError("no signature by a trusted key")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size and RFC 9162 root hash, plus opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise ValueError("checkpoint origin must be one non-empty line")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
            raise ValueError(f"checkpoint size must be a non-negative integer, got {self.size!r}")
        if len(self.root) != ROOT_SIZE:
            raise ValueError(f"checkpoint root must be {ROOT_SIZE} bytes, got {len(self.root)}")
        for line in self.extensions:
            if not line or "\n" in line:
                raise ValueError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text: origin, decimal size, base64 root, extension lines, each ending in newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint body strictly (C2SP tlog-checkpoint "Note text")."""
        if not body.endswith("\n"):
            raise ValueError("checkpoint body must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise ValueError("checkpoint body needs origin, size and root lines")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise ValueError("checkpoint origin is empty")
        if not _SIZE_RE.fullmatch(size_text) or len(size_text) > 20:
            raise ValueError(f"checkpoint size {size_text[:30]!r} is not a decimal without leading zeros")
        try:
            root = _strict_b64decode(root_text)
        except ValueError as exc:
            raise ValueError(f"checkpoint root: {exc}") from None
        if len(root) != ROOT_SIZE:
            raise ValueError(f"checkpoint root must be {ROOT_SIZE} bytes, got {len(root)}")
        if any(not line for line in extensions):
            raise ValueError("checkpoint extension lines must be non-empty")
        return cls(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signers: Sequence[Signer]) -> str:
    """The checkpoint as a signed note."""
    return sign_note(cp.body(), signers)


def verify_checkpoint(note: str, verifiers: Sequence[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Open a signed checkpoint with trusted keys; raise NoteError unless it verifies and parses."""
    text, _ = open_note(note, verifiers)
    try:
        checkpoint = Checkpoint.parse(text)
    except ValueError as exc:
        raise NoteError(f"malformed checkpoint: {exc}") from None
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint


__all__ = [
    "Checkpoint",
    "Ed25519Signer",
    "NoteError",
    "Signer",
    "Verifier",
    "key_id",
    "open_note",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
    "verify_checkpoint",
]
