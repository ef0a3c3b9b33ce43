"""Partner exports as background jobs: POST /api/v1/exports/ asks, GET /api/v1/exports/<uid>/
follows, GET /api/v1/exports/<uid>/file/ downloads. A partner sees only its own; a refused
parameter is refused when asked; the direct GET /api/v1/exports/cases.zip stops at its limit."""

import hashlib
import io
import json
import uuid
import zipfile

import pytest
from django.utils import timezone

from api.models import ApiRequest, Partner
from cases.models import EventKind
from exports.models import Channel, ExportLog, PartnerExport
from jobs import services as jobs
from jobs.models import Job, State
from people.models import Consent
from tests import partner_api
from tests.exports import csv_records
from tests.factories import make_case, make_event, person_named, publish
from tests.jobs import run_jobs
from tests.partner_api import API, token_header

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

EXPORTS = API + "exports/"
DIRECT = API + "exports/cases.zip"
SEARCHED = "Searchedname Onlyhere"


def case_named(name, kind=EventKind.DETAINED):
    person = person_named(name, consent=Consent.PUBLIC_RECORD)
    case = make_case(person, public_summary=f"{name}'s case.")
    make_event(case, kind=kind, date="2020")
    return publish(case)


@pytest.fixture
def cases():
    return [case_named("Exported One"), case_named(SEARCHED, kind=EventKind.SENTENCED)]


def ask(client, key, params=None, body=b"", **extra):
    """POST, as a partner's client does it: the parameters in the query string, no body."""
    query = "&".join(f"{name}={value}" for name, value in (params or {}).items())
    url = EXPORTS + (f"?{query}" if query else "")
    return client.generic("POST", url, body, **token_header(key), **extra)


def asked(client, key, params=None) -> dict:
    response = ask(client, key, params)
    assert response.status_code == 202, response.content
    assert response["Location"] == response.json()["url"]
    return response.json()


def follow(client, key, export) -> dict:
    response = client.get(export["url"], **token_header(key))
    assert response.status_code == 200, response.content
    return response.json()


