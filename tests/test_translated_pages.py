"""Every admin page in Kazakh, Russian and Chinese: no English left in what a person reads,
except the data itself (names, places, summaries as entered) and names that every language
writes alike. A string that was never marked for translation, or marked and not translated,
fails here with the page and the line it is on."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from cases.models import Case
from people.models import Organisation
from submissions.models import Submission
from tests import test_admin
from tests.import_files import KANAT_ROWS, rows_to_csv
from tests.jobs import job_of, run_jobs
from tests.test_admin import READ_ONLY, REGISTERED, admin_url, model_id
from tests.translated_pages import WORD, data_words, english_left

pytestmark = pytest.mark.django_db

# One saved object of every model the admin shows (tests/test_admin.py).
world = test_admin.world

LANGUAGES = ["kk", "ru", "zh-hans"]


def leftovers(client, language, urls, allowed):
    report = []
    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert response["Content-Language"] == language
        lines = english_left(response.content.decode(), allowed)
        report += [f"{url}: {line}" for line in lines]
    return report


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("model", REGISTERED, ids=model_id)
def test_model_pages_have_no_english_left(admin_client, world, language, model):
    pk = world[model].pk
    urls = [
        admin_url(model, "changelist"),
        admin_url(model, "change", pk),
        admin_url(model, "history", pk),
    ]
    if model not in READ_ONLY:
        urls.append(admin_url(model, "add"))
    report = leftovers(admin_client, language, urls, data_words())
    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_home_page_and_the_case_pages_have_no_english_left(admin_client, world, language):
    case = world[Case]
    urls = [
        reverse("admin:index"),
        reverse("admin:cases_case_print", args=[case.pk]),
        reverse("admin:cases_case_workflow", args=[case.pk, "submit"]),
        reverse("admin:cases_case_export"),
        reverse("admin:imports_importbatch_upload"),
        reverse("evidence-check"),
        reverse("admin:submissions_submission_draft", args=[world[Submission].pk]),
    ]
    report = leftovers(admin_client, language, urls, data_words())
    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_import_preview_with_an_error_has_no_english_left(admin_client, world, language):
    rows = [dict(KANAT_ROWS[0], event_date="sometime in spring", person_gender="unknown-x")]
    queued = admin_client.post(
        reverse("admin:imports_importbatch_upload"),
        {
            "file": SimpleUploadedFile("list.csv", rows_to_csv(rows)),
            "group": world[Organisation].pk,
        },
        HTTP_ACCEPT_LANGUAGE=language,
    )
    job = job_of(queued)
    run_jobs()
    # The job's page, then the preview it leads to, in the uploader's language.
    report = leftovers(admin_client, language, [queued.url], data_words())
    assert not report, "\n".join(report)
    response = admin_client.get(
        reverse("admin:imports_importbatch_preview", args=[job.parameters["batch"]]),
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 200
    # The file's own values, and the codes a column accepts (the file must use them as they are).
    codes = {"male", "female", "other", "unknown"}
    values = {word for row in rows for value in row.values() for word in WORD.findall(str(value))}
    report = english_left(response.content.decode(), data_words() | codes | values)
    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_not_found_page_has_no_english_left(client, language):
    response = client.get("/admin/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code in (302, 404)
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert not english_left(response.content.decode(), set())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_login_page_has_no_english_left(client, language):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE=language)
    assert not english_left(response.content.decode(), set())


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_public_website_has_no_english_left(client, settings, tmp_path, language):
    """The demo's published case on the public website (website app): the home page, a
    search, the case page, the person page, a charge and a place, the statistics and the
    methodology."""
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    case = Case.objects.published().get()
    charge = case.events.exclude(charges=None).first().charges.first()
    place = case.events.exclude(location=None).first().location
    urls = [
        reverse("website:home"),
        f"{reverse('website:search')}?q=Kanat",
        reverse("website:case", args=[case.reference]),
        reverse("website:person", args=[case.person.uid]),
        reverse("website:statistics"),
        reverse("website:methodology"),
        reverse("website:downloads"),
        reverse("website:charge", args=[charge.uid]),
        reverse("website:place", args=[place.uid]),
        f"{reverse('website:place', args=[place.uid])}?role=origin",
    ]
    report = leftovers(client, language, urls, data_words())
    assert not report, "\n".join(report)
