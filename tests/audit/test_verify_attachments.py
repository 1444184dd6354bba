"""The offline verifier on a report bundle: the files beside ``audit/`` are checked against the export
entry's SHA-256s, in a zip and in the same tree unzipped into a folder, with the same exit status and
the same line for both."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.merkle import inclusion_proof
from audit.verify import (
    EXIT_FAILED,
    EXIT_NOTHING_COVERED,
    EXIT_OK,
    EXIT_UNCOVERED,
    main,
    write_bundle,
)
from tests.audit.test_verify import (
    GENESIS_PREV,
    ORIGIN,
    VKEY,
    build_log,
    make_entry,
    nodes_of,
    record_of,
    sign_at,
)

REPORT = {
    "report.html": b"<html><body>credit v1</body></html>\n",
    "report.csv": b"node,type\nmodel:credit#1,model\n",
    "report.json": b'{"nodes": 3}\n',
}
SIZE = 40
EXPORT_INDEX = SIZE - 1


def _digests(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}


def _log(export_files: dict[str, bytes] = REPORT) -> list[bytes]:
    # An earlier export (entry 12) attested another report.html; the last export speaks for the bundle.
    entries = build_log(12)
    stale = {"report.html": hashlib.sha256(b"an older rendering").hexdigest()}
    entries.append(
        make_entry(12, hashlib.sha256(entries[-1]).hexdigest(), "lineage.report_export", files=stale)
    )
    entries = build_log(EXPORT_INDEX, entries)
    prev = hashlib.sha256(entries[-1]).hexdigest() if entries else GENESIS_PREV
    entries.append(
        make_entry(EXPORT_INDEX, prev, "lineage.report_export", format="zip", files=_digests(export_files))
    )
    return entries


LOG = _log()


def report_zip(path: Path, indices: tuple[int, ...] = (3, 12, EXPORT_INDEX), **files: bytes) -> Path:
    """What the service's lineage-report export writes: a partial bundle plus the attested files."""
    nodes = nodes_of(LOG)
    proofs = [
        {
            "index": index,
            "tree_size": SIZE,
            "proof": [base64.b64encode(node).decode() for node in inclusion_proof(index, SIZE, nodes)],
        }
        for index in indices
    ]
    write_bundle(
        path,
        origin=ORIGIN,
        kind="partial",
        entries=[LOG[index] for index in indices],
        checkpoints=[sign_at(LOG, SIZE)],
        keys=[VKEY],
        proofs={"inclusion": proofs, "consistency": []},
        extra_files=files or REPORT,
    )
    return path