def references(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [row["reference"] for row in csv_records(archive.read("cases.csv"))]


def download(client, key, export):
    return client.get(export["file"]["url"], **token_header(key))


@pytest.fixture
def other_key():
    other = Partner.objects.create(name="Another newsroom")
    return other.issue_token("their server")[1]


# --- asking, following, downloading ----------------------------------------------------------


def test_a_partner_asks_follows_and_downloads_an_export(client, key, cases):
    export = asked(client, key, {"formats": "csv,json"})
    assert export["state"] == "queued" and export["file"] is None
    assert export["formats"] == ["csv", "json"] and export["jsonl"] is False
    run_jobs()
    done = follow(client, key, export)
    assert done["state"] == "succeeded"
    assert done["cases"] == 2
    assert done["progress"]["done"] == done["progress"]["total"] == 2
    response = download(client, key, done)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == done["file"]["sha256"]
    assert len(data) == done["file"]["size"]
    assert sorted(references(data)) == sorted(case.reference for case in cases)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [
            "DATA-DICTIONARY.md",
            "cases.csv",
            "cases.json",
            "events.csv",
            "manifest.json",
            "names.csv",
            "sources.csv",
            "statistics.csv",
            "un_opinions.csv",
        ]
        manifest = archive.read("manifest.json")
        # Record addresses point at the server the partner asked.
        assert json.loads(archive.read("cases.json"))[0]["url"].startswith("http://testserver/")
    assert hashlib.sha256(manifest).hexdigest() == done["file"]["manifest_sha256"]


def test_a_head_request_is_not_counted_as_a_download(client, key, cases):
    export = asked(client, key)
    run_jobs()
    done = follow(client, key, export)
    head = client.head(done["file"]["url"], **token_header(key))
    assert head.status_code == 200
    assert head["Content-Type"] == "application/zip"
    job = Job.objects.get(pk=done["uid"])
    assert job.downloads == 0
    assert download(client, key, done).status_code == 200
    job.refresh_from_db()
    assert job.downloads == 1


def test_the_same_bundle_as_the_direct_export(client, key, cases):
    direct = b"".join(client.get(DIRECT, **token_header(key)).streaming_content)
    export = asked(client, key)
    run_jobs()
    made = b"".join(download(client, key, follow(client, key, export)).streaming_content)
    with zipfile.ZipFile(io.BytesIO(direct)) as a, zipfile.ZipFile(io.BytesIO(made)) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            if name != "manifest.json":  # its generation time differs
                assert a.read(name) == b.read(name), name


def test_the_export_takes_the_case_filters_and_forgets_the_search(client, key, partner, cases):
    export = asked(client, key, {"search": SEARCHED.replace(" ", "+"), "status": "sentenced"})
    stored = PartnerExport.objects.get(job_id=export["uid"])
    assert json.loads(stored.filters) == {"search": [SEARCHED], "status": ["sentenced"]}
    run_jobs()
    data = b"".join(download(client, key, follow(client, key, export)).streaming_content)
    assert references(data) == [cases[1].reference]
    # What the partner looked for is kept nowhere once the export is made.
    assert PartnerExport.objects.get(job_id=export["uid"]).filters == ""
    assert SEARCHED not in json.dumps(Job.objects.get(pk=export["uid"]).parameters)
    log = ExportLog.objects.get()
    assert (log.channel, log.partner.name, log.case_count) == (Channel.API, partner.name, 1)
    assert SEARCHED not in json.dumps(log.filters)
    assert not any(SEARCHED in row.query for row in ApiRequest.objects.all())


def test_the_list_shows_the_partners_own_exports_newest_first(client, key, other_key, cases):
    first = asked(client, key)
    second = asked(client, key)
    asked(client, other_key)
    listed = client.get(EXPORTS, **token_header(key)).json()
    assert [export["uid"] for export in listed] == [second["uid"], first["uid"]]


# --- who sees what ---------------------------------------------------------------------------


def test_another_partners_export_is_not_found(client, key, other_key, cases):
    export = asked(client, key)
    run_jobs()
    for url in (export["url"], export["url"] + "file/"):
        assert client.get(url, **token_header(other_key)).status_code == 404
        assert client.get(url).status_code == 401
    assert client.get(EXPORTS + f"{uuid.uuid4()}/", **token_header(key)).status_code == 404


def test_staff_cannot_download_a_partners_file(client, key, superuser, cases):
    export = asked(client, key)
    run_jobs()
    job = Job.objects.get(pk=export["uid"])
    assert not jobs.may_download(job, superuser)
    assert jobs.open_file(job, superuser) is None
    client.force_login(superuser)
    assert client.get(f"/admin/jobs/job/{job.pk}/download/").status_code in (403, 404)


def test_a_partner_cut_off_before_the_job_runs_gets_nothing(client, key, partner, cases):
    export = asked(client, key)
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    run_jobs()
    job = Job.objects.get(pk=export["uid"])
    assert job.state == State.FAILED
    assert "cut off" in job.error
    assert not job.file_name
    assert not ExportLog.objects.exists()


def test_writes_other_than_asking_are_refused(client, key, cases):
    export = asked(client, key)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(export["url"], **token_header(key)).status_code == 405
        assert getattr(client, method)(EXPORTS, **token_header(key)).status_code == 405
    assert client.generic("POST", export["url"], **token_header(key)).status_code == 405
    assert client.generic("POST", EXPORTS).status_code == 401


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"formats": "pdf"}, "formats"),
        ({"jsonl": "yes"}, "jsonl"),
        ({"language": "fr"}, "language"),
        ({"status": "asleep"}, "status"),
        ({"location": "Atlantis"}, "location"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_parameter_is_refused_when_asked(client, key, cases, params, field):
    response = ask(client, key, params)
    assert response.status_code == 400
    assert field in response.json()
    assert not Job.objects.exists() and not PartnerExport.objects.exists()


def test_a_body_is_refused(client, key, cases):
    response = ask(
        client, key, body=json.dumps({"formats": "csv"}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "query string" in response.json()["body"][0]
    assert not Job.objects.exists()


def test_list_and_follow_take_no_parameters(client, key, cases):
    export = asked(client, key)
    assert client.get(EXPORTS, {"status": "detained"}, **token_header(key)).status_code == 400
    assert client.get(export["url"], {"formats": "csv"}, **token_header(key)).status_code == 400


def test_a_partner_has_a_limited_number_of_exports_open(client, key, other_key, cases, settings):
    settings.PARTNER_EXPORTS_AT_ONCE = 2
    asked(client, key)
    asked(client, key)
    refused = ask(client, key)
    assert refused.status_code == 429
    assert "2 of your exports" in refused.json()["detail"]
    assert PartnerExport.objects.count() == 2
    asked(client, other_key)  # another partner's are its own
    run_jobs()
    asked(client, key)  # ended: room again


def test_a_file_not_made_yet_or_failed_is_a_409(client, key, partner, cases):
    export = asked(client, key)
    response = client.get(export["url"] + "file/", **token_header(key))
    assert response.status_code == 409
    assert export["url"] in response.json()["detail"]
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    run_jobs()
    Partner.objects.filter(pk=partner.pk).update(is_active=True)
    failed = follow(client, key, export)
    assert failed["state"] == "failed" and "cut off" in failed["error"]
    assert client.get(export["url"] + "file/", **token_header(key)).status_code == 409


def test_an_expired_file_is_gone(client, key, cases):
    export = asked(client, key)
    run_jobs()
    done = follow(client, key, export)
    Job.objects.filter(pk=export["uid"]).update(file_expires_at=timezone.now())
    response = client.get(done["file"]["url"], **token_header(key))
    assert response.status_code == 410
    assert "ask for the export again" in response.json()["detail"]
    assert follow(client, key, export)["file"] is None


# --- the direct export's limit -----------------------------------------------------------------


def test_the_direct_export_refuses_more_cases_than_its_limit(client, key, cases, settings):
    settings.PARTNER_DIRECT_EXPORT_MAX_CASES = 1
    response = client.get(DIRECT, **token_header(key))
    assert response.status_code == 400
    assert "POST /api/v1/exports/" in response.json()["export"][0]
    # Filtered down to the limit, it answers.
    filtered = client.get(DIRECT, {"status": "sentenced"}, **token_header(key))
    assert filtered.status_code == 200
    assert references(b"".join(filtered.streaming_content)) == [cases[1].reference]


def test_staff_who_see_every_job_see_which_partner_asked(client, key, partner, superuser, cases):
    export = asked(client, key)
    client.force_login(superuser)
    page = client.get(f"/admin/jobs/job/{export['uid']}/change/")
    assert page.status_code == 200
    assert f"Partner: {partner.name} (partner API)" in page.text
    assert f"Partner: {partner.name} (partner API)" in client.get("/admin/jobs/job/").text


def test_a_failed_export_forgets_the_search_too(client, key, partner, cases):
    export = asked(client, key, {"search": "Exported"})
    assert PartnerExport.objects.get(job_id=export["uid"]).filters != ""
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    run_jobs()
    assert Job.objects.get(pk=export["uid"]).state == State.FAILED
    assert PartnerExport.objects.get(job_id=export["uid"]).filters == ""


def test_a_partner_keeps_its_newest_files_only(client, key, other_key, cases, settings):
    settings.PARTNER_EXPORTS_AT_ONCE = 2
    made = []
    for _ in range(3):
        made.append(asked(client, key))
        run_jobs()
    theirs = asked(client, other_key)
    run_jobs()
    files = [follow(client, key, export)["file"] for export in made]
    assert files[0] is None  # expired when the third was made
    assert files[1] is not None and files[2] is not None
    assert client.get(made[0]["url"] + "file/", **token_header(key)).status_code == 410
    assert follow(client, other_key, theirs)["file"] is not None
