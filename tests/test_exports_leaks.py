"""The leak scan of exports: every restricted value is a unique sentinel (the fixtures of
tests/test_api_leaks.py); every file of a bundle, the XLSX's inner XML included, is searched
for them. Published exports (command, admin, API) may hold none; a staff export of
unpublished cases holds the hidden cases' public fields, never a restricted one."""

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command

from tests import partner_api
from tests.exports import csv_rows, export, files_of
from tests.jobs import export_from_admin
from tests.partner_api import API, token_header
from tests.test_api_leaks import DEMO_SECRETS, secret, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

# Labels of sentinels that no export may ever hold, staff exports included.
RESTRICTED = [
    "username",
    "email",
    "first name",
    "last name",
    "partner",
    "internal notes",
    "contact details",
    "notes",
    "file name",
    "file description",
    "claim",
    "quote",
    "confidential",
    "restricted",
    "archived public source",
    "archived source",
    "testifier",
    "testimony",
    "relative",
    "sibling",
    "employer",
    "affiliation",
    "level reason",
    "workflow reason",
]


def texts(files: dict[str, bytes]) -> dict[str, str]:
    """Every file's text; an XLSX is opened and each XML part inside it read."""
    found = {}
    for name, data in files.items():
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as workbook:
                for part in workbook.namelist():
                    found[f"{name}/{part}"] = workbook.read(part).decode()
        else:
            found[name] = data.decode("utf-8-sig")
    return found


def leaks(files, secret, only=None):  # noqa: F811
    return sorted(
        (name, label)
        for name, text in texts(files).items()
        for label in secret.found_in(text)
        if only is None or any(word in label for word in only)
    )


def zip_of(response) -> dict[str, bytes]:
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_published_export_holds_no_restricted_value(world, secret, tmp_path):  # noqa: F811
    files = files_of(export(tmp_path, "b", "--zip"))
    assert len(texts(files)) > 10
    assert leaks(files, secret) == []


def test_a_published_jsonl_export_holds_no_restricted_value(world, secret, tmp_path):  # noqa: F811
    assert leaks(files_of(export(tmp_path, "b", "--jsonl")), secret) == []


def test_the_scan_sees_a_restricted_value_put_in_a_public_field(world, secret, tmp_path):  # noqa: F811
    from tests.factories import set_case

    set_case(world.case, public_summary=f"Detained. {secret('planted')}")
    found = leaks(files_of(export(tmp_path)), secret)
    assert {label for _, label in found} == {"planted"}
    assert {name.split("/")[0] for name, _ in found} == {"cases.csv", "cases.json", "cases.xlsx"}


def test_the_published_export_holds_the_published_cases(world, tmp_path):  # noqa: F811
    files = files_of(export(tmp_path))
    references = [row[0] for row in csv_rows(files["cases.csv"])[1:]]
    assert references == sorted([world.case.reference, world.other.reference])


def test_an_admin_export_holds_no_restricted_value(client, data_entry, world, secret):  # noqa: F811
    client.force_login(data_entry)
    response = export_from_admin(client, {"scope": "all", "formats": ["csv", "json", "xlsx"]})
    assert leaks(zip_of(response), secret) == []


def test_a_partners_download_holds_no_restricted_value(client, key, world, secret):  # noqa: F811
    response = client.get(API + "exports/cases.zip", **token_header(key))
    assert leaks(zip_of(response), secret) == []


def test_filtering_on_hidden_records_exports_nothing_of_them(client, key, world, secret):  # noqa: F811
    for hidden in world.hidden.values():
        params = {"incident": hidden.links.incident.uid}
        files = zip_of(client.get(API + "exports/cases.zip", params, **token_header(key)))
        assert len(csv_rows(files["cases.csv"])) == 1  # the header alone
        # The manifest repeats the partner's own filters, and nothing else of the record.
        manifest = json.loads(files["manifest.json"])
        assert manifest.pop("filters") == {"incident": [str(hidden.links.incident.uid)]}
        files["manifest.json"] = json.dumps(manifest).encode()
        assert leaks(files, secret) == []


def test_a_staff_export_holds_hidden_cases_but_no_restricted_value(
    world,  # noqa: F811
    secret,  # noqa: F811
    verifier,
    tmp_path,
):
    files = files_of(export(tmp_path, "b", "--include-unpublished", username="verifier"))
    references = {row[0] for row in csv_rows(files["cases.csv"])[1:]}
    assert {h.case.reference for h in world.hidden.values()} <= references
    assert leaks(files, secret, only=RESTRICTED) == []


def test_no_export_file_holds_an_integer_key(world, tmp_path):  # noqa: F811
    files = files_of(export(tmp_path))
    for name in ["cases.csv", "events.csv", "names.csv", "sources.csv"]:
        header = csv_rows(files[name])[0]
        assert [c for c in header if c in ("id", "pk") or c.endswith("_id")] == [], name
    keys = set()

    def collect(data):
        if isinstance(data, dict):
            keys.update(data)
            for value in data.values():
                collect(value)
        elif isinstance(data, list):
            for item in data:
                collect(item)

    collect(json.loads(files["cases.json"]))
    assert [k for k in keys if k in ("id", "pk") or k.endswith("_id")] == []


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())


def test_the_demo_export_holds_the_seed_case_and_no_fictional_record(demo, tmp_path):
    files = files_of(export(tmp_path, "b", "--zip"))
    for name, text in texts(files).items():
        for value in DEMO_SECRETS:
            assert value not in text, (name, value)
    assert [row[10] for row in csv_rows(files["cases.csv"])[1:]] == ["Kanat Yerezhep"]
