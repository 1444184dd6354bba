"""C2SP signed-note and tlog-checkpoint: the Go sumdb/note vectors, round trips and rejections."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoint import (
    Checkpoint,
    Ed25519Signer,
    NoteError,
    Signer,
    Verifier,
    key_id,
    open_note,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
)

# golang.org/x/mod/sumdb/note note_test.go: a published key pair, text and signed note.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"\u2014 PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"\u2014 EnochRoot {ENOCH_B64}\n"


def peter_signer() -> Ed25519Signer:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert seed[0] == 0x01
    return Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


# --- keys ------------------------------------------------------------------------------------------
def test_the_go_verifier_key_parses_and_its_key_id_is_recomputed() -> None:
    verifier = Verifier.parse(PETER_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id.hex() == "c74f20a3"
    assert key_id(verifier.name, verifier.public_key).hex() == "c74f20a3"
    assert verifier_key(verifier.name, verifier.public_key) == PETER_VKEY
    assert verifier.vkey == PETER_VKEY


def test_the_go_private_key_yields_the_published_verifier_key() -> None:
    assert peter_signer().verifier_key == PETER_VKEY


def test_every_single_character_change_to_a_verifier_key_is_rejected() -> None:
    # As in Go's TestNewVerifier: bump each byte in turn.
    for position in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1) + PETER_VKEY[position + 1 :]
        with pytest.raises(ValueError):
            Verifier.parse(mangled)


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        PETER_VKEY[:-1],
        PETER_VKEY + "+extra",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann\n+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        # From Go's tests: a wrong-length key and an unknown algorithm, each with an adjusted key id.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(ValueError):
        Verifier.parse(vkey)


def test_a_generated_key_round_trips_through_pem_and_verifies_its_signatures() -> None:
    signer = Ed25519Signer.generate("audit.example/log")
    again = Ed25519Signer.from_private_pem("audit.example/log", signer.private_pem())
    assert again.public_key == signer.public_key and len(signer.public_key) == 32
    assert signer.private_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    verifier = Verifier.parse(signer.verifier_key)
    signature = again.sign(b"hi")
    assert verifier.verify(b"hi", signature)
    assert not verifier.verify(b"ho", signature)
    assert not verifier.verify(b"hi", signature[:-1])
    _: Signer = signer  # the Protocol seam a KMS signer fills


@pytest.mark.parametrize("name", ["", "a+b", "a b", "tab\there", "new\nline", "nbsp\u00a0"])
def test_invalid_key_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        Ed25519Signer.generate(name)


# --- signed notes ----------------------------------------------------------------------------------
def test_signing_the_go_text_reproduces_the_published_note() -> None:
    assert sign_note(GO_TEXT, [peter_signer()]) == GO_TEXT + "\n" + PETER_SIG


def test_the_published_note_opens_and_an_unknown_cosignature_is_ignored() -> None:
    peter = Verifier.parse(PETER_VKEY)
    text, verified = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter])
    assert text == GO_TEXT
    assert verified == [peter]
    enoch = Verifier.parse(ENOCH_VKEY)
    _, both = open_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG, [peter, enoch])
    assert both == [peter, enoch]


def test_a_note_signed_only_by_unknown_keys_is_rejected() -> None:
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(GO_TEXT + "\n" + ENOCH_SIG, [Verifier.parse(PETER_VKEY)])
    with pytest.raises(NoteError):
        open_note(GO_TEXT + "\n" + PETER_SIG, [])


def test_a_bad_signature_by_a_known_key_rejects_the_note() -> None:
    broken = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(GO_TEXT + "\n" + broken, [Verifier.parse(PETER_VKEY)])


def test_an_altered_body_is_rejected() -> None:
    note = sign_note(GO_TEXT, [peter_signer()])
    with pytest.raises(NoteError):
        open_note(note.replace("cryptography", "cryptograph!"), [Verifier.parse(PETER_VKEY)])


def test_round_trip_with_a_witness_cosignature_by_an_unknown_key() -> None:
    log = Ed25519Signer.generate("audit.example/log")
    witness = Ed25519Signer.generate("witness.example/w1")
    note = sign_note("hello\nworld\n", [log, witness])
    assert note.count("\n\u2014 ") == 2
    text, verified = open_note(note, [Verifier.parse(log.verifier_key)])
    assert text == "hello\nworld\n"
    assert [v.name for v in verified] == ["audit.example/log"]


def test_a_same_name_key_with_a_different_id_is_treated_as_unknown() -> None:
    # signed-note: match on name AND key id; a rotated key signs under the same name.
    old = Ed25519Signer.generate("audit.example/log")
    new = Ed25519Signer.generate("audit.example/log")
    note = sign_note("body\n", [new])
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        open_note(note, [Verifier.parse(old.verifier_key)])
    assert (
        open_note(note, [Verifier.parse(old.verifier_key), Verifier.parse(new.verifier_key)])[0] == "body\n"
    )


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + f"\u2014 Bad Name {PETER_B64}\n",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace("\u2014", "-"),
        GO_TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"),
        GO_TEXT + "\n" + "\u2014 PeterNeumann AAAA\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
        GO_TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [Verifier.parse(PETER_VKEY)])


def test_up_to_a_hundred_signature_lines_are_accepted() -> None:
    text, _ = open_note(GO_TEXT + "\n" + PETER_SIG * 100, [Verifier.parse(PETER_VKEY)])
    assert text == GO_TEXT


def test_sign_note_refuses_text_without_a_final_newline() -> None:
    with pytest.raises(NoteError):
        sign_note("no newline", [peter_signer()])
    with pytest.raises(NoteError):
        sign_note("tab\there\n", [peter_signer()])


# --- checkpoints -----------------------------------------------------------------------------------
ROOT = bytes(range(32))


def test_checkpoint_body_has_the_c2sp_layout() -> None:
    checkpoint = Checkpoint("audit.example/log", 20852163, ROOT, ("ext one",))
    body = checkpoint.body()
    assert body == f"audit.example/log\n20852163\n{base64.b64encode(ROOT).decode()}\next one\n"
    assert Checkpoint.parse(body) == checkpoint


def test_a_signed_checkpoint_verifies_and_parses_back() -> None:
    signer = Ed25519Signer.generate("audit.example/log")
    checkpoint = Checkpoint("audit.example/log", 42, ROOT)
    note = sign_checkpoint(checkpoint, [signer])
    assert note.startswith(checkpoint.body() + "\n\u2014 audit.example/log ")
    assert verify_checkpoint(note, [Verifier.parse(signer.verifier_key)]) == checkpoint
    with pytest.raises(NoteError):
        verify_checkpoint(note, [Verifier.parse(signer.verifier_key)], origin="other.example/log")
    forged = note.replace("\n42\n", "\n43\n")
    with pytest.raises(NoteError):
        verify_checkpoint(forged, [Verifier.parse(signer.verifier_key)])


@pytest.mark.parametrize(
    "body",
    [
        "",
        "origin\n1\n",
        f"\n1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n01\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n+1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n 1\n{base64.b64encode(ROOT).decode()}\n",
        f"origin\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"origin\n1\n{base64.b64encode(ROOT).decode()}",
        f"origin\n1\n{base64.b64encode(ROOT).decode()}\n\n",
        f"origin\n1\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        "origin\n1\nnot base64!\n",
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(body: str) -> None:
    with pytest.raises(ValueError):
        Checkpoint.parse(body)


def test_an_empty_tree_checkpoint_has_size_zero() -> None:
    assert Checkpoint.parse(f"o\n0\n{base64.b64encode(ROOT).decode()}\n").size == 0
