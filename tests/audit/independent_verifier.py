"""Independent verifier for the audit log's transparency interface.

This module is written from the standards texts alone and deliberately imports
nothing from the project's ``audit`` package, so that the server's implementation
and this one check each other:

* RFC 9162 §2.1 (Merkle Tree Hash), §2.1.3.2 (verifying an inclusion proof) and
  §2.1.4.2 (verifying a consistency proof);
* C2SP ``signed-note`` (note layout, Ed25519 signature type 0x01, key IDs and
  verifier keys);
* C2SP ``tlog-checkpoint`` (checkpoint body: origin, tree size, root hash,
  optional extension lines).

The service is reached only through an injected :data:`Getter`, so tests can pass
Django's test client or ``urllib`` against a live server.  Only the standard
library and ``cryptography`` are used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Getter",
    "VerificationError",
    "VerifierKey",
    "fetch_and_verify",
    "leaf_hash",
    "mth",
    "node_hash",
    "parse_checkpoint",
    "parse_verifier_key",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]

Getter = Callable[[str], tuple[int, str, bytes]]
"""An HTTP GET: path with query string -> (status, content type, body)."""

HASH_SIZE = 32
ED25519_ALG = 0x01
EM_DASH_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
GENESIS_PREV = "0" * 64

API = "/api/v1/audit"


class VerificationError(AssertionError):
    """The service's audit log failed independent verification."""


