"""OpenSSF model signing of every stored artifact, with the service's EC key, and its verification.

What is signed is a directory named ``model`` holding the artifact file(s) (``model.skops``,
``model.onnx``) and a ``provenance.json`` naming the model version node id, the training run (or who
uploaded it) and each file's SHA-256, so the signature itself says "trained here, run X". The bundle
is the ``model_signing`` package's own (a Sigstore bundle with a DSSE envelope), so its stock CLI
verifies it unchanged: ``model_signing verify key --signature model.sig --public_key key.pem model``.

The key is an EC P-256 PEM named by ``MODEL_SIGNING_KEY_FILE`` (the embedded default makes one under
``var/``; production requires it). Keys are named by the SHA-256 of their public key (DER); on
rotation the old public key stays in ``MODEL_SIGNING_KEYRING_DIR``, so older bundles still verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.env import write_private_file_once
from registry import storage
from registry.models import ArtifactFormat, ModelVersion

MODEL_DIR: Final = "model"
BUNDLE_NAME: Final = "model.sig"
PROVENANCE_NAME: Final = "provenance.json"
PROVENANCE_TYPE: Final = "https://governance.example/model-provenance/v1"
ARTIFACT_NAMES: Final = {ArtifactFormat.SKOPS: "model.skops", ArtifactFormat.ONNX: "model.onnx"}


class SignatureInvalid(Exception):
    """A signature bundle that is missing, made by an unknown key, or does not match the files."""


class Provenance(TypedDict):
    _type: str
    model_version: str
    run: str | None
    trained_here: bool
    uploaded_by: str | None
    artifact_format: str
    files: dict[str, str]  # file name -> SHA-256
    key_id: str
    signed_at: str


@dataclass(frozen=True)
class Signed:
    signature_storage_name: str
    provenance_storage_name: str
    key_id: str
    newly_stored: list[str] = field(default_factory=list)


# --- Keys -------------------------------------------------------------------------------------------------


def public_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the public key's DER SubjectPublicKeyInfo, hex: the id a model version records."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def key_generate() -> bytes:
    """A new EC P-256 private key as an unencrypted PKCS#8 PEM."""
    private = ec.generate_private_key(ec.SECP256R1())
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"MODEL_SIGNING_KEY_FILE={path} is not a usable PEM private key: {exc}"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ImproperlyConfigured(f"MODEL_SIGNING_KEY_FILE={path} must be an EC P-256 key")
    return key


def signing_key_path() -> Path:
    """The current private key's file; the embedded default writes one the first time it is needed."""
    path = Path(settings.MODEL_SIGNING_KEY_FILE)
    if not path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(
                f"MODEL_SIGNING_KEY_FILE={path} does not exist; run `manage.py model_signing_key generate`"
            )
        with contextlib.suppress(FileExistsError):
            write_private_file_once(path, key_generate())
    return path


def signing_public_key() -> ec.EllipticCurvePublicKey:
    return _load_private(signing_key_path()).public_key()


def trusted_public_keys() -> dict[str, bytes]:
    """Key id -> public PEM for every key whose signatures are accepted: the current one and the keyring's."""
    keys: dict[str, bytes] = {}
    keyring = Path(settings.MODEL_SIGNING_KEYRING_DIR)
    if keyring.is_dir():
        for pem_path in sorted(keyring.glob("*.pem")):
            with contextlib.suppress(ValueError, TypeError):
                loaded = serialization.load_pem_public_key(pem_path.read_bytes())
                if isinstance(loaded, ec.EllipticCurvePublicKey):
                    keys[key_id(loaded)] = public_pem(loaded)
    current = signing_public_key()
    keys[key_id(current)] = public_pem(current)
    return keys


def keyring_add(key: ec.EllipticCurvePublicKey) -> Path:
    """Keep a public key for verification (file named by its id); idempotent."""
    path = Path(settings.MODEL_SIGNING_KEYRING_DIR) / f"{key_id(key)}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(public_pem(key))
    return path


