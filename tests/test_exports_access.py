"""Who may export what: the admin's export page and actions (a permission matrix), staff
exports of unpublished cases, the partner API's /api/v1/exports/cases.zip, and the export
log."""

import hashlib
import io
import json
import zipfile
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from api.models import ApiRequest
from cases.models import EventKind, ReviewState
from exports.models import Channel, ExportLog, Scope
from people.models import Consent
from tests import partner_api
from tests.exports import csv_records, export, files_of
from tests.factories import make_case, make_event, make_user, person_named, publish, set_case
from tests.jobs import export_from_admin
from tests.partner_api import API, token_header
from tests.test_api import as_persona  # noqa: F401 - the API's personas (a fixture)

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

EXPORT_PAGE = "/admin/cases/case/export/"
CHANGELIST = "/admin/cases/case/"
EXPORT_URL = API + "exports/cases.zip"


def case_named(name, **state):
    person = person_named(name, consent=Consent.PUBLIC_RECORD)
    case = make_case(person, public_summary=f"{name}'s case.")
    make_event(case, kind=EventKind.DETAINED, date="2020")
    return publish(case, **state) if state.get("is_published", True) else case


@pytest.fixture
def world():
    """Two published cases, a draft, a verified unpublished case and a sensitive one."""
    now = timezone.now()
    return {
        "published": case_named("Published One"),
        "published too": case_named("Published Two"),
        "draft": case_named("Draft Person", is_published=False),
        "verified": set_case(
            case_named("Verified Person", is_published=False),
            review_state=ReviewState.VERIFIED,
            evidence_level=3,
            verified_at=now,
        ),
        "sensitive": case_named("Sensitive Person", sensitive=True),
    }


def references_in(response):
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [r["reference"] for r in csv_records(archive.read("cases.csv"))]


def zip_files(response):
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def post_export(client, scope="all", ids=(), formats=("csv", "json", "xlsx")):
    data = {"scope": scope, "ids": list(ids), "formats": list(formats)}
    return export_from_admin(client, data)


# --- the admin: a permission matrix ----------------------------------------------------------

# persona: (export page, export all published, "export selected" offered,
#           "export unpublished" offered, unpublished download)
ADMIN_MATRIX = {
    "anonymous": (302, 302, None, None, 302),
    "no_role": (403, 403, None, None, 403),
    "data_entry": (200, 200, True, False, 403),
    "verifier": (200, 200, True, True, 200),
    "administrator": (200, 200, True, False, 403),
    "superuser": (200, 200, True, True, 200),
}


@pytest.fixture
def signed_in(request, client):
    def sign_in(persona):
        user = request.getfixturevalue(persona)
        if user is not None:
            client.force_login(user)
        return client

    return sign_in


def offered_actions(client):
    response = client.get(CHANGELIST)
    if response.status_code != 200:
        return None
    return {name for name, _ in response.context["action_form"].fields["action"].choices}


@pytest.mark.parametrize("persona", ADMIN_MATRIX)
def test_admin_export_permission_matrix(signed_in, persona, world):
    client = signed_in(persona)
    page, everything, selected, unpublished, download = ADMIN_MATRIX[persona]
    assert client.get(EXPORT_PAGE).status_code == page
    assert post_export(client).status_code == everything
    actions = offered_actions(client)
    if selected is None:
        assert actions is None
    else:
        assert ("export_selected" in actions) == selected
        assert ("export_selected_unpublished" in actions) == unpublished
    ids = [case.pk for case in world.values()]
    assert post_export(client, "unpublished", ids).status_code == download


def test_the_changelist_links_to_the_export_page(client, data_entry):
    client.force_login(data_entry)
    assert EXPORT_PAGE.encode() in client.get(CHANGELIST).content


def test_the_export_page_says_how_many_cases_are_published(client, data_entry, world):
    client.force_login(data_entry)
    assert b"every published case</strong> (2)" in client.get(EXPORT_PAGE).content


def test_export_all_published_downloads_a_zip_that_is_not_cached(client, data_entry, world):
    client.force_login(data_entry)
    response = post_export(client)
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"].split(", ")
    assert response["Content-Disposition"].startswith('attachment; filename="casetracker-cases-')
    assert sorted(references_in(response)) == sorted(
        [world["published"].reference, world["published too"].reference]
    )