def unzip(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    return folder


def rezip(folder: Path, bundle: Path) -> Path:
    """An attacker's zip of a changed folder: fresh CRCs and headers, so only the content can tell."""
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return bundle


def verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main([str(path), "--key", VKEY])
    return status, capsys.readouterr().out.strip()


def both_forms(tmp_path: Path, tamper: Callable[[Path], None]) -> tuple[Path, Path]:
    """The same tampering on an unzipped report folder and on a zip made from it."""
    folder = unzip(report_zip(tmp_path / "report.zip"), tmp_path / "folder")
    tamper(folder)
    return rezip(folder, tmp_path / "tampered.zip"), folder


def change_a_byte_in_html(folder: Path) -> None:
    data = bytearray((folder / "report.html").read_bytes())
    data[10] ^= 0x01
    (folder / "report.html").write_bytes(bytes(data))


def change_a_byte_in_csv(folder: Path) -> None:
    (folder / "report.csv").write_bytes(REPORT["report.csv"].replace(b"model", b"modem", 1))


def delete_the_csv(folder: Path) -> None:
    (folder / "report.csv").unlink()


def add_an_unattested_file(folder: Path) -> None:
    (folder / "extra.pdf").write_bytes(b"%PDF-1.7 not part of the export")


def add_an_unattested_file_in_a_subfolder(folder: Path) -> None:
    (folder / "notes").mkdir()
    (folder / "notes" / "readme.txt").write_text("trust me")


def add_a_file_inside_the_audit_folder(folder: Path) -> None:
    (folder / "audit" / "extra.json").write_text("{}")


def swap_the_html_for_the_older_attested_one(folder: Path) -> None:
    (folder / "report.html").write_bytes(b"an older rendering")


DRILLS: list[tuple[Callable[[Path], None], str]] = [
    (change_a_byte_in_html, "report.html does not match the SHA-256 recorded in entry 39"),
    (change_a_byte_in_csv, "report.csv does not match the SHA-256 recorded in entry 39"),
    (delete_the_csv, "report.csv is attested by entry 39 but is not in the bundle"),
    (add_an_unattested_file, "extra.pdf is in the bundle but no entry attests its hash"),
    (
        add_an_unattested_file_in_a_subfolder,
        "notes/readme.txt is in the bundle but no entry attests its hash",
    ),
    (add_a_file_inside_the_audit_folder, "audit/extra.json is in the bundle but no entry attests its hash"),
    (swap_the_html_for_the_older_attested_one, "report.html does not match the SHA-256 recorded in entry 39"),
]


def test_an_untouched_report_verifies_alike_as_a_zip_and_as_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = report_zip(tmp_path / "report.zip")
    folder = unzip(bundle, tmp_path / "folder")

    from_zip = verify(bundle, capsys)
    from_folder = verify(folder, capsys)

    assert from_zip[0] == EXIT_OK, from_zip[1]
    assert "3 file(s) match their SHA-256 in entry 39" in from_zip[1]
    assert from_folder == from_zip


@pytest.mark.parametrize(("drill", "message"), DRILLS, ids=[drill.__name__ for drill, _ in DRILLS])
def test_a_tampered_report_fails_alike_as_a_zip_and_as_a_folder_naming_the_file(
    drill: Callable[[Path], None], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tampered_zip, tampered_folder = both_forms(tmp_path, drill)

    from_zip = verify(tampered_zip, capsys)
    from_folder = verify(tampered_folder, capsys)

    assert from_zip[0] == EXIT_FAILED, from_zip[1]
    assert from_zip[1].startswith("FAIL: ") and message in from_zip[1], from_zip[1]
    assert from_folder == from_zip


def test_the_folder_may_hold_the_report_one_level_down_and_names_files_from_the_folder_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = report_zip(tmp_path / "report.zip")
    outer = tmp_path / "outer"
    unzip(bundle, outer / "lineage-credit")
    assert verify(outer, capsys)[0] == EXIT_OK
    (outer / "lineage-credit" / "report.json").unlink()

    status, line = verify(outer, capsys)

    assert status == EXIT_FAILED
    assert "lineage-credit/report.json is attested by entry 39 but is not in the bundle" in line


def test_a_report_nested_in_folders_reads_alike_as_a_zip_and_as_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outer = tmp_path / "outer"
    unzip(report_zip(tmp_path / "report.zip"), outer / "exports" / "lineage-credit")
    add_an_unattested_file(outer / "exports")  # beside the report root, not in it
    nested = rezip(outer, tmp_path / "nested.zip")

    from_zip = verify(nested, capsys)
    from_folder = verify(outer, capsys)

    assert from_zip == (EXIT_FAILED, "FAIL: exports/extra.pdf is in the bundle but no entry attests its hash")
    assert from_folder == from_zip


def test_the_audit_folder_alone_is_refused_for_a_report_because_its_files_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = unzip(report_zip(tmp_path / "report.zip"), tmp_path / "folder")

    status, line = verify(folder / "audit", capsys)

    assert status == EXIT_FAILED
    assert all(f"{name} is attested by entry 39 but is not in the bundle" in line for name in REPORT)


def test_a_zip_with_two_members_of_one_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = report_zip(tmp_path / "report.zip")
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(bundle, "a") as archive:
        archive.writestr("report.html", b"<html>forged</html>")

    status, line = verify(bundle, capsys)

    assert status == EXIT_FAILED
    assert "report.html appears 2 times in the zip" in line


def test_report_files_without_their_export_entry_are_all_unattested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The export entry (and its proof) left out: entry 12's older attestation does not take over.
    bundle = report_zip(tmp_path / "report.zip", (3, 12))

    status, line = verify(bundle, capsys)

    assert status == EXIT_FAILED
    assert "report.html does not match the SHA-256 recorded in entry 12" in line
    assert "report.csv is in the bundle but no entry attests its hash" in line


def test_a_full_bundle_attests_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The whole log holds the export entry, but a log export is not a report: a file beside it is stray.
    bundle = tmp_path / "full.zip"
    write_bundle(
        bundle,
        origin=ORIGIN,
        kind="full",
        entries=LOG,
        checkpoints=[sign_at(LOG, SIZE)],
        keys=[VKEY],
        leaf_hashes=record_of(LOG, SIZE),
        extra_files={"report.html": REPORT["report.html"]},
    )

    status, line = verify(bundle, capsys)

    assert status == EXIT_FAILED
    assert "report.html is in the bundle but no entry attests its hash" in line


def _full(path: Path, notes: list[str], size: int = SIZE) -> Path:
    write_bundle(
        path, origin=ORIGIN, kind="full", entries=LOG[:size], checkpoints=notes, keys=[VKEY], leaf_hashes=None
    )
    return path


def test_a_bundle_no_trusted_checkpoint_covers_exits_3_as_a_zip_and_as_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Anyone can write a consistent hash chain: without a signed checkpoint nothing is proven.
    bundle = _full(tmp_path / "unsigned.zip", [])
    folder = unzip(bundle, tmp_path / "folder")

    from_zip = verify(bundle, capsys)
    from_folder = verify(folder, capsys)

    assert from_zip == (EXIT_NOTHING_COVERED, from_zip[1])
    assert from_zip[1].startswith("UNCOVERED: nothing covered yet: 40 entries"), from_zip[1]
    assert from_folder == from_zip


def test_an_empty_bundle_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, line = verify(_full(tmp_path / "empty.zip", [], size=0), capsys)
    assert (status, line.startswith("UNCOVERED: nothing covered yet: 0 entries")) == (3, True), line


def test_entries_after_the_last_trusted_checkpoint_exit_4_naming_where_coverage_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _full(tmp_path / "tail.zip", [sign_at(LOG, 25)])

    status, line = verify(bundle, capsys)

    assert status == EXIT_UNCOVERED
    assert line.startswith("UNCOVERED: verified up to 25: 40 entries"), line
    assert "entries 25..39 are in no trusted checkpoint" in line


def test_the_command_line_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "3  UNCOVERED: nothing covered yet" in out


def test_a_renamed_file_is_missing_under_its_old_name_and_unattested_under_the_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = unzip(report_zip(tmp_path / "report.zip"), tmp_path / "folder")
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    (copy / "report.csv").rename(copy / "report-2.csv")

    status, line = verify(copy, capsys)

    assert status == EXIT_FAILED
    assert line == (
        "FAIL: report.csv is attested by entry 39 but is not in the bundle; "
        "report-2.csv is in the bundle but no entry attests its hash"
    )