@transaction.atomic
def signing_key_rotate(*, actor: Actor, out: Path | None = None) -> tuple[str, str]:
    """Make a new signing key; returns ``(previous key id, new key id)``.

    1. The current public key is kept in the keyring, so every bundle it signed still verifies.
    2. The new private key replaces ``MODEL_SIGNING_KEY_FILE`` atomically, or, with ``out`` (a key held
       as a deployment secret), is written there for the operator to point ``MODEL_SIGNING_KEY_FILE`` at.
    3. One audit entry names both key ids.
    """
    previous = signing_public_key()
    keyring_add(previous)
    pem = key_generate()
    new_id = key_id(serialization.load_pem_private_key(pem, password=None).public_key())  # type: ignore[arg-type]
    target = Path(out) if out is not None else signing_key_path()
    if out is not None:
        if target.exists():
            raise FileExistsError(f"{target} exists; refusing to overwrite a signing key")
        write_private_file_once(target, pem)
    else:
        staged = target.with_name(f".{target.name}.rotating")
        staged.unlink(missing_ok=True)
        write_private_file_once(staged, pem)
        os.replace(staged, target)
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_SIGNING_KEY_ROTATE,
        target=Target.of("model_signing_key", new_id),
        data={"previous": key_id(previous), "key_id": new_id, "written_to": "out" if out else "key_file"},
    )
    return key_id(previous), new_id