def test_an_admin_export_is_logged_with_who_and_the_manifest_hash(client, data_entry, world):
    client.force_login(data_entry)
    files = zip_files(post_export(client))
    log = ExportLog.objects.get()
    assert (log.channel, log.scope, log.user, log.case_count) == (
        Channel.ADMIN,
        Scope.PUBLISHED,
        data_entry,
        2,
    )
    assert log.manifest_sha256 == hashlib.sha256(files["manifest.json"]).hexdigest()


def test_the_export_selected_action_says_what_it_leaves_out_and_why(client, verifier, world):
    client.force_login(verifier)
    ids = [case.pk for case in world.values()]
    response = client.post(CHANGELIST, {"action": "export_selected", "_selected_action": ids})
    assert response.status_code == 200
    page = response.content.decode()
    assert "You selected 5 cases" in page
    assert "<strong>2 published</strong>" in page
    assert "1 not verified; 1 sensitive; 1 verified, not published" in page


def test_a_selection_exports_only_its_published_cases(client, verifier, world):
    client.force_login(verifier)
    ids = [world["published"].pk, world["draft"].pk, world["sensitive"].pk]
    response = post_export(client, "selected", ids)
    assert references_in(response) == [world["published"].reference]
    log = ExportLog.objects.get()
    assert log.left_out == 2 and len(log.selected) == 3


def test_a_verifiers_staff_export_holds_the_selection_with_review_state(client, verifier, world):
    client.force_login(verifier)
    ids = [world["published"].pk, world["draft"].pk, world["verified"].pk]
    files = zip_files(post_export(client, "unpublished", ids))
    states = {r["reference"]: r["review_state"] for r in csv_records(files["cases.csv"])}
    assert states == {
        world["published"].reference: "published",
        world["draft"].reference: "draft",
        world["verified"].reference: "verified",
    }
    log = ExportLog.objects.get()
    assert (log.scope, log.user, log.case_count) == (Scope.UNPUBLISHED, verifier, 3)


def test_a_staff_export_is_named_and_marked_as_such(client, verifier, world):
    client.force_login(verifier)
    response = post_export(client, "unpublished", [world["draft"].pk])
    assert "casetracker-staff-export-" in response["Content-Disposition"]
    files = zip_files(response)
    assert b"This is a staff export" in files["DATA-DICTIONARY.md"]
    assert b'"scope": "unpublished"' in files["manifest.json"]


def test_a_posted_case_the_user_may_not_see_is_not_exported(client, world):
    """Need to know: ids of sensitive cases posted by someone not assigned are dropped."""
    user = make_user("unpublished_exporter")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_case", "export_unpublished"])
    )
    client.force_login(user)
    ids = [world["draft"].pk, world["sensitive"].pk]
    assert references_in(post_export(client, "unpublished", ids)) == [world["draft"].reference]


def test_a_data_entry_cannot_run_the_unpublished_action_by_posting_it(client, data_entry, world):
    client.force_login(data_entry)
    response = client.post(
        CHANGELIST,
        {"action": "export_selected_unpublished", "_selected_action": [world["draft"].pk]},
    )
    assert b"Export unpublished cases" not in response.content
    assert not ExportLog.objects.exists()


def test_no_format_chosen_shows_the_form_again(client, data_entry, world):
    client.force_login(data_entry)
    response = post_export(client, formats=())
    assert response.status_code == 200 and b"This field is required" in response.content


def test_the_export_log_is_read_only_in_the_admin(client, verifier, world):
    client.force_login(verifier)
    post_export(client)
    log = ExportLog.objects.get()
    changelist = "/admin/exports/exportlog/"
    assert client.get(changelist).status_code == 200
    assert client.get(f"{changelist}{log.pk}/change/").status_code == 200
    assert client.post(f"{changelist}{log.pk}/change/", {}).status_code == 403
    assert client.get(f"{changelist}add/").status_code == 403
    assert client.get(f"{changelist}{log.pk}/delete/").status_code == 403


@pytest.mark.parametrize(("persona", "status"), [("data_entry", 403), ("administrator", 200)])
def test_who_reads_the_export_log(signed_in, persona, status):
    assert signed_in(persona).get("/admin/exports/exportlog/").status_code == status


def test_the_export_log_refuses_changes_and_deletion(client, data_entry, world):
    client.force_login(data_entry)
    post_export(client)
    log = ExportLog.objects.get()
    with pytest.raises(PermissionError):
        log.save()
    with pytest.raises(PermissionError):
        log.delete()
    with pytest.raises(PermissionError):
        ExportLog.objects.update(case_count=0)


