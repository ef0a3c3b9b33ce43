"""Exports (exports/): the bundle's files, their quality (encoding, formula escaping,
determinism, order), the manifest and verify_export, filters, and failures."""

import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from cases.models import Case, EventKind
from casetracker.demo import uid
from exports import bundle, services
from exports.models import Channel, ExportLog, Scope
from exports.tables import tables
from figures import breakdowns
from people.models import Consent
from tests import partner_api
from tests.exports import (
    csv_records,
    csv_rows,
    export,
    files_of,
    json_cases,
    manifest_of,
    values,
    xlsx_sheets,
)
from tests.factories import (
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_source,
    person_named,
    publish,
)
from tests.partner_api import get_json

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

CSV = ["cases.csv", "events.csv", "names.csv", "sources.csv", "un_opinions.csv"]
DATA_FILES = [
    "cases.csv",
    "events.csv",
    "names.csv",
    "sources.csv",
    "un_opinions.csv",
    "cases.json",
    "cases.xlsx",
    "statistics.csv",
    "DATA-DICTIONARY.md",
]


def published_case(*names, summary="Detained.", **case_fields):
    person = person_named(*(names or ["Published Person"]), consent=Consent.PUBLIC_RECORD)
    case = make_case(person, public_summary=summary, **case_fields)
    make_event(case, kind=EventKind.DETAINED, date="2019/2023")
    return publish(case)


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    return Case.objects.get(uid=uid("case/kanat-yerezhep"))


@pytest.fixture
def cases():
    """Three published cases, one with names in three scripts and Chinese charges."""
    first = published_case("Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ")
    event = first.events.get()
    event.charges.add(
        make_charge("Splitting the state (test)", name_zh="分裂国家罪", article="103(1)")
    )
    source = make_source("Herald | report", published="2024-11-05")
    make_citation(source, event=event, locator="paragraph 4")
    make_citation(source, case=first, locator="paragraph 3")
    # Editing a published case sends it back to review: publish it again.
    return [publish(first), published_case("Aynur Tursun"), published_case("Serik Sadyk")]


# --- the story: the demo's seed case ---------------------------------------------------------


def test_the_demo_export_holds_the_seed_case_with_its_names_in_three_scripts(demo, tmp_path):
    bundle_path = export(tmp_path, "demo", "--zip")
    names = xlsx_sheets(files_of(bundle_path)["cases.xlsx"])["Names"]
    header, *rows = names
    scripts = {row[header.index("name")]: row[header.index("script")] for row in rows}
    assert scripts == {"Kanat Yerezhep": "Latn", "Қанат Ережеп": "Cyrl", "قانات ەرەجەپ": "Arab"}
    assert {row[0] for row in rows} == {demo.reference}


def test_verify_export_confirms_the_demo_bundle(demo, tmp_path):
    bundle_path = export(tmp_path, "demo", "--zip")
    out = StringIO()
    call_command("verify_export", str(bundle_path), stdout=out)
    assert "all 9 files match manifest.json" in out.getvalue()


def test_a_bundle_holds_every_file_of_the_issue(demo, tmp_path):
    assert sorted(files_of(export(tmp_path))) == sorted([*DATA_FILES, "manifest.json"])


# --- encoding --------------------------------------------------------------------------------


def test_csv_files_carry_a_byte_order_mark_and_every_script_intact(cases, tmp_path):
    files = files_of(export(tmp_path))
    for name in ["cases.csv", "events.csv", "names.csv", "sources.csv"]:
        assert files[name].startswith(b"\xef\xbb\xbf"), name
    names = [r["name"] for r in csv_records(files["names.csv"])]
    assert {"Қанат Ережеп", "قانات ەرەجەپ"} <= set(names)
    assert values(csv_records(files["events.csv"])[0]["charge_names_zh"]) == ["分裂国家罪"]


def test_csv_lines_end_in_crlf(cases, tmp_path):
    data = files_of(export(tmp_path))["cases.csv"]
    assert data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")


# --- manifest and verify_export --------------------------------------------------------------


