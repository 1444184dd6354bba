"""`manage.py audit verify` tells "verified up to N" from "nothing covered yet" and flags entries left
out of a checkpoint too long; a report bundle exported from the database fails offline, as a zip and as
a folder, when one of its files is changed, removed or added."""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import checkpoint_create
from audit.exporting import audit_proof_bundle
from audit.models import AuditEntry
from audit.services import Target, audit_record
from tests.audit.factories import append_entries, build_log, offline_verify, trusted_vkey

pytestmark = pytest.mark.django_db


def run_verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except SystemExit as exited:
        return int(exited.code or 0), out.getvalue().strip()
    return 0, out.getvalue().strip()


def test_it_says_nothing_covered_yet_with_exit_3_on_an_empty_log() -> None:
    assert not AuditEntry.objects.exists()

    status, line = run_verify()

    assert status == 3
    assert line.startswith("UNCOVERED: nothing covered yet: 0 entries"), line
    assert not AuditEntry.objects.exists()  # nothing is wrong, so no alert is recorded


def test_a_checkpoint_of_the_empty_log_still_covers_nothing() -> None:
    checkpoint_create()

    status, line = run_verify()

    assert (status, "nothing covered yet" in line) == (3, True), line


def test_entries_never_checkpointed_cover_nothing_and_are_flagged_once_past_the_period(
    settings: Any,
) -> None:
    settings.AUDIT_CHECKPOINT_EVERY_SECONDS = 1
    append_entries(5)

    fresh = run_verify()
    time.sleep(1.2)
    stale = run_verify()

    assert fresh[0] == 3 and fresh[1].startswith("UNCOVERED: nothing covered yet: 5 entries"), fresh
    assert "integrated but in no signed checkpoint" not in fresh[1]
    assert stale[0] == 3
    assert "entries 0..4 are integrated but in no signed checkpoint" in stale[1], stale[1]
    assert "past the checkpoint period of 1 s" in stale[1]


def test_it_says_verified_up_to_n_with_exit_0_when_every_entry_is_checkpointed() -> None:
    build_log((10, 20))

    status, line = run_verify()

    assert status == 0
    assert line.startswith("OK: verified up to 20: 20 entries, 2 trusted checkpoint(s) verified"), line


def test_a_fresh_uncheckpointed_tail_is_ok_and_a_stale_one_exits_4_naming_the_oldest_entry(
    settings: Any,
) -> None:
    settings.AUDIT_CHECKPOINT_EVERY_SECONDS = 1
    build_log((10,))
    append_entries(3)

    fresh = run_verify()
    time.sleep(1.2)
    stale = run_verify()
    checkpoint_create()
    caught_up = run_verify()

    assert fresh[0] == 0, fresh
    assert fresh[1].startswith("OK: verified up to 10: 13 entries")
    assert "entries 10..12 are not yet in a checkpoint (younger than the checkpoint period" in fresh[1]
    assert stale[0] == 4, stale
    assert stale[1].startswith("STALE: verified up to 10: 13 entries"), stale[1]
    assert "entries 10..12 are integrated but in no signed checkpoint; the oldest (index 10," in stale[1]
    assert caught_up[0] == 0 and caught_up[1].startswith("OK: verified up to 13: 13 entries"), caught_up


def test_the_command_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("audit", "verify", "--help")
    out = capsys.readouterr().out
    assert "exit status:" in out
    assert "3  UNCOVERED: nothing covered yet" in out and "4  STALE" in out


# --- a report bundle exported from the database, tampered as a zip and as a folder ----------------
REPORT = {
    "report.html": b"<html><body>lineage of credit v1</body></html>\n",
    "report.csv": b"node,type\nmodel:credit#1,model\n",
    "report.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
}


def export_report(out: Path) -> Path:
    """What a lineage-report export does: record the files' SHA-256s in one entry, then write a proof
    bundle of the entries behind the report and that export entry, with the files beside it."""
    build_log((10,))
    audit_record(
        actor=Actor.system("tests"),
        action=AuditAction.LINEAGE_REPORT_EXPORT,
        target=Target.of("lineage_report", "model:credit#1"),
        data={
            "format": "zip",
            "files": {name: hashlib.sha256(content).hexdigest() for name, content in REPORT.items()},
        },
    )
    audit_proof_bundle(out=out, indices=[3, 7, selectors.tree_size() - 1], extra_files=REPORT)
    return out


def rezip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return out


def flip_a_byte_in_the_pdf(folder: Path) -> str:
    data = bytearray((folder / "report.pdf").read_bytes())
    data[-2] ^= 0x01
    (folder / "report.pdf").write_bytes(bytes(data))
    return "report.pdf does not match the SHA-256 recorded in entry 10"


def delete_the_csv(folder: Path) -> str:
    (folder / "report.csv").unlink()
    return "report.csv is attested by entry 10 but is not in the bundle"


def add_an_unattested_file(folder: Path) -> str:
    (folder / "report.xlsx").write_bytes(b"PK not part of the export")
    return "report.xlsx is in the bundle but no entry attests its hash"


@pytest.mark.parametrize("drill", [flip_a_byte_in_the_pdf, delete_the_csv, add_an_unattested_file])
def test_an_exported_report_fails_offline_alike_as_a_zip_and_a_folder_naming_the_file(
    drill: Callable[[Path], str], tmp_path: Path
) -> None:
    bundle = export_report(tmp_path / "report.zip")
    vkey = trusted_vkey()
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    good_zip, good_folder = offline_verify(bundle, vkey), offline_verify(folder, vkey)

    message = drill(folder)
    bad_folder = offline_verify(folder, vkey)
    bad_zip = offline_verify(rezip(folder, tmp_path / "tampered.zip"), vkey)

    assert good_zip.returncode == 0, good_zip.stdout + good_zip.stderr
    assert "3 file(s) match their SHA-256 in entry 10 (lineage_report:model:credit#1)" in good_zip.stdout
    assert good_folder.stdout == good_zip.stdout and good_folder.returncode == 0
    assert bad_zip.returncode == 1, bad_zip.stdout + bad_zip.stderr
    assert bad_zip.stdout.startswith("FAIL: ") and message in bad_zip.stdout, bad_zip.stdout
    assert (bad_folder.returncode, bad_folder.stdout) == (bad_zip.returncode, bad_zip.stdout)


def test_a_full_audit_export_with_a_file_slipped_in_fails_offline(tmp_path: Path) -> None:
    build_log((10,))
    out = tmp_path / "audit.zip"
    call_command("audit", "export", "--out", str(out), stdout=StringIO())
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("report.html", REPORT["report.html"])

    done = offline_verify(out, trusted_vkey())

    assert done.returncode == 1
    assert "report.html is in the bundle but no entry attests its hash" in done.stdout