@pytest.mark.postgresql
def test_postgresql_refuses_a_raw_update_of_the_export_log(client, data_entry, world):
    client.force_login(data_entry)
    post_export(client)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE exports_exportlog SET case_count = 0")


# --- the command's staff export --------------------------------------------------------------


def test_the_command_exports_unpublished_cases_for_a_verifier(tmp_path, verifier, world):
    path = export(tmp_path, "staff", "--include-unpublished", username="verifier")
    references = {r["reference"] for r in csv_records(files_of(path)["cases.csv"])}
    assert references == {case.reference for case in world.values()}
    log = ExportLog.objects.get()
    assert (log.channel, log.scope, log.user) == (Channel.COMMAND, Scope.UNPUBLISHED, verifier)


@pytest.mark.parametrize("persona", ["data_entry", "administrator"])
def test_the_command_refuses_unpublished_cases_to_anyone_but_a_verifier(
    request, tmp_path, persona, world
):
    user = request.getfixturevalue(persona)
    with pytest.raises(CommandError, match="may not export unpublished cases"):
        export(tmp_path, "staff", "--include-unpublished", username=user.username)
    assert list(tmp_path.iterdir()) == [] and not ExportLog.objects.exists()


def test_the_command_needs_a_user_for_unpublished_cases(tmp_path, world):
    with pytest.raises(CommandError, match="needs --as USERNAME"):
        export(tmp_path, "staff", "--include-unpublished")


def test_the_command_refuses_an_unknown_user(tmp_path, world):
    with pytest.raises(CommandError, match="No active user “nobody”"):
        export(tmp_path, "staff", username="nobody")


def test_only_verifiers_hold_the_unpublished_export_permission(data_entry, verifier, administrator):
    holders = [
        u.username
        for u in (data_entry, verifier, administrator)
        if u.has_perm("exports.export_unpublished")
    ]
    assert holders == ["verifier"]


# --- the partner API: /api/v1/exports/cases.zip ----------------------------------------------

API_MATRIX = {
    "anonymous": 401,
    "bad token": 401,
    "expired token": 401,
    "revoked token": 401,
    "inactive partner's token": 401,
    "partner, Token": 200,
    "partner, Bearer": 200,
    "staff session": 401,
    "non-staff session": 401,
}


@pytest.mark.parametrize("persona", API_MATRIX)
def test_api_export_permission_matrix(client, world, as_persona, persona):  # noqa: F811
    response = client.get(EXPORT_URL, **as_persona(persona))
    assert response.status_code == API_MATRIX[persona]
    if response.status_code == 401:
        assert set(response.json()) == {"detail"}
        assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_partner_cannot_write_to_the_export(client, key, world, method):
    assert getattr(client, method)(EXPORT_URL, **token_header(key)).status_code in (403, 405)


def test_a_partner_downloads_the_published_cases(client, key, world):
    response = client.get(EXPORT_URL, **token_header(key))
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    assert sorted(references_in(response)) == sorted(
        [world["published"].reference, world["published too"].reference]
    )


def test_a_partner_gets_the_same_bundle_as_the_admin(client, key, data_entry, world):
    from_api = zip_files(client.get(EXPORT_URL, **token_header(key)))
    client.force_login(data_entry)
    from_admin = zip_files(post_export(client))
    assert sorted(from_api) == sorted(from_admin)
    for name in from_api:
        if name != "manifest.json":
            assert from_api[name] == from_admin[name], name


def test_a_client_asking_for_a_zip_gets_it(client, key, world):
    response = client.get(EXPORT_URL, HTTP_ACCEPT="application/zip", **token_header(key))
    assert response.status_code == 200


def test_the_api_export_takes_the_case_filters(client, key, world):
    sentenced = case_named("Sentenced Person")
    make_event(sentenced, kind=EventKind.SENTENCED, date="2024")
    sentenced = publish(sentenced)
    response = client.get(EXPORT_URL, {"status": "sentenced"}, **token_header(key))
    assert references_in(response) == [sentenced.reference]