def test_the_manifest_holds_the_sha256_size_and_records_of_every_file(cases, tmp_path):
    import hashlib

    bundle_path = export(tmp_path)
    manifest = manifest_of(bundle_path)
    files = files_of(bundle_path)
    assert list(manifest["files"]) == DATA_FILES
    for name, info in manifest["files"].items():
        assert info["sha256"] == hashlib.sha256(files[name]).hexdigest(), name
        assert info["bytes"] == len(files[name]), name
    records = {name: info["records"] for name, info in manifest["files"].items()}
    assert records["cases.csv"] == records["cases.json"] == 3
    assert records["events.csv"] == 3
    assert records["names.csv"] == 5
    assert records["sources.csv"] == 1
    assert records["cases.xlsx"]["Cases"] == 3 and records["cases.xlsx"]["Names"] == 5


def test_the_manifest_says_when_what_version_scope_and_filters(cases, tmp_path):
    manifest = manifest_of(export(tmp_path, "b", "--filter", "status=detained"))
    assert manifest["generated_at"].endswith("Z")
    assert manifest["software"] == {"name": "casetracker", "version": bundle.software_version()}
    assert manifest["software"]["version"] != "unknown"
    assert manifest["scope"] == "published"
    assert manifest["filters"] == {"status": ["detained"]}


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_verify_export_passes_an_untouched_bundle(cases, tmp_path, zipped):
    bundle_path = export(tmp_path, "b", *(["--zip"] if zipped else []))
    manifest, differences = bundle.verify(bundle_path)
    assert differences == []
    assert manifest["files"]["cases.csv"]["records"] == 3


def rewrite(path, name, change):
    target = path / name
    target.write_bytes(change(target.read_bytes()))


def verify_fails(path):
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_export", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_verify_export_catches_a_changed_byte(cases, tmp_path):
    bundle_path = export(tmp_path)
    rewrite(bundle_path, "events.csv", lambda data: data.replace(b"2019/2023", b"2019/2024", 1))
    report = verify_fails(bundle_path)
    assert "events.csv: SHA-256 is" in report
    assert "cases.csv" not in report


def test_verify_export_catches_a_removed_row(cases, tmp_path):
    bundle_path = export(tmp_path)
    rewrite(bundle_path, "names.csv", lambda data: b"\r\n".join([*data.split(b"\r\n")[:-2], b""]))
    report = verify_fails(bundle_path)
    assert "names.csv: 4 records, the manifest says 5 records." in report
    assert "names.csv: SHA-256 is" in report


def test_verify_export_catches_a_removed_case_in_the_json(cases, tmp_path):
    bundle_path = export(tmp_path)
    rewrite(bundle_path, "cases.json", lambda d: b"[\n" + d.split(b"\n", 2)[2])
    assert "cases.json: 2 records, the manifest says 3 records." in verify_fails(bundle_path)


def test_verify_export_catches_a_missing_file(cases, tmp_path):
    bundle_path = export(tmp_path)
    (bundle_path / "sources.csv").unlink()
    assert "sources.csv: missing." in verify_fails(bundle_path)


def test_verify_export_catches_an_extra_file(cases, tmp_path):
    bundle_path = export(tmp_path)
    (bundle_path / "notes.txt").write_text("added later")
    assert "notes.txt: not listed in the manifest." in verify_fails(bundle_path)


def test_verify_export_catches_a_missing_manifest(cases, tmp_path):
    bundle_path = export(tmp_path)
    (bundle_path / "manifest.json").unlink()
    assert "manifest.json is missing" in verify_fails(bundle_path)