# ---------------------------------------------------------------------------
# RFC 9162 §2.1 — Merkle Tree Hash
# ---------------------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d(0)}) = HASH(0x00 || d(0))``."""
    return _sha256(b"\x00" + leaf)


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: interior node ``HASH(0x01 || MTH(left) || MTH(right))``."""
    return _sha256(b"\x01" + left + right)


def _largest_power_of_two_below(n: int) -> int:
    """RFC 9162 §2.1.1: k is the largest power of two smaller than n (requires n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _mth_range(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 1:
        return leaf_hashes[lo]
    k = _largest_power_of_two_below(n)
    return node_hash(_mth_range(leaf_hashes, lo, lo + k), _mth_range(leaf_hashes, lo + k, hi))


def mth(leaf_hashes: Sequence[bytes], size: int | None = None) -> bytes:
    """RFC 9162 §2.1.1 Merkle Tree Hash of the first ``size`` leaves (default: all).

    Takes *leaf hashes* (``HASH(0x00 || d(i))``), not leaf data:

    * ``MTH({}) = HASH()`` — the hash of the empty string;
    * ``MTH({d(0)}) = HASH(0x00 || d(0))``;
    * for n > 1, with k the largest power of two < n,
      ``MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``.
    """
    n = len(leaf_hashes) if size is None else size
    if n < 0 or n > len(leaf_hashes):
        raise ValueError(f"size {n} outside 0..{len(leaf_hashes)}")
    if n == 0:
        return _sha256(b"")
    return _mth_range(leaf_hashes, 0, n)


# ---------------------------------------------------------------------------
# RFC 9162 §2.1.3.2 — verifying an inclusion proof
# ---------------------------------------------------------------------------


def verify_inclusion(
    leaf_index: int, tree_size: int, hash_: bytes, inclusion_path: Sequence[bytes], root_hash: bytes
) -> None:
    """Verify an inclusion proof exactly as RFC 9162 §2.1.3.2 lists the steps.

    ``hash_`` is the leaf hash ``HASH(0x00 || leaf)``.  Raises
    :class:`VerificationError` when the proof does not prove inclusion.
    """
    # 1. If leaf_index >= tree_size, then stop and fail the proof verification.
    if leaf_index < 0 or leaf_index >= tree_size:
        raise VerificationError(f"inclusion: leaf_index {leaf_index} not below tree_size {tree_size}")
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = leaf_index, tree_size - 1
    # 3. Set r to hash.
    r = hash_
    # 4. For each value p in the inclusion_path array:
    for p in inclusion_path:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError(f"inclusion: proof for leaf {leaf_index} in tree {tree_size} is too long")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally
            #     until either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        # Otherwise:
        else:
            # i. Set r to HASH(0x01 || r || p).
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 5. Compare sn to 0.  Compare r against the root_hash.  If sn is equal to 0
    #    and r and the root_hash are equal, then the log has proven the inclusion.
    if sn != 0:
        raise VerificationError(f"inclusion: proof for leaf {leaf_index} in tree {tree_size} is too short")
    if r != root_hash:
        raise VerificationError(
            f"inclusion: proof for leaf {leaf_index} in tree {tree_size} yields root {r.hex()}, "
            f"expected {root_hash.hex()}"
        )


# ---------------------------------------------------------------------------
# RFC 9162 §2.1.4.2 — verifying consistency between two tree heads
# ---------------------------------------------------------------------------


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, consistency_path: Sequence[bytes]
) -> None:
    """Verify a consistency proof exactly as RFC 9162 §2.1.4.2 lists the steps.

    The RFC's step list covers ``0 < first < second``.  For ``first == second``
    the proof (RFC 9162 §2.1.4.1, ``SUBPROOF(m, D[m], true) = {}``) is empty and
    consistency means the two hashes are equal; that case is checked directly.
    """
    if not 0 < first <= second:
        raise VerificationError(f"consistency: need 0 < first <= second, got {first}, {second}")
    if first == second:
        if consistency_path:
            raise VerificationError(f"consistency: proof for {first} -> {second} must be empty")
        if first_hash != second_hash:
            raise VerificationError(f"consistency: equal sizes {first} but roots differ")
        return
    path = list(consistency_path)
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not path:
        raise VerificationError(f"consistency: empty proof for {first} -> {second}")
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
    if _is_power_of_two(first):
        path.insert(0, first_hash)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        # a. If sn is 0, then stop the iteration and fail the proof verification.
        if sn == 0:
            raise VerificationError(f"consistency: proof for {first} -> {second} is too long")
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # ii. If LSB(fn) is not set, then right-shift both fn and sn equally
            #     until either LSB(fn) is set or fn is 0.
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        # Otherwise:
        else:
            # i. Set sr to HASH(0x01 || sr || c).
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn >>= 1
        sn >>= 1
    # 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
    if sn != 0:
        raise VerificationError(f"consistency: proof for {first} -> {second} is too short")
    if fr != first_hash:
        raise VerificationError(
            f"consistency: proof for {first} -> {second} yields first root {fr.hex()}, "
            f"expected {first_hash.hex()}"
        )
    if sr != second_hash:
        raise VerificationError(
            f"consistency: proof for {first} -> {second} yields second root {sr.hex()}, "
            f"expected {second_hash.hex()}"
        )


# ---------------------------------------------------------------------------
# C2SP signed-note — verifier keys and Ed25519 signatures
# ---------------------------------------------------------------------------


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise VerificationError(f"{what}: invalid base64 {text!r}") from exc


def _check_key_name(name: str, what: str) -> None:
    """C2SP signed-note: a key name is non-empty UTF-8 without Unicode spaces or '+'."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise VerificationError(f"{what}: invalid key name {name!r}")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """C2SP signed-note: key ID = ``SHA-256(key name || 0x0A || signature type || public key)[:4]``."""
    return _sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key)[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A parsed C2SP signed-note Ed25519 verifier key ``<name>+<hex id>+<base64(0x01 || key)>``."""

    text: str
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Parse and self-check an Ed25519 verifier key (C2SP signed-note, "Verifier keys")."""
    # The name and the hex key id cannot contain '+', but standard base64 can.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise VerificationError(f"verifier key {vkey!r}: expected <name>+<hex id>+<base64 key>")
    name, hex_id, b64_key = parts
    _check_key_name(name, "verifier key")
    if len(hex_id) != 8 or any(ch not in "0123456789abcdef" for ch in hex_id):
        raise VerificationError(f"verifier key {vkey!r}: key id must be 8 lowercase hex digits")
    raw = _b64decode(b64_key, "verifier key")
    if len(raw) != 1 + 32 or raw[0] != ED25519_ALG:
        raise VerificationError(f"verifier key {vkey!r}: expected 0x01 || 32-byte Ed25519 public key")
    kid = key_id(name, ED25519_ALG, raw[1:])
    if kid.hex() != hex_id:
        raise VerificationError(f"verifier key {vkey!r}: key id should be {kid.hex()}, not {hex_id}")
    return VerifierKey(vkey, name, kid, Ed25519PublicKey.from_public_bytes(raw[1:]))


def verify_note(note: bytes, key: VerifierKey) -> str:
    """Verify a C2SP signed note against one trusted key and return its text.

    Per C2SP signed-note: the note is UTF-8 text ending in a newline, a blank
    line, then signature lines ``— <name> <base64(4-byte key id || signature)>``.
    The signature covers the text including its final newline.  Signatures by
    unknown keys are ignored; a signature by the known key that fails to verify
    rejects the note; at least one valid signature by the known key is required.
    """
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError("signed note: not valid UTF-8") from exc
    split = decoded.rfind("\n\n")
    if split < 0:
        raise VerificationError("signed note: no blank line separating text and signatures")
    text, sig_block = decoded[: split + 1], decoded[split + 2 :]
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise VerificationError("signed note: text contains control characters")
    if not sig_block.endswith("\n"):
        raise VerificationError("signed note: signature block does not end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"signed note: more than {MAX_SIGNATURES} signatures")
    verified = False
    for line in lines:
        if not line.startswith(EM_DASH_PREFIX):
            raise VerificationError(f"signed note: malformed signature line {line!r}")
        fields = line[len(EM_DASH_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise VerificationError(f"signed note: malformed signature line {line!r}")
        name, b64_sig = fields
        _check_key_name(name, "signed note signature")
        sig = _b64decode(b64_sig, "signed note signature")
        if len(sig) < 5:
            raise VerificationError(f"signed note: signature too short in {line!r}")
        if name != key.name or sig[:4] != key.key_id:
            continue  # unknown key: ignored, per signed-note
        if len(sig) != 4 + 64:
            raise VerificationError(f"signed note: Ed25519 signature by {name} has the wrong length")
        try:
            key.public_key.verify(sig[4:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise VerificationError(f"signed note: signature by trusted key {name} does not verify") from exc
        verified = True
    if not verified:
        raise VerificationError(f"signed note: no signature by trusted key {key.name}+{key.key_id.hex()}")
    return text


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> bytes:
    """Produce a C2SP signed note with one Ed25519 signature (used by :func:`_self_test`)."""
    if not text.endswith("\n"):
        raise ValueError("note text must end with a newline")
    pub = private_key.public_key().public_bytes_raw()
    sig = private_key.sign(text.encode("utf-8"))
    line = f"{EM_DASH_PREFIX}{name} {base64.b64encode(key_id(name, ED25519_ALG, pub) + sig).decode()}\n"
    return (text + "\n" + line).encode("utf-8")


def encode_verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """Encode an Ed25519 verifier key as C2SP signed-note describes (used by :func:`_self_test`)."""
    raw = public_key.public_bytes_raw()
    kid = key_id(name, ED25519_ALG, raw)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([ED25519_ALG]) + raw).decode()}"


# ---------------------------------------------------------------------------
# C2SP tlog-checkpoint
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A parsed C2SP tlog-checkpoint body."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...]


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (C2SP tlog-checkpoint, "Note text").

    Lines: origin (non-empty), tree size (ASCII decimal, no leading zeros, fits
    in uint64), root hash (base64 of 32 bytes), then zero or more non-empty
    extension lines; every line ends with a newline.
    """
    if not text.endswith("\n"):
        raise VerificationError("checkpoint: body does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise VerificationError("checkpoint: needs origin, tree size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise VerificationError("checkpoint: empty origin line")
    if (
        not size_text
        or any(ch not in "0123456789" for ch in size_text)
        or (len(size_text) > 1 and size_text[0] == "0")
    ):
        raise VerificationError(f"checkpoint: tree size {size_text!r} is not a canonical decimal")
    tree_size = int(size_text)
    if tree_size >= 1 << 64:
        raise VerificationError("checkpoint: tree size does not fit in 64 bits")
    root_hash = _b64decode(root_text, "checkpoint root hash")
    if len(root_hash) != HASH_SIZE:
        raise VerificationError(f"checkpoint: root hash is {len(root_hash)} bytes, not {HASH_SIZE}")
    if any(not ext for ext in extensions):
        raise VerificationError("checkpoint: empty extension line")
    return Checkpoint(origin, tree_size, root_hash, tuple(extensions))


# ---------------------------------------------------------------------------
# Talking to the service
# ---------------------------------------------------------------------------


def _get(get: Getter, path: str, media_type: str) -> bytes:
    status, content_type, body = get(path)
    if status != 200:
        raise VerificationError(f"GET {path}: HTTP {status}: {bytes(body)[:200]!r}")
    actual = content_type.split(";", 1)[0].strip().lower()
    if actual != media_type:
        raise VerificationError(f"GET {path}: content type {content_type!r}, expected {media_type}")
    return bytes(body)


def _get_json(get: Getter, path: str) -> dict[str, Any]:
    body = _get(get, path, "application/json")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise VerificationError(f"GET {path}: body is not JSON") from exc
    if not isinstance(data, dict):
        raise VerificationError(f"GET {path}: expected a JSON object")
    return data


def _int_field(data: dict[str, Any], field: str, where: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise VerificationError(f"{where}: field {field!r} is not an integer: {value!r}")
    return value


def _hash_list(data: dict[str, Any], where: str) -> list[bytes]:
    proof = data.get("proof")
    if not isinstance(proof, list) or not all(isinstance(h, str) for h in proof):
        raise VerificationError(f"{where}: 'proof' is not a list of base64 strings")
    hashes = [_b64decode(h, where) for h in proof]
    if any(len(h) != HASH_SIZE for h in hashes):
        raise VerificationError(f"{where}: proof contains a hash that is not {HASH_SIZE} bytes")
    return hashes


def _fetch_keys(get: Getter, trusted_vkey: str | None) -> VerifierKey:
    body = _get(get, f"{API}/public-key", "text/plain")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError("public-key: not valid UTF-8") from exc
    keys = [parse_verifier_key(line.split()[0]) for line in text.splitlines() if line.strip()]
    if not keys:
        raise VerificationError("public-key: no verifier keys published")
    if trusted_vkey is None:
        return keys[0]
    wanted = trusted_vkey.strip()
    for key in keys:
        if key.text == wanted:
            return key
    raise VerificationError(f"public-key: trusted key {wanted!r} is not among the published keys")


def _fetch_leaves(get: Getter, tree_size: int) -> list[bytes]:
    """Fetch the leaf bytes of entries [0, tree_size), following short pages."""
    leaves: list[bytes] = []
    while len(leaves) < tree_size:
        start = len(leaves)
        where = f"entries?start={start}&end={tree_size}"
        data = _get_json(get, f"{API}/{where}")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise VerificationError(f"{where}: 'entries' is not a list")
        if not entries:
            raise VerificationError(f"{where}: no entries returned, but the checkpoint has {tree_size}")
        if start + len(entries) > tree_size:
            raise VerificationError(f"{where}: returned entries beyond the requested end")
        for offset, entry in enumerate(entries):
            expected = start + offset
            if not isinstance(entry, dict):
                raise VerificationError(f"{where}: entry {expected} is not an object")
            if _int_field(entry, "index", where) != expected:
                raise VerificationError(f"{where}: entry at position {expected} has index {entry['index']}")
            leaf = entry.get("leaf")
            if not isinstance(leaf, str):
                raise VerificationError(f"{where}: entry {expected} has no base64 'leaf'")
            leaves.append(_b64decode(leaf, f"entry {expected} leaf"))
        nxt = data.get("next")
        if nxt is not None and nxt != len(leaves):
            raise VerificationError(f"{where}: 'next' is {nxt!r}, expected {len(leaves)}")
    return leaves


def _check_chain(leaves: Sequence[bytes]) -> None:
    """Each leaf is JSON with ``index`` = position and ``prev`` = hex SHA-256 of the previous leaf."""
    prev = GENESIS_PREV
    for i, leaf in enumerate(leaves):
        try:
            record = json.loads(leaf)
        except ValueError as exc:
            raise VerificationError(f"entry {i}: leaf bytes are not JSON") from exc
        if not isinstance(record, dict):
            raise VerificationError(f"entry {i}: leaf JSON is not an object")
        index = record.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index != i:
            raise VerificationError(f"entry {i}: leaf JSON has index {index!r}")
        if record.get("prev") != prev:
            raise VerificationError(f"entry {i}: leaf JSON has prev {record.get('prev')!r}, expected {prev}")
        prev = hashlib.sha256(leaf).hexdigest()


def fetch_and_verify(
    get: Getter, *, trusted_vkey: str | None = None, samples: int = 20, seed: int = 0
) -> dict[str, Any]:
    """Fetch the service's audit log through ``get`` and verify it end to end.

    1. Parse the published verifier keys (C2SP signed-note); trust ``trusted_vkey``
       (which must be published) or else the first key.
    2. Verify the checkpoint (C2SP tlog-checkpoint) is signed by the trusted key.
    3. Fetch all entries [0, tree_size), recompute the RFC 9162 §2.1.1 root and
       compare with the checkpoint; check the hash chain inside the leaves.
    4. Verify ``samples`` seeded-random inclusion proofs (RFC 9162 §2.1.3.2) and
       ``samples`` seeded-random consistency proofs (RFC 9162 §2.1.4.2), with
       every root computed locally from the entries.

    Returns ``{"tree_size", "root" (lowercase hex), "inclusion_checked",
    "consistency_checked"}``; raises :class:`VerificationError` on any failure.
    """
    key = _fetch_keys(get, trusted_vkey)
    text = verify_note(_get(get, f"{API}/checkpoint", "text/plain"), key)
    checkpoint = parse_checkpoint(text)
    n = checkpoint.tree_size

    leaves = _fetch_leaves(get, n)
    leaf_hashes = [leaf_hash(leaf) for leaf in leaves]
    root = mth(leaf_hashes)
    if root != checkpoint.root_hash:
        raise VerificationError(
            f"checkpoint root {checkpoint.root_hash.hex()} does not match the root {root.hex()} "
            f"recomputed from {n} entries"
        )
    _check_chain(leaves)

    rng = random.Random(seed)
    inclusion_checked = 0
    for index in rng.sample(range(n), min(samples, n)) if n else []:
        where = f"proof/inclusion?index={index}&tree_size={n}"
        data = _get_json(get, f"{API}/{where}")
        if _int_field(data, "index", where) != index or _int_field(data, "tree_size", where) != n:
            raise VerificationError(f"{where}: response is for a different index or tree size")
        verify_inclusion(index, n, leaf_hashes[index], _hash_list(data, where), checkpoint.root_hash)
        inclusion_checked += 1

    consistency_checked = 0
    for _ in range(samples if n else 0):
        first = rng.randint(1, n)
        second = rng.randint(first, n)
        where = f"proof/consistency?first={first}&second={second}"
        data = _get_json(get, f"{API}/{where}")
        if _int_field(data, "first", where) != first or _int_field(data, "second", where) != second:
            raise VerificationError(f"{where}: response is for a different pair of sizes")
        second_hash = checkpoint.root_hash if second == n else mth(leaf_hashes, second)
        verify_consistency(first, second, mth(leaf_hashes, first), second_hash, _hash_list(data, where))
        consistency_checked += 1

    return {
        "tree_size": n,
        "root": checkpoint.root_hash.hex(),
        "inclusion_checked": inclusion_checked,
        "consistency_checked": consistency_checked,
    }


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

_CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
# Roots of the Certificate Transparency reference tree for sizes 1..8.
_CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) — proof *generation*, used only to exercise the verifiers."""
    n = len(hashes)
    if n <= 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*_ref_path(m, hashes[:k]), mth(hashes[k:])]
    return [*_ref_path(m - k, hashes[k:]), mth(hashes[:k])]


def _ref_subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b) — used only to exercise the verifiers."""
    n = len(hashes)
    if m == n:
        return [] if complete else [mth(hashes)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*_ref_subproof(m, hashes[:k], complete), mth(hashes[k:])]
    return [*_ref_subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def _expect_failure(func: Callable[[], object], what: str) -> None:
    try:
        func()
    except VerificationError:
        return
    raise AssertionError(f"self-test: {what} was not rejected")


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"self-test: {what}")


def _fake_service(leaves: list[bytes], key: Ed25519PrivateKey, name: str, page: int) -> tuple[Getter, str]:
    """An in-memory service speaking the endpoints :func:`fetch_and_verify` uses."""
    from urllib.parse import parse_qs, urlsplit

    hashes = [leaf_hash(leaf) for leaf in leaves]
    n = len(leaves)
    vkey = encode_verifier_key(name, key.public_key())
    other = Ed25519PrivateKey.generate()
    body = f"{name}\n{n}\n{base64.b64encode(mth(hashes)).decode()}\n"
    note = sign_note(body, name, key)
    # A second signature by an unknown key must be ignored.
    note += sign_note(body, "witness.example", other).split(b"\n\n", 1)[1]

    def b64list(items: list[bytes]) -> list[str]:
        return [base64.b64encode(h).decode() for h in items]

    def get(path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        q = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
        route = parts.path.removeprefix(API + "/")
        if route == "public-key":
            return 200, "text/plain; charset=utf-8", f"{vkey} valid-from=0\n".encode()
        if route == "checkpoint":
            return 200, "text/plain; charset=utf-8", note
        if route == "entries":
            start, end = q["start"], min(q["end"], q["start"] + page, n)
            entries = [{"index": i, "leaf": base64.b64encode(leaves[i]).decode()} for i in range(start, end)]
            out: dict[str, Any] = {"entries": entries, "next": end if end < n else None}
        elif route == "proof/inclusion":
            i, size = q["index"], q["tree_size"]
            out = {"index": i, "tree_size": size, "proof": b64list(_ref_path(i, hashes[:size]))}
        elif route == "proof/consistency":
            m, size = q["first"], q["second"]
            out = {"first": m, "second": size, "proof": b64list(_ref_subproof(m, hashes[:size], True))}
        else:
            return 404, "text/plain", b"not found"
        return 200, "application/json", json.dumps(out).encode()

    return get, vkey


def _chain(count: int) -> list[bytes]:
    leaves: list[bytes] = []
    prev = GENESIS_PREV
    for i in range(count):
        leaf = json.dumps({"index": i, "prev": prev, "action": "demo"}, sort_keys=True).encode()
        leaves.append(leaf)
        prev = hashlib.sha256(leaf).hexdigest()
    return leaves


def _self_test() -> None:
    """Check the Merkle code against the CT reference tree, the note code by round trip,
    and :func:`fetch_and_verify` against an in-memory service."""
    # RFC 9162 §2.1.1 MTH against the Certificate Transparency reference tree.
    hashes = [leaf_hash(bytes.fromhex(h)) for h in _CT_LEAVES]
    _check(
        mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "empty tree hash",
    )
    for size, expected in enumerate(_CT_ROOTS, start=1):
        _check(mth(hashes, size).hex() == expected, f"MTH of the {size}-leaf reference tree")
    root8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    _check(mth(hashes).hex() == root8, "8-leaf root")

    # Published CT reference proofs in the 8-leaf tree.
    h = bytes.fromhex
    verify_inclusion(
        0,
        8,
        hashes[0],
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        h(_CT_ROOTS[7]),
    )
    verify_consistency(
        6,
        8,
        h(_CT_ROOTS[5]),
        h(_CT_ROOTS[7]),
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    )
    verify_consistency(
        2,
        5,
        h(_CT_ROOTS[1]),
        h(_CT_ROOTS[4]),
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    )

    # Every proof in trees up to 33 leaves verifies; tampered ones do not.
    big = [leaf_hash(i.to_bytes(4, "big")) for i in range(33)]
    for n in range(1, len(big) + 1):
        root = mth(big, n)
        for i in range(n):
            path = _ref_path(i, big[:n])
            verify_inclusion(i, n, big[i], path, root)
            _expect_failure(
                lambda i=i, n=n, p=path, r=root: verify_inclusion(i, n, big[i], [*p, r], r),
                "over-long inclusion proof",
            )
            if path:
                bad = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
                _expect_failure(
                    lambda i=i, n=n, b=bad, r=root: verify_inclusion(i, n, big[i], b, r),
                    "tampered inclusion proof",
                )
                _expect_failure(
                    lambda i=i, n=n, p=path, r=root: verify_inclusion(i, n, big[i], p[:-1], r),
                    "truncated inclusion proof",
                )
        _expect_failure(lambda n=n, r=root: verify_inclusion(n, n, big[0], [], r), "index == tree_size")
        for m in range(1, n + 1):
            proof = _ref_subproof(m, big[:n], True)
            verify_consistency(m, n, mth(big, m), root, proof)
            if m < n:
                _expect_failure(
                    lambda m=m, n=n, p=proof, r=root: verify_consistency(m, n, mth(big, m), r, p[:-1]),
                    "truncated consistency proof",
                )
                _expect_failure(
                    lambda m=m, n=n, p=proof, r=root: verify_consistency(m, n, mth(big, m), r, [*p, r]),
                    "over-long consistency proof",
                )
                _expect_failure(
                    lambda m=m, n=n, p=proof: verify_consistency(m, n, mth(big, m), mth(big, n - 1), p),
                    "consistency proof against the wrong second root",
                )

    # C2SP signed-note round trip and C2SP tlog-checkpoint parsing.
    name = "audit.example/log"
    priv = Ed25519PrivateKey.generate()
    vkey = encode_verifier_key(name, priv.public_key())
    key = parse_verifier_key(vkey)
    body = f"{name}\n8\n{base64.b64encode(h(_CT_ROOTS[7])).decode()}\nextension line\n"
    note = sign_note(body, name, priv)
    _check(verify_note(note, key) == body, "note round trip returns the text")
    checkpoint = parse_checkpoint(body)
    _check(
        (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, checkpoint.extensions)
        == (name, 8, h(_CT_ROOTS[7]), ("extension line",)),
        "checkpoint fields",
    )
    other = Ed25519PrivateKey.generate()
    foreign = sign_note(body, "witness.example", other).split(b"\n\n", 1)[1]
    _check(verify_note(note + foreign, key) == body, "unknown-key signature is ignored")
    _expect_failure(lambda: verify_note(note.replace(b"\n8\n", b"\n9\n"), key), "note with altered text")
    unsigned = sign_note(body, "witness.example", other)
    _expect_failure(lambda: verify_note(unsigned, key), "note without a trusted signature")
    impostor = sign_note(body, name, other)  # right name, wrong key: key id differs, so no trusted signature
    _expect_failure(lambda: verify_note(impostor, key), "note signed by another key under the trusted name")
    sig_line = note.split(b"\n\n", 1)[1]
    raw = base64.b64decode(sig_line.split(b" ")[-1])
    forged = (
        body.encode()
        + b"\n"
        + sig_line.rsplit(b" ", 1)[0]
        + b" "
        + base64.b64encode(raw[:4] + bytes(64))
        + b"\n"
    )
    _expect_failure(lambda: verify_note(forged, key), "bad signature carrying the trusted key id")
    _expect_failure(lambda: parse_verifier_key(vkey.replace("+", "+0", 1)[:-1]), "malformed verifier key")
    _expect_failure(lambda: parse_checkpoint(f"{name}\n08\n{body.split(chr(10))[2]}\n"), "leading-zero size")

    # fetch_and_verify against an in-memory service, with short pages.
    for count in (0, 1, 7, 1000, 1037):
        get, service_vkey = _fake_service(_chain(count), priv, name, page=1000 if count > 100 else 3)
        summary = fetch_and_verify(get, trusted_vkey=service_vkey, samples=20, seed=count)
        _check(summary["tree_size"] == count, "summary tree size")
        _check(summary["inclusion_checked"] == min(20, count), "inclusion samples")
        _check(summary["consistency_checked"] == (20 if count else 0), "consistency samples")
    _expect_failure(
        lambda: fetch_and_verify(get, trusted_vkey=vkey.replace(name, "x.example")), "untrusted vkey"
    )
    broken = _chain(12)
    broken[5] = broken[5].replace(b"demo", b"DEMO")
    get, service_vkey = _fake_service(broken, priv, name, page=4)
    _expect_failure(lambda: fetch_and_verify(get, trusted_vkey=service_vkey), "broken hash chain")


if __name__ == "__main__":
    _self_test()