def test_the_api_export_takes_formats_and_jsonl(client, key, world):
    response = client.get(EXPORT_URL, {"formats": "json", "jsonl": "true"}, **token_header(key))
    assert sorted(zip_files(response)) == [
        "DATA-DICTIONARY.md",
        "cases.jsonl",
        "manifest.json",
        "statistics.csv",
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"colour": "red"}, "colour", "Unknown parameter. Accepted: charge,"),
        ({"page_size": "10"}, "page_size", "Unknown parameter."),
        ({"status": "jailed"}, "status", "Accepted: detained, sentenced"),
        ({"date_from": "2020-13"}, "date_from", "is not a valid date"),
        ({"formats": "pdf"}, "formats", "Unknown format pdf"),
        ({"jsonl": "maybe"}, "jsonl", "true or false."),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, key, world, params, field, message):
    response = client.get(EXPORT_URL, params, **token_header(key))
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not ExportLog.objects.exists()


def test_an_api_export_is_in_the_request_log_and_the_export_log(client, key, partner, world):
    client.get(EXPORT_URL, {"status": "detained"}, **token_header(key))
    request = ApiRequest.objects.get()
    assert (request.path, request.query, request.status) == (
        EXPORT_URL,
        "status=detained",
        200,
    )
    log = ExportLog.objects.get()
    assert (log.channel, log.partner, log.user, log.filters) == (
        Channel.API,
        partner,
        None,
        {"status": ["detained"]},
    )


def test_the_export_log_keeps_no_search_text(client, key, world):
    params = {"search": "Yerezhep", "status": "detained"}
    response = client.get(EXPORT_URL, params, **token_header(key))
    assert response.status_code == 200
    log = ExportLog.objects.get()
    assert log.filters == {"search": [], "status": ["detained"]}
    assert "Yerezhep" not in str(log.filters)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["filters"]["search"] == ["Yerezhep"]  # the partner's own bundle keeps it


def test_the_migration_scrubs_search_text_from_earlier_export_logs(world):
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    with transaction.atomic():
        log = ExportLog.objects.create(
            channel=Channel.API,
            scope=Scope.PUBLISHED,
            formats="csv",
            case_count=0,
            manifest_sha256="0" * 64,
            filters={"search": ["Қанат Ережеп"], "status": ["detained"]},
        )
    migration = importlib.import_module("exports.migrations.0003_export_log_keeps_no_search_text")
    migration.scrub(apps, SimpleNamespace(connection=connection))
    log.refresh_from_db()
    assert log.filters == {"search": [], "status": ["detained"]}


def test_an_unknown_address_under_exports_is_a_json_404(client, key, world):
    response = client.get(API + "exports/cases.tar", **token_header(key))
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_the_schema_documents_the_export(client, key, world):
    schema = client.get(API + "schema/", {"format": "json"}, **token_header(key)).json()
    operation = schema["paths"]["/api/v1/exports/cases.zip"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"status", "date_from", "formats", "jsonl"} <= names
    assert "application/zip" in operation["responses"]["200"]["content"]


def test_verify_export_passes_a_bundle_downloaded_from_the_api(client, key, world, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "download.zip"
    path.write_bytes(b"".join(client.get(EXPORT_URL, **token_header(key)).streaming_content))
    call_command("verify_export", str(path), stdout=StringIO())


# --- the issue's "done when" -----------------------------------------------------------------


def test_a_verifier_exports_the_demo_from_the_admin_and_a_partner_gets_the_same_bundle(
    client, settings, tmp_path, no_throttling
):
    from django.core.management import call_command

    from api.models import Partner
    from casetracker.demo import DEMO_PARTNER
    from tests.exports import xlsx_sheets

    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="verifier"))
    from_admin = zip_files(post_export(client))
    header, *rows = xlsx_sheets(from_admin["cases.xlsx"])["Names"]
    assert {row[header.index("script")]: row[header.index("name")] for row in rows} == {
        "Latn": "Kanat Yerezhep",
        "Cyrl": "Қанат Ережеп",
        "Arab": "قانات ەرەجەپ",
    }
    path = tmp_path / "from-admin.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in from_admin.items():
            archive.writestr(name, data)
    call_command("verify_export", str(path), stdout=StringIO())
    client.logout()
    key = Partner.objects.get(name=DEMO_PARTNER).issue_token()[1]
    from_api = zip_files(client.get(EXPORT_URL, **token_header(key)))
    assert {n: d for n, d in from_api.items() if n != "manifest.json"} == {
        n: d for n, d in from_admin.items() if n != "manifest.json"
    }