def test_verify_export_catches_a_changed_byte_inside_a_zip(cases, tmp_path):
    bundle_path = export(tmp_path, "b", "--zip")
    files = files_of(bundle_path)
    files["cases.csv"] = files["cases.csv"].replace(b"Detained.", b"Released.", 1)
    changed = tmp_path / "changed.zip"
    with zipfile.ZipFile(changed, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    assert "cases.csv: SHA-256 is" in verify_fails(changed)


def test_verify_export_checks_the_manifest_against_the_hash_in_the_log(cases, tmp_path):
    bundle_path = export(tmp_path)
    logged = ExportLog.objects.get().manifest_sha256
    call_command("verify_export", str(bundle_path), "--manifest-sha256", logged, stdout=StringIO())
    manifest = json.loads((bundle_path / "manifest.json").read_text())
    manifest["files"]["cases.csv"]["records"] = 2
    (bundle_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError):
        call_command(
            "verify_export",
            str(bundle_path),
            "--manifest-sha256",
            logged,
            stdout=StringIO(),
            stderr=StringIO(),
        )


def change_manifest(bundle_path, change):
    manifest = json.loads((bundle_path / "manifest.json").read_text())
    change(manifest)
    (bundle_path / "manifest.json").write_text(json.dumps(manifest))


def test_verify_export_names_a_missing_generated_at_instead_of_crashing(cases, tmp_path):
    bundle_path = export(tmp_path)
    change_manifest(bundle_path, lambda manifest: manifest.pop("generated_at"))
    assert 'manifest.json: "generated_at" is missing' in verify_fails(bundle_path)


def test_verify_export_names_a_file_entry_that_is_not_an_object(cases, tmp_path):
    bundle_path = export(tmp_path)
    change_manifest(bundle_path, lambda manifest: manifest.update(files={"x": 5}))
    assert 'manifest.json: "files" → "x" is not an object' in verify_fails(bundle_path)


def test_verify_export_reports_a_manifest_that_is_not_json(cases, tmp_path):
    bundle_path = export(tmp_path)
    (bundle_path / "manifest.json").write_text("{not json")
    assert "manifest.json is not valid JSON" in verify_fails(bundle_path)


def test_verify_export_reports_a_zip_that_is_not_a_zip(tmp_path):
    fake = tmp_path / "bundle.zip"
    fake.write_text("not a zip")
    assert "is neither a directory nor a zip file" in verify_fails(fake)


def test_verify_export_reports_a_damaged_file_inside_a_zip(cases, tmp_path):
    files = files_of(export(tmp_path, "b", "--zip"))
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    data = bytearray(damaged.read_bytes())
    data[data.index(b"Detained.")] ^= 0x01  # the stored bytes no longer match their CRC
    damaged.write_bytes(bytes(data))
    assert "cases.csv: cannot be read (BadZipFile" in verify_fails(damaged)


# --- formula injection, separators, control characters ---------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_would_run_as_a_formula_is_escaped_in_csv_and_xlsx(tmp_path, start):
    published_case("Formula Person", summary=f'{start}HYPERLINK("http://x.example")')
    files = files_of(export(tmp_path))
    # XLSX (XML) cannot hold a bare carriage return: flat files write line feeds.
    expected = f'\'{start}HYPERLINK("http://x.example")'.replace("\r", "\n")
    assert csv_records(files["cases.csv"])[0]["public_summary"] == expected
    header, row = xlsx_sheets(files["cases.xlsx"])["Cases"]
    assert row[header.index("public_summary")] == expected
    # cases.json keeps the value as it is.
    summary = json_cases(files["cases.json"])[0]["public_summary"]
    assert summary == f'{start}HYPERLINK("http://x.example")'


def test_no_xlsx_cell_is_a_formula(tmp_path):
    published_case("=SUM(A1)", summary="=1+1")
    data = files_of(export(tmp_path))["cases.xlsx"]
    import io

    workbook = load_workbook(io.BytesIO(data))
    kinds = {cell.data_type for sheet in workbook for row in sheet.iter_rows() for cell in row}
    assert "f" not in kinds


def test_a_harmless_cell_is_not_escaped(tmp_path):
    published_case("Kanat", summary="Detained - twice; e=mc2")
    files = files_of(export(tmp_path))
    assert csv_records(files["cases.csv"])[0]["public_summary"] == "Detained - twice; e=mc2"


def test_a_separator_inside_a_value_is_escaped_and_splits_back(tmp_path):
    published_case("Name | with bar", "Back\\slash", "Plain")
    record = csv_records(files_of(export(tmp_path))["cases.csv"])[0]
    assert record["person_names"] == "Name \\| with bar|Back\\\\slash|Plain"
    assert values(record["person_names"]) == ["Name | with bar", "Back\\slash", "Plain"]


def test_control_characters_are_replaced_in_flat_files_and_kept_in_json(tmp_path):
    published_case("Bell", summary="a\x07b\nc")
    files = files_of(export(tmp_path))
    assert csv_records(files["cases.csv"])[0]["public_summary"] == "a\ufffdb\nc"
    assert json_cases(files["cases.json"])[0]["public_summary"] == "a\x07b\nc"


# --- XLSX against CSV, JSON against the API --------------------------------------------------


def test_the_xlsx_sheets_read_back_equal_the_csv_files(cases, tmp_path):
    files = files_of(export(tmp_path))
    sheets = xlsx_sheets(files["cases.xlsx"])
    for table in tables():
        assert sheets[table.sheet] == csv_rows(files[table.filename]), table.name


def test_the_xlsx_has_a_data_dictionary_sheet_describing_every_column(cases, tmp_path):
    sheets = xlsx_sheets(files_of(export(tmp_path))["cases.xlsx"])
    described = {(row[0], row[1]) for row in sheets["Data dictionary"][1:]}
    expected = {(t.filename, c.name) for t in tables() for c in t.columns}
    expected |= {("statistics.csv", name) for name in breakdowns.TABLE_HEADER}
    assert described == expected


def test_the_data_dictionary_describes_every_column_and_edtf(cases, tmp_path):
    text = files_of(export(tmp_path))["DATA-DICTIONARY.md"].decode()
    for table in tables():
        for column in table.columns:
            assert f"| `{column.name}` |" in text, column.name
    assert "Extended\nDate/Time Format (EDTF)" in text and "`2019/2023`" in text


def test_cases_json_is_exactly_the_api_case_detail(client, key, cases, tmp_path):
    bundle_path = export(tmp_path, "b", base_url="http://testserver")
    exported = json_cases(files_of(bundle_path)["cases.json"])
    from_api = [get_json(client, f"cases/{case['reference']}/", key) for case in exported]
    assert exported == from_api
    assert len(exported) == 3


def test_jsonl_holds_one_api_case_a_line(client, key, cases, tmp_path):
    files = files_of(export(tmp_path, "b", "--jsonl", base_url="http://testserver"))
    assert "cases.json" not in files
    lines = files["cases.jsonl"].decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        get_json(client, f"cases/{json.loads(line)['reference']}/", key) for line in lines
    ]
    assert manifest_of(tmp_path / "b")["files"]["cases.jsonl"]["records"] == 3


