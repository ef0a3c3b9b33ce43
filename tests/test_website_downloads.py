"""The public website's data download (website.downloads): a background job writes every
published case as the partners' export bundle, after publishing or on a schedule; the page
offers the newest with its checksums, and the file is served as written."""

import hashlib
import io
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command

from cases import services
from exports.bundle import MANIFEST_FILE
from exports.models import Channel, ExportLog
from jobs.models import Job, Kind, State
from tests.factories import published
from tests.jobs import run_jobs
from tests.test_api_leaks import secret, world  # noqa: F401 (fixtures)
from tests.test_exports_leaks import leaks
from website import downloads
from website.models import PublicDownload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def downloads_dir(settings, tmp_path):
    settings.PUBLIC_DOWNLOADS_DIR = tmp_path / "downloads"
    return settings.PUBLIC_DOWNLOADS_DIR


def files_in(download: PublicDownload) -> dict[str, bytes]:
    with zipfile.ZipFile(downloads.path_of(download)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def waiting_bundles() -> int:
    return Job.objects.filter(kind=Kind.PUBLIC_DOWNLOAD, state=State.QUEUED).count()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the signal that the published set changed) at once."""

    def publish(data_entry, verifier):
        with django_capture_on_commit_callbacks(execute=True):
            return published(data_entry, verifier)

    return publish


def published_case(data_entry, verifier):
    return published(data_entry, verifier)


# --- when a bundle is written -----------------------------------------------------------------


def test_publishing_asks_for_one_bundle_however_many_cases_are_published(
    settings, data_entry, verifier, committed
):
    settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING = True
    committed(data_entry, verifier)
    assert waiting_bundles() == 1
    committed(data_entry, verifier)
    assert waiting_bundles() == 1  # the waiting one will hold both


def test_publishing_asks_for_nothing_when_the_setting_is_off(
    settings, data_entry, verifier, committed
):
    settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING = False
    committed(data_entry, verifier)
    assert waiting_bundles() == 0


def test_the_staff_server_of_a_split_deployment_asks_for_bundles_too(
    settings, data_entry, verifier, committed
):
    # The website on a server of its own: this one has it off, and writes the bundles.
    settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING = True
    settings.PUBLIC_SITE = False
    committed(data_entry, verifier)
    assert waiting_bundles() == 1


def test_the_worker_writes_the_bundle_the_job_asked_for(settings, data_entry, verifier, committed):
    settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING = True
    case = committed(data_entry, verifier)
    run_jobs()
    job = Job.objects.get(kind=Kind.PUBLIC_DOWNLOAD)
    assert job.state == State.SUCCEEDED
    download = downloads.latest()
    assert download.cases == 1 == job.outcome["cases"]
    assert case.reference.encode() in files_in(download)["cases.csv"]
    log = ExportLog.objects.get(manifest_sha256=download.manifest_sha256)
    assert (log.channel, log.user, log.partner, log.case_count) == (Channel.PUBLIC, None, None, 1)


def test_the_command_writes_a_bundle_at_once_or_queues_one(data_entry, verifier):
    published_case(data_entry, verifier)
    out = StringIO()
    call_command("publish_downloads", stdout=out)
    assert downloads.latest().sha256 in out.getvalue()
    call_command("publish_downloads", "--background", stdout=StringIO())
    call_command("publish_downloads", "--background", stdout=StringIO())
    assert waiting_bundles() == 1


# --- what a bundle holds ------------------------------------------------------------------


def test_the_checksums_offered_are_those_of_the_file_and_its_manifest(data_entry, verifier):
    published_case(data_entry, verifier)
    download = downloads.write_bundle()
    data = downloads.path_of(download).read_bytes()
    assert download.size == len(data)
    assert download.sha256 == hashlib.sha256(data).hexdigest()
    manifest = files_in(download)[MANIFEST_FILE]
    assert download.manifest_sha256 == hashlib.sha256(manifest).hexdigest()


def test_a_bundle_holds_no_restricted_value_and_no_unpublished_case(world, secret):  # noqa: F811
    download = downloads.write_bundle()
    files = files_in(download)
    assert download.cases == 2
    assert leaks({n: d for n, d in files.items() if n != MANIFEST_FILE}, secret) == []
    for hidden in world.hidden.values():
        assert all(hidden.case.reference.encode() not in data for data in files.values())


def test_only_the_newest_bundle_is_kept(data_entry, verifier):
    published_case(data_entry, verifier)
    written = [downloads.write_bundle() for _ in range(3)]
    assert list(PublicDownload.objects.all()) == written[-1:]
    assert [downloads.path_of(d).exists() for d in written] == [False, False, True]


def test_a_withdrawn_case_takes_every_bundle_down_at_once(
    client, settings, data_entry, verifier, django_capture_on_commit_callbacks
):
    settings.PUBLIC_DOWNLOADS_AFTER_PUBLISHING = False  # on a schedule: nothing is rewritten
    case = published_case(data_entry, verifier)
    download = downloads.write_bundle()
    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish(case, verifier, "The family asked for it.")
    assert not PublicDownload.objects.exists()
    assert not downloads.path_of(download).exists()
    assert client.get(f"/downloads/{download.file_name}").status_code == 404
    assert "being prepared" in client.get("/downloads/").content.decode()


def test_a_bundle_written_while_a_case_was_withdrawn_is_thrown_away(
    data_entry, verifier, monkeypatch
):
    case = published_case(data_entry, verifier)
    export = downloads.exports.export_cases

    def withdrawn_meanwhile(*args, **kwargs):
        result = export(*args, **kwargs)  # the case is in it
        services.unpublish(case, verifier, "The family asked for it.")
        return result

    monkeypatch.setattr(downloads.exports, "export_cases", withdrawn_meanwhile)
    with pytest.raises(downloads.Withdrawn):
        downloads.write_bundle()
    assert not PublicDownload.objects.exists()
    assert list(downloads.directory().iterdir()) == []


# --- the page and the file ----------------------------------------------------------------


def test_the_page_says_the_download_is_being_prepared_before_the_first(client):
    response = client.get("/downloads/")
    assert response.status_code == 200
    assert "being prepared" in response.content.decode()
    assert "public" in response["Cache-Control"]


def test_the_page_offers_the_newest_bundle_with_its_checksums(client, data_entry, verifier):
    published_case(data_entry, verifier)
    downloads.write_bundle()
    newest = downloads.write_bundle()
    page = client.get("/downloads/").content.decode()
    assert f'href="/downloads/{newest.file_name}"' in page
    assert newest.sha256 in page and newest.manifest_sha256 in page


def test_the_file_is_served_as_written(client, data_entry, verifier):
    published_case(data_entry, verifier)
    download = downloads.write_bundle()
    response = client.get(f"/downloads/{download.file_name}")
    data = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert hashlib.sha256(data).hexdigest() == download.sha256
    assert response["Content-Type"] == "application/zip"
    assert response["ETag"] == f'"{download.sha256}"'
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None


def test_the_file_is_kept_like_a_page_and_checked_again(client, settings, data_entry, verifier):
    # Not for good: a bundle is taken down when a case in it is withdrawn.
    published_case(data_entry, verifier)
    download = downloads.write_bundle()
    address = f"/downloads/{download.file_name}"
    response = client.get(address)
    assert set(response["Cache-Control"].replace(" ", "").split(",")) == {
        "public",
        f"max-age={settings.PUBLIC_SITE_CACHE_SECONDS}",
        "must-revalidate",
    }
    again = client.get(address, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_an_older_bundle_is_not_served(client, data_entry, verifier):
    published_case(data_entry, verifier)
    older = downloads.write_bundle()
    kept = downloads.path_of(older).read_bytes()
    downloads.write_bundle()
    # Even were its file still on disk, an older bundle may hold a case withdrawn since.
    downloads.directory().joinpath(older.file_name).write_bytes(kept)
    assert client.get(f"/downloads/{older.file_name}").status_code == 404


@pytest.mark.parametrize(
    "name", ["nothing.zip", "..%2Fdb.sqlite3", "casetracker-published-cases-1.zip", "%00"]
)
def test_only_a_bundle_on_offer_is_served(client, data_entry, verifier, name):
    published_case(data_entry, verifier)
    downloads.write_bundle()
    assert client.get(f"/downloads/{name}").status_code == 404


def test_a_bundle_whose_file_is_gone_is_not_found(client, data_entry, verifier):
    published_case(data_entry, verifier)
    download = downloads.write_bundle()
    downloads.path_of(download).unlink()
    assert client.get(f"/downloads/{download.file_name}").status_code == 404