# --- Signing ----------------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(storage.CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def provenance_build(
    *,
    node_id: str,
    run_node_id: str | None,
    uploaded_by: str | None,
    artifact_format: str,
    files: Mapping[str, Path],
    signer_key_id: str,
) -> Provenance:
    return {
        "_type": PROVENANCE_TYPE,
        "model_version": node_id,
        "run": run_node_id,
        "trained_here": run_node_id is not None and uploaded_by is None,
        "uploaded_by": uploaded_by,
        "artifact_format": artifact_format,
        "files": {name: _sha256_file(path) for name, path in sorted(files.items())},
        "key_id": signer_key_id,
        "signed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def directory_sign(model_dir: Path, bundle: Path) -> None:
    """Sign every file in ``model_dir`` with the service's key into ``bundle`` (the package's format)."""
    import model_signing

    model_signing.signing.Config().use_elliptic_key_signer(private_key=signing_key_path()).sign(
        model_dir, bundle
    )


def _store(path: Path, newly: list[str]) -> str:
    with path.open("rb") as handle, storage.spool(handle) as spooled:
        name, new = storage.save_spooled(spooled)
    if new:
        newly.append(name)
    return name


def version_sign(
    *,
    node_id: str,
    artifact_format: str,
    files: Mapping[str, Path],
    run_node_id: str | None = None,
    uploaded_by: str | None = None,
) -> Signed:
    """Sign a version's files (name in the signed directory -> local path) and store bundle and provenance.

    ``run_node_id`` without ``uploaded_by`` says the service trained it; an upload names its uploader.
    """
    public = signing_public_key()
    provenance = provenance_build(
        node_id=node_id,
        run_node_id=run_node_id,
        uploaded_by=uploaded_by,
        artifact_format=artifact_format,
        files=files,
        signer_key_id=key_id(public),
    )
    newly: list[str] = []
    with tempfile.TemporaryDirectory(prefix="governance-sign-") as work:
        model_dir = Path(work) / MODEL_DIR
        model_dir.mkdir()
        for name, path in files.items():
            shutil.copyfile(path, model_dir / name)
        (model_dir / PROVENANCE_NAME).write_bytes(json.dumps(provenance, indent=2, sort_keys=True).encode())
        bundle = Path(work) / BUNDLE_NAME
        directory_sign(model_dir, bundle)
        try:
            provenance_name = _store(model_dir / PROVENANCE_NAME, newly)
            bundle_name = _store(bundle, newly)
        except Exception:
            for name in newly:
                storage.discard(name)
            raise
    return Signed(bundle_name, provenance_name, key_id(public), newly)


# --- Verifying --------------------------------------------------------------------------------------------


def version_files(version: ModelVersion) -> dict[str, tuple[str, str]]:
    """The signed directory's model files: name -> (storage name, pinned SHA-256)."""
    files: dict[str, tuple[str, str]] = {}
    if version.artifact_format in ARTIFACT_NAMES and version.storage_name:
        name = ARTIFACT_NAMES[ArtifactFormat(version.artifact_format)]
        files[name] = (version.storage_name, version.artifact_sha256)
    if version.onnx_storage_name and "model.onnx" not in files:
        files["model.onnx"] = (version.onnx_storage_name, version.onnx_sha256)
    return files


def _copy_out(storage_name: str, target: Path) -> str:
    digest = hashlib.sha256()
    try:
        with default_storage.open(storage_name, "rb") as source, target.open("wb") as sink:
            for chunk in iter(lambda: source.read(storage.CHUNK_SIZE), b""):
                digest.update(chunk)
                sink.write(chunk)
    except FileNotFoundError as exc:
        raise SignatureInvalid(f"{target.name}: the stored bytes are missing") from exc
    return digest.hexdigest()


def version_materialise(version: ModelVersion, into: Path) -> Path:
    """Copy a version's signed directory (``into/model``) and bundle (``into/model.sig``) out of storage."""
    if not version.signature_storage_name or not version.provenance_storage_name:
        raise SignatureInvalid(f"{version.node_id} has no signature bundle from the service")
    model_dir = into / MODEL_DIR
    model_dir.mkdir(parents=True)
    for name, (storage_name, pinned) in version_files(version).items():
        actual = _copy_out(storage_name, model_dir / name)
        if actual != pinned:
            raise SignatureInvalid(f"{version.node_id}: {name} hashes to {actual}, but {pinned} was pinned")
    _copy_out(version.provenance_storage_name, model_dir / PROVENANCE_NAME)
    _copy_out(version.signature_storage_name, into / BUNDLE_NAME)
    return model_dir


def directory_verify(model_dir: Path, bundle: Path, public_key_pem: bytes) -> None:
    """Verify a signed directory with the stock verifier; raises SignatureInvalid saying what differs."""
    import model_signing

    with tempfile.NamedTemporaryFile(suffix=".pem") as key_file:
        key_file.write(public_key_pem)
        key_file.flush()
        try:
            model_signing.verifying.Config().use_elliptic_key_verifier(public_key=key_file.name).verify(
                model_dir, bundle
            )
        except Exception as exc:  # the package raises ValueError and crypto errors alike
            raise SignatureInvalid(f"the signature does not verify: {exc}") from exc


def version_verify(version: ModelVersion, workdir: Path) -> Path:
    """Materialise ``version`` into ``workdir`` and verify it; returns the verified ``model`` directory.

    1. Every file hashes to the SHA-256 the version pins.
    2. The signing key is one the service trusts (the current key or one kept after rotation).
    3. The bundle verifies over exactly these files (none added, none changed).
    4. The signed provenance names this version and these files.
    """
    model_dir = version_materialise(version, workdir)
    trusted = trusted_public_keys()
    pem = trusted.get(version.signing_key_id)
    if pem is None:
        raise SignatureInvalid(
            f"{version.node_id} was signed by key {version.signing_key_id or '(none)'}, "
            "not one this service trusts"
        )
    directory_verify(model_dir, workdir / BUNDLE_NAME, pem)
    provenance: dict[str, Any] = json.loads((model_dir / PROVENANCE_NAME).read_bytes())
    if provenance.get("model_version") != version.node_id:
        raise SignatureInvalid(
            f"the signed provenance names {provenance.get('model_version')!r}, not {version.node_id}"
        )
    pinned = {name: sha for name, (_, sha) in version_files(version).items()}
    if provenance.get("files") != pinned:
        raise SignatureInvalid(f"the signed provenance lists other files than {version.node_id} pins")
    return model_dir


# --- Reports ----------------------------------------------------------------------------------------------


def versions_signature_files(versions: list[ModelVersion]) -> dict[str, bytes]:
    """For an auditor's zip: each version's bundle and provenance, and the public keys that signed them.

    Names are ``signatures/<model>/<version>/model.sig`` (and ``provenance.json``) and
    ``signatures/keys/<key id>.pem``; the bundle's DSSE payload lists each signed file's SHA-256.
    """
    files: dict[str, bytes] = {}
    trusted = trusted_public_keys()
    for version in versions:
        if not version.signature_storage_name:
            continue
        folder = f"signatures/{version.model.name}/{version.version}"
        for name, storage_name in (
            (BUNDLE_NAME, version.signature_storage_name),
            (PROVENANCE_NAME, version.provenance_storage_name),
        ):
            # A file never written (or gone) is left out, not a failed export: the verifier then reports
            # the version's bundle or provenance as missing, which is the finding an auditor needs.
            if not storage_name or not default_storage.exists(storage_name):
                continue
            with default_storage.open(storage_name, "rb") as handle:
                files[f"{folder}/{name}"] = handle.read()
        if version.signing_key_id in trusted:
            files[f"signatures/keys/{version.signing_key_id}.pem"] = trusted[version.signing_key_id]
    return files