def test_record_addresses_start_at_the_base_url(cases, tmp_path):
    files = files_of(export(tmp_path, "b", base_url="https://ct.example.org/"))
    record = csv_records(files["cases.csv"])[0]
    assert record["url"] == f"https://ct.example.org/api/v1/cases/{record['reference']}/"
    assert manifest_of(tmp_path / "b")["base_url"] == "https://ct.example.org"


# --- determinism, order, streaming -----------------------------------------------------------


@pytest.mark.parametrize("zipped", [False, True], ids=["directory", "zip"])
def test_two_exports_of_the_same_data_give_the_same_bytes(cases, tmp_path, zipped):
    options = ["--zip"] if zipped else []
    first, second = export(tmp_path, "one", *options), export(tmp_path, "two", *options)
    one, two = files_of(first), files_of(second)
    for name in DATA_FILES:
        assert one[name] == two[name], name
    generated = [manifest_of(p).pop("generated_at") for p in (first, second)]
    rest = [manifest_of(p) for p in (first, second)]
    for manifest in rest:
        manifest.pop("generated_at")
    assert rest[0] == rest[1]
    assert len(generated) == 2


def test_files_are_ordered_by_case_reference(cases, tmp_path):
    files = files_of(export(tmp_path))
    references = [r["reference"] for r in csv_records(files["cases.csv"])]
    assert references == sorted(c.reference for c in cases)
    assert [c["reference"] for c in json_cases(files["cases.json"])] == references
    names = [r["case_reference"] for r in csv_records(files["names.csv"])]
    assert names == sorted(names)


