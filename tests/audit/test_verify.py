"""The offline verifier: tamper drills naming the first bad index, bundles, and the CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from audit.checkpoint import Checkpoint, Ed25519Signer, Verifier, sign_checkpoint, sign_note
from audit.jcs import canonical_json
from audit.merkle import (
    CompactRange,
    NodeId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from audit.verify import (
    GENESIS_PREV,
    BundleError,
    VerifyResult,
    load_verifiers,
    verify_bundle,
    verify_log,
    write_bundle,
)

ROOT_DIR = Path(__file__).resolve().parents[2]
ORIGIN = "audit.test/log"
SIGNER = Ed25519Signer.generate(ORIGIN)
VKEY = SIGNER.verifier_key
VERIFIERS = [Verifier.parse(VKEY)]
SIZE = 50
CHECKPOINT_SIZES = (10, 20, 35, 50)


# --- a real log ------------------------------------------------------------------------------------
def make_entry(index: int, prev: str, action: str = "model.update", **data: Any) -> bytes:
    body = {
        "v": 1,
        "index": index,
        "timestamp": f"2025-03-01T12:{index // 60 % 60:02d}:{index % 60:02d}.000000Z",
        "actor": {"type": "user", "id": f"user-{index % 7}"},
        "action": action,
        "target": {"type": "model_version", "id": f"mv-{index}"},
        "data": {"n": index, "index": index + 1000, "note": "é" * (index % 3), **data},
        "request_id": None if index % 4 else f"req-{index}",
        "prev": prev,
    }
    return canonical_json(body)


def build_log(size: int = SIZE, start: Sequence[bytes] = (), action: str = "model.update") -> list[bytes]:
    entries = list(start)
    for index in range(len(entries), size):
        prev = hashlib.sha256(entries[-1]).hexdigest() if entries else GENESIS_PREV
        entries.append(make_entry(index, prev, action))
    return entries


def sign_at(entries: Sequence[bytes], size: int, signer: Ed25519Signer = SIGNER) -> str:
    root = root_from_leaf_hashes([leaf_hash(entry) for entry in entries[:size]])
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), [signer])


def record_of(entries: Sequence[bytes], size: int = SIZE) -> bytes:
    return b"".join(leaf_hash(entry) for entry in entries[:size])


def nodes_of(entries: Sequence[bytes]) -> dict[NodeId, bytes]:
    tree = CompactRange()
    nodes: dict[NodeId, bytes] = {}
    for entry in entries:
        nodes.update(tree.append(leaf_hash(entry)))
    return nodes


LOG = build_log()
NOTES = [sign_at(LOG, size) for size in CHECKPOINT_SIZES]
RECORD = record_of(LOG)


def check(
    entries: Sequence[bytes],
    *,
    notes: Sequence[str] = NOTES,
    record: bytes | None = RECORD,
    **options: Any,
) -> VerifyResult:
    # A generator, as the database side streams them.
    return verify_log(
        (entry for entry in entries),
        checkpoints=notes,
        verifiers=VERIFIERS,
        leaf_hashes=record,
        origin=ORIGIN,
        **options,
    )


# --- tamper drills ---------------------------------------------------------------------------------
def change_one_byte(entries: list[bytes]) -> int:
    entries[17] = entries[17].replace(b"model.update", b"model.updatf")
    return 17


def change_the_index_field(entries: list[bytes]) -> int:
    entries[17] = entries[17].replace(b'"index":17,', b'"index":18,')
    return 17


def change_the_prev_field(entries: list[bytes]) -> int:
    raw = entries[17]
    at = raw.index(b'"prev":"') + len(b'"prev":"')
    entries[17] = raw[:at] + (b"1" if raw[at : at + 1] == b"0" else b"0") + raw[at + 1 :]
    return 17


def break_the_json(entries: list[bytes]) -> int:
    entries[17] = entries[17][:-1]
    return 17


def delete_one(entries: list[bytes]) -> int:
    del entries[11]
    return 11


def insert_one(entries: list[bytes]) -> int:
    # A forged entry 8 that links to entry 7; the originals keep their own index and prev fields.
    forged = make_entry(8, hashlib.sha256(entries[7]).hexdigest(), "user.create")
    entries.insert(8, forged)
    return 8


def insert_a_blank_line(entries: list[bytes]) -> int:
    entries.insert(8, b"")
    return 8


def swap_two(entries: list[bytes]) -> int:
    entries[4], entries[21] = entries[21], entries[4]
    return 4


def swap_neighbours(entries: list[bytes]) -> int:
    entries[30], entries[31] = entries[31], entries[30]
    return 30


def truncate_tail(entries: list[bytes]) -> int:
    del entries[25:]
    return 25


def truncate_after_the_last_checkpoint_but_one(entries: list[bytes]) -> int:
    del entries[40:]
    return 40


def rewrite_a_middle_entry_and_rechain(entries: list[bytes]) -> int:
    # An attacker who rewrites entry 23 and re-links everything after it.
    entries[:] = build_log(SIZE, entries[:23], action="model.delete")
    return 23


DRILLS: list[Callable[[list[bytes]], int]] = [
    change_one_byte,
    change_the_index_field,
    change_the_prev_field,
    break_the_json,
    delete_one,
    insert_one,
    insert_a_blank_line,
    swap_two,
    swap_neighbours,
    truncate_tail,
    truncate_after_the_last_checkpoint_but_one,
]


def test_the_untouched_log_verifies() -> None:
    result = check(LOG)
    assert result.ok, result.reason
    assert (result.entries, result.verified_tree_size, result.checkpoints_verified) == (SIZE, SIZE, 4)
    assert result.first_bad_index is None
    assert result.verified_root == root_from_leaf_hashes([leaf_hash(entry) for entry in LOG])


def test_the_untouched_log_verifies_without_the_leaf_hash_record() -> None:
    result = check(LOG, record=None)
    assert result.ok, result.reason
    assert result.verified_tree_size == SIZE


@pytest.mark.parametrize("with_record", [True, False], ids=["record", "chain-only"])
@pytest.mark.parametrize("drill", DRILLS, ids=[drill.__name__ for drill in DRILLS])
def test_each_tamper_drill_names_the_first_bad_index(
    drill: Callable[[list[bytes]], int], with_record: bool
) -> None:
    entries = list(LOG)
    expected = drill(entries)
    result = check(entries, record=RECORD if with_record else None)
    assert not result.ok
    assert result.first_bad_index == expected, result.reason


def test_it_names_the_deleted_entry_index() -> None:
    entries = list(LOG)
    del entries[11]
    result = check(entries, record=None)
    assert (result.first_bad_index, result.ok) == (11, False)
    assert "entry 11 is missing" in result.reason


def test_a_rechained_rewrite_is_pinned_by_the_record_and_bounded_without_it() -> None:
    entries = list(LOG)
    rewrite_a_middle_entry_and_rechain(entries)
    assert check(entries).first_bad_index == 23
    # The chain is consistent, so only the checkpoint root at 35 catches it: the bound is the last
    # verified checkpoint (20), and the reason says so.
    bounded = check(entries, record=None)
    assert bounded.first_bad_index == 20
    assert "do not hash to the root" in bounded.reason
    assert bounded.verified_tree_size == 20


def test_a_changed_last_entry_is_pinned_by_the_record() -> None:
    entries = list(LOG)
    entries[49] = entries[49].replace(b"model.update", b"model.updatE")
    result = check(entries)
    assert result.first_bad_index == 49
    assert "leaf-hash record" in result.reason
    assert check(entries, record=None).first_bad_index == 35  # chain-only: bounded by checkpoint 35


@pytest.mark.parametrize("k", [40, 30])
def test_a_tail_rewritten_from_k_and_resigned_with_another_key_names_k(k: int) -> None:
    attacker = Ed25519Signer.generate(ORIGIN)
    entries = build_log(SIZE, LOG[:k], action="model.delete")
    notes = [*NOTES[:-1], sign_at(entries, SIZE, attacker)]
    result = check(entries, notes=notes)
    assert not result.ok
    assert result.first_bad_index == k, result.reason
    assert "checkpoint #4 (claims tree size 50) is not trusted" in result.reason
    assert result.verified_tree_size == (35 if k > 35 else 20)


def test_a_resigned_tail_that_grew_is_still_pinned() -> None:
    attacker = Ed25519Signer.generate(ORIGIN)
    entries = build_log(SIZE + 5, LOG[:42], action="model.delete")
    notes = [*NOTES, sign_at(entries, SIZE + 5, attacker)]
    result = check(entries, notes=notes)
    assert result.first_bad_index == 42


def test_a_checkpoint_signed_only_by_an_unknown_key_is_a_failure_without_an_index() -> None:
    stranger = Ed25519Signer.generate(ORIGIN)
    result = check(LOG, notes=[*NOTES, sign_at(LOG, SIZE, stranger)])
    assert not result.ok
    assert result.first_bad_index is None
    assert "no signature by a trusted key" in result.reason
    assert result.verified_tree_size == SIZE


def test_a_checkpoint_with_a_bad_signature_is_a_failure() -> None:
    body, _, signature = NOTES[1].rpartition(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 1
    broken = body + " " + base64.b64encode(bytes(raw)).decode() + "\n"
    result = check(LOG, notes=[NOTES[0], broken, *NOTES[2:]])
    assert not result.ok
    assert result.first_bad_index is None
    assert "checkpoint #2" in result.reason and "invalid signature" in result.reason
    assert result.checkpoints_verified == 3


def test_a_witness_cosignature_does_not_disturb_verification() -> None:
    witness = Ed25519Signer.generate("witness.test/w")
    cosigned = sign_note(
        Checkpoint(ORIGIN, SIZE, root_from_leaf_hashes(list(_leaves(LOG)))).body(), [SIGNER, witness]
    )
    result = check(LOG, notes=[*NOTES[:-1], cosigned])
    assert result.ok, result.reason


def _leaves(entries: Sequence[bytes]) -> list[bytes]:
    return [leaf_hash(entry) for entry in entries]


def test_a_checkpoint_for_another_origin_is_not_trusted() -> None:
    other = sign_checkpoint(
        Checkpoint("other.test/log", 10, root_from_leaf_hashes(_leaves(LOG[:10]))), [SIGNER]
    )
    result = check(LOG, notes=[*NOTES, other])
    assert not result.ok and result.first_bad_index is None
    assert "origin" in result.reason


def test_a_corrupted_leaf_hash_record_is_reported_and_not_used() -> None:
    record = bytearray(RECORD)
    record[5 * 32] ^= 0xFF
    result = check(LOG, record=bytes(record))
    assert not result.ok
    assert result.first_bad_index is None
    assert "leaf-hash record does not match trusted checkpoint of tree size 10" in result.reason


def test_a_record_longer_than_the_log_means_entries_were_removed() -> None:
    result = check(LOG[:50], notes=NOTES[:3], record=RECORD)
    assert result.ok
    result = check(LOG[:45], notes=NOTES[:3], record=RECORD)
    assert result.first_bad_index == 45


def test_entries_after_the_last_checkpoint_are_chain_checked() -> None:
    entries = build_log(SIZE + 3)
    assert check(entries).ok
    entries[SIZE + 1] = entries[SIZE + 1].replace(b"model.update", b"model.upd4te")
    assert check(entries).first_bad_index == SIZE + 1


def test_consistency_proofs_are_checked_against_trusted_checkpoints() -> None:
    nodes = nodes_of(LOG)
    proof = [base64.b64encode(node).decode() for node in consistency_proof(20, 50, nodes)]
    good = {"first": 20, "second": 50, "proof": proof}
    assert check(LOG, consistency_proofs=[good]).ok
    bad = dict(good, proof=[base64.b64encode(bytes(32)).decode(), *proof[1:]])
    result = check(LOG, consistency_proofs=[bad])
    assert not result.ok and "consistency proof #1 (20 -> 50) fails" in result.reason


# --- partial bundles -------------------------------------------------------------------------------
def partial(indices: Sequence[int], size: int = 35) -> tuple[list[bytes], list[dict[str, Any]]]:
    nodes = nodes_of(LOG)
    proofs = [
        {
            "index": index,
            "tree_size": size,
            "proof": [base64.b64encode(node).decode() for node in inclusion_proof(index, size, nodes)],
        }
        for index in indices
    ]
    return [LOG[index] for index in indices], proofs


def test_a_partial_bundle_with_inclusion_proofs_verifies() -> None:
    entries, proofs = partial([3, 7, 8, 20, 34])
    result = check(entries, record=None, inclusion_proofs=proofs, complete=False)
    assert result.ok, result.reason
    assert (result.entries, result.verified_tree_size) == (5, 35)


def test_a_changed_entry_in_a_partial_bundle_is_named() -> None:
    entries, proofs = partial([3, 7, 8, 20])
    entries[2] = entries[2].replace(b"model.update", b"model.Update")
    result = check(entries, record=None, inclusion_proofs=proofs, complete=False)
    assert result.first_bad_index == 8
    assert "not in the trusted tree of size 35" in result.reason


def test_a_partial_entry_without_a_proof_or_against_an_untrusted_size_fails() -> None:
    entries, proofs = partial([3, 7, 8])
    result = check(entries, record=None, inclusion_proofs=proofs[:2], complete=False)
    assert (result.first_bad_index, "no inclusion proof" in result.reason) == (8, True)
    entries, proofs = partial([3, 7], size=33)
    result = check(entries, record=None, inclusion_proofs=proofs, complete=False)
    assert result.first_bad_index == 3 and "no trusted checkpoint" in result.reason


# --- bundles and the command line ------------------------------------------------------------------
def write(path: Path, entries: Sequence[bytes] = LOG, **overrides: Any) -> Path:
    options: dict[str, Any] = {
        "origin": ORIGIN,
        "kind": "full",
        "entries": iter(entries),
        "checkpoints": NOTES,
        "keys": [f"{VKEY} valid_from=2025-01-01T00:00:00Z"],
        "leaf_hashes": RECORD,
    }
    options.update(overrides)
    write_bundle(path, **options)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "audit.verify", *args],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_bundle_layout_is_the_documented_one(tmp_path: Path) -> None:
    bundle = write(tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("audit/manifest.json"))
        lines = archive.read("audit/entries.jsonl").split(b"\n")
        assert archive.getinfo("audit/entries.jsonl").compress_type == zipfile.ZIP_DEFLATED
    assert names == {
        "audit/manifest.json",
        "audit/entries.jsonl",
        "audit/checkpoints.json",
        "audit/keys.txt",
        "audit/leaf-hashes.bin",
    }
    assert (
        manifest["format"] == "audit-bundle/1" and manifest["entries"] == SIZE and manifest["kind"] == "full"
    )
    assert manifest["created"].endswith("Z")
    assert lines[:-1] == LOG and lines[-1] == b""


def test_the_cli_accepts_a_good_bundle(tmp_path: Path) -> None:
    done = run_cli(str(write(tmp_path / "bundle.zip")), "--key", VKEY)
    assert done.returncode == 0, done.stdout + done.stderr
    root = base64.b64encode(root_from_leaf_hashes(_leaves(LOG))).decode()
    assert done.stdout.startswith("OK:") and done.stdout.count("\n") == 1
    assert f"verified tree size {SIZE}" in done.stdout and root in done.stdout


def test_the_cli_names_the_first_bad_index_of_a_tampered_bundle(tmp_path: Path) -> None:
    entries = list(LOG)
    change_one_byte(entries)
    done = run_cli(str(write(tmp_path / "bundle.zip", entries)), "--key", VKEY)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL: first bad index 17: ")


def test_the_cli_reads_keys_from_a_file_with_comments(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    other = Ed25519Signer.generate("old.test/log").verifier_key
    keys.write_text(
        f"# published keys\n\n{other} valid_until=2024-12-31T00:00:00Z\n{VKEY} valid_from=2025-01-01\n"
    )
    done = run_cli(str(write(tmp_path / "bundle.zip")), "--key", str(keys))
    assert done.returncode == 0, done.stdout


def test_the_cli_trusts_only_the_keys_it_is_given(tmp_path: Path) -> None:
    stranger = Ed25519Signer.generate(ORIGIN).verifier_key
    done = run_cli(str(write(tmp_path / "bundle.zip")), "--key", stranger)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL: ") and "not trusted" in done.stdout


def entries_data_span(bundle: Path) -> tuple[int, int]:
    """Where the compressed entries start in the zip file, and how long they are."""
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("audit/entries.jsonl")
    header = bundle.read_bytes()[info.header_offset : info.header_offset + 30]
    # The local header's own name and extra lengths (its extra field differs from the directory's).
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def test_a_flipped_byte_in_the_zip_file_is_detected(tmp_path: Path) -> None:
    bundle = write(tmp_path / "bundle.zip")
    start, length = entries_data_span(bundle)
    data = bytearray(bundle.read_bytes())
    data[start + length // 2] ^= 0x10
    bundle.write_bytes(bytes(data))
    done = run_cli(str(bundle), "--key", VKEY)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL:")


def test_a_flipped_byte_anywhere_in_the_zip_fails_or_changes_no_content(tmp_path: Path) -> None:
    bundle = write(tmp_path / "bundle.zip")
    original = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    detected = 0
    for offset in range(0, len(original), 3):
        data = bytearray(original)
        data[offset] ^= 0x01
        bundle.write_bytes(bytes(data))
        try:
            result = verify_bundle(bundle, VERIFIERS)
        except BundleError:
            detected += 1  # the CRC-32, the deflate stream or a header cross-check gave it away
            continue
        if result.ok:
            # Only bits that carry no content can flip unnoticed: the deflate final-block flag, trailing
            # padding, and directory-only fields such as file attributes.
            with zipfile.ZipFile(bundle) as archive:
                assert {name: archive.read(name) for name in archive.namelist()} == contents, offset
        else:
            detected += 1
    assert detected > len(original) // 3 * 0.9


def test_the_cli_reads_a_directory_and_a_lineage_report_zip(tmp_path: Path) -> None:
    bundle = write(tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path / "dir")
    assert run_cli(str(tmp_path / "dir"), "--key", VKEY).returncode == 0
    assert run_cli(str(tmp_path / "dir" / "audit"), "--key", VKEY).returncode == 0
    report = tmp_path / "report.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(report, "w") as target:
        target.writestr("report/lineage.json", "{}")
        for name in source.namelist():
            target.writestr(f"report/{name}", source.read(name))
    done = run_cli(str(report), "--key", VKEY)
    # The CLI finds audit/ one level down; a report file no entry attests is then refused.
    assert done.returncode == 1, done.stdout
    assert "report/lineage.json is in the bundle but no entry attests its hash" in done.stdout


def test_the_cli_verifies_a_partial_bundle(tmp_path: Path) -> None:
    entries, proofs = partial([3, 7, 8, 20, 34])
    bundle = write(
        tmp_path / "partial.zip",
        entries,
        kind="partial",
        checkpoints=NOTES[:3],
        leaf_hashes=None,
        proofs={"inclusion": proofs, "consistency": []},
    )
    done = run_cli(str(bundle), "--key", VKEY)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(
    "args",
    [[], ["bundle.zip"], ["--key", "x"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run_cli(*args).returncode == 2


def test_an_unreadable_bundle_or_bad_key_fails_without_an_index(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    done = run_cli(str(junk), "--key", VKEY)
    assert (done.returncode, done.stdout.startswith("FAIL: unreadable bundle")) == (1, True)
    done = run_cli(str(write(tmp_path / "b.zip")), "--key", "not-a-key")
    assert done.returncode == 1 and done.stdout.startswith("FAIL: ")


def test_a_manifest_that_overstates_the_entries_fails(tmp_path: Path) -> None:
    bundle = write(tmp_path / "bundle.zip", LOG[:50])
    with zipfile.ZipFile(bundle) as source:
        files = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(files["audit/manifest.json"])
    manifest["entries"] = 60
    files["audit/manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(bundle, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)
    result = verify_bundle(bundle, VERIFIERS)
    assert (result.ok, result.first_bad_index) == (False, 50)


def test_load_verifiers_rejects_a_bad_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{VKEY}\nnot-a-key\n")
    with pytest.raises(ValueError, match=r"keys\.txt:2"):
        load_verifiers([str(keys)])


def test_write_bundle_refuses_an_entry_with_a_newline(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write(tmp_path / "bad.zip", [b"{}\n{}"])
    assert not list(tmp_path.iterdir())


def test_importing_the_verifier_pulls_in_no_django() -> None:
    code = (
        "import sys, audit.verify, audit.checkpoint, audit.merkle, audit.jcs; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT_DIR, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