def test_cases_are_read_in_chunks_by_reference_each_once(tmp_path):
    made = [published_case(f"Person {i}") for i in range(5)]
    with CaptureQueriesContext(connection) as queries:
        files = files_of(export(tmp_path, "b", chunk_size=2))
    references = [r["reference"] for r in csv_records(files["cases.csv"])]
    assert references == sorted(c.reference for c in made)
    # The published snapshots, which a published export writes out (snapshots.writer).
    chunks = [
        q["sql"]
        for q in queries
        if 'FROM "snapshots_publishedcase"' in q["sql"] and "LIMIT 2" in q["sql"]
    ]
    assert len(chunks) == 3  # 2 + 2 + 1 cases; never an OFFSET
    assert not any("OFFSET" in sql for sql in chunks)


def test_a_table_longer_than_an_excel_sheet_goes_on_in_a_second_sheet(cases, tmp_path, monkeypatch):
    monkeypatch.setattr(bundle, "XLSX_MAX_ROWS", 4)  # a header and three rows
    files = files_of(export(tmp_path))
    sheets = xlsx_sheets(files["cases.xlsx"])
    assert len(sheets["Names"]) == 4 and len(sheets["Names (2)"]) == 3
    assert sheets["Names"][1:] + sheets["Names (2)"][1:] == csv_rows(files["names.csv"])[1:]
    call_command("verify_export", str(tmp_path / "bundle"), stdout=StringIO())


def test_a_cell_too_long_for_excel_fails_the_export_and_leaves_nothing(
    cases, tmp_path, monkeypatch
):
    monkeypatch.setattr(bundle, "XLSX_MAX_CELL", 5)
    with pytest.raises(CommandError, match="at most 5"):
        export(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert not ExportLog.objects.exists()


# --- formats, filters, the destination -------------------------------------------------------


def test_only_the_formats_asked_for_are_written(cases, tmp_path):
    files = files_of(export(tmp_path, "b", format="csv"))
    # The statistics come with every format: they are what the bundle's cases add up to.
    assert sorted(files) == sorted([*CSV, "statistics.csv", "DATA-DICTIONARY.md", "manifest.json"])


def test_an_unknown_format_is_refused(cases, tmp_path):
    with pytest.raises(CommandError, match="Unknown format pdf: choose from csv, json, xlsx"):
        export(tmp_path, "b", format="csv,pdf")


def test_filters_narrow_the_export_like_the_api(client, key, cases, tmp_path):
    sentenced = published_case("Sentenced Person")
    make_event(sentenced, kind=EventKind.SENTENCED, date="2024")
    sentenced = publish(sentenced)  # the new event sent it back to review
    files = files_of(export(tmp_path, "b", "--filter", "status=sentenced"))
    assert [r["reference"] for r in csv_records(files["cases.csv"])] == [sentenced.reference]
    assert partner_api.references(client, key, {"status": "sentenced"}) == [sentenced.reference]


def test_a_filter_given_twice_keeps_both_values(cases, tmp_path):
    files = files_of(
        export(tmp_path, "b", "--filter", "status=detained", "--filter", "status=sentenced")
    )
    assert len(csv_records(files["cases.csv"])) == 3


def test_an_unknown_filter_is_refused_with_the_accepted_list(cases, tmp_path):
    with pytest.raises(CommandError) as refused:
        export(tmp_path, "b", "--filter", "colour=red")
    assert "colour: Unknown filter. Accepted: charge, date_from, date_to" in str(refused.value)
    assert not (tmp_path / "b").exists()


def test_a_bad_filter_value_is_refused_naming_the_filter(cases, tmp_path):
    with pytest.raises(CommandError) as refused:
        export(tmp_path, "b", "--filter", "date_from=2020-13")
    assert "date_from: “2020-13” is not a valid date" in str(refused.value)


def test_a_filter_without_a_value_is_refused(cases, tmp_path):
    with pytest.raises(CommandError, match="write it NAME=VALUE"):
        export(tmp_path, "b", "--filter", "status")


def test_an_existing_destination_is_refused(cases, tmp_path):
    (tmp_path / "b").mkdir()
    with pytest.raises(CommandError, match="already exists"):
        export(tmp_path, "b")


def test_a_failed_export_leaves_no_partial_bundle_and_no_log(cases, tmp_path, monkeypatch):
    calls = []

    def fail_on_second(case, request, staff):
        for data in original(case, request, staff):
            calls.append(data)
            if len(calls) == 2:
                raise RuntimeError("disk full")
            yield data

    original = services.representations
    monkeypatch.setattr(services, "representations", fail_on_second)
    temporary = set(ALL_TEMP_FILES)
    with pytest.raises(RuntimeError):
        export(tmp_path, "b", "--zip")
    assert list(tmp_path.iterdir()) == []
    assert not ExportLog.objects.exists()
    # Nor the sheets openpyxl was writing in the system's temporary directory.
    assert set(ALL_TEMP_FILES) - temporary == set()


def test_the_zip_suffix_is_added_when_missing(cases, tmp_path):
    path = export(tmp_path, "b", "--zip")
    assert path.name == "b.zip" and zipfile.is_zipfile(path)


def test_every_command_export_is_logged(cases, tmp_path, verifier):
    export(tmp_path, "b", "--filter", "status=detained", username="verifier")
    log = ExportLog.objects.get()
    manifest = (tmp_path / "b" / "manifest.json").read_bytes()
    import hashlib

    assert (log.channel, log.scope, log.user) == (Channel.COMMAND, Scope.PUBLISHED, verifier)
    assert log.filters == {"status": ["detained"]}
    assert log.case_count == 3 and log.counts["names.csv"] == 5
    assert log.manifest_sha256 == hashlib.sha256(manifest).hexdigest()


def test_an_empty_export_is_still_a_valid_bundle(db, tmp_path):
    bundle_path = export(tmp_path)
    files = files_of(bundle_path)
    assert json_cases(files["cases.json"]) == []
    assert csv_rows(files["cases.csv"]) == [tables()[0].header()]
    assert bundle.verify(bundle_path)[1] == []


def test_the_command_shows_a_progress_bar_at_a_terminal(cases, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    export(tmp_path)
    assert "3/3" in capsys.readouterr().err


def test_the_command_shows_no_progress_bar_in_a_pipe_or_log(cases, tmp_path, capsys):
    export(tmp_path)
    assert capsys.readouterr().err == ""


def test_the_manifest_carries_the_audit_chain_head_as_the_cases_were_read(cases, tmp_path):
    from casetracker import integrity

    position, head = integrity.chain_head()
    assert position > 0  # the fixture's writes are chained
    manifest = manifest_of(export(tmp_path))
    assert manifest["audit_chain"] == {"position": position, "hash": head}


def test_a_cell_is_made_as_the_rules_say_whatever_the_characters():
    """tables.cell() skips its replacing for printable text: the same cells as the rules
    applied one by one (controls replaced, formulas defused, carriage returns as line feeds)
    on random texts of the characters that matter."""
    import random

    from exports import tables

    def by_the_rules(value):
        text = tables.join_values(value) if isinstance(value, list) else tables._text(value)
        text = tables._CONTROL.sub(tables.REPLACEMENT, text)
        if text.startswith(tables.FORMULA_TRIGGERS):
            text = tables.FORMULA_ESCAPE + text
        return text.replace("\r\n", "\n").replace("\r", "\n")

    rng = random.Random(7)
    alphabet = ["a", "Ж", "ق", "卡", " ", "7", "|", "\\", "=", "+", "-", "@", "\t", "\r", "\n"]
    alphabet += ["\x00", "\x0b", "\x1f", "\u2028", "\u200b"]
    values = [None, True, False, 0, 3, "", ["=a|b", "c\r"], ["", None]]
    values += ["".join(rng.choices(alphabet, k=rng.randrange(6))) for _ in range(20000)]
    assert [tables.cell(v) for v in values] == [by_the_rules(v) for v in values]
