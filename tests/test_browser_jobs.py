"""An export in a real browser (tests/browser.py): the export page queues a background job, the
job's page follows it by itself (a meta refresh, no script) until the bundle is ready, and the
list of jobs shows it; no page has a Content-Security-Policy violation or a console error."""

import io
import urllib.request
import zipfile

import pytest
from selenium.webdriver.common.by import By

from casetracker.roles import DATA_ENTRY
from jobs.models import Job, State
from tests.browser import PAGE_LOAD_TIMEOUT, PASSWORD, with_password
from tests.factories import make_case, person_named, publish, staff_in
from tests.jobs import run_jobs

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]


def test_an_export_is_prepared_in_the_background_and_downloaded(browser):
    case = publish(make_case(person_named("Kanat Yerezhep", "Қанат Ережеп")))
    with_password(staff_in(DATA_ENTRY, "data_entry"))
    browser.sign_in("data_entry", PASSWORD)

    browser.visit("/admin/cases/case/export/", "export page")
    browser.driver.find_element(By.CSS_SELECTOR, "#content-main input[type=submit]").click()
    browser.wait_until(lambda d: "/admin/jobs/job/" in d.current_url)
    browser.checked("job queued", expected_status=200)
    assert "Waiting for the background worker" in browser.text()
    job = Job.objects.get()
    assert job.state == State.QUEUED

    run_jobs()
    # The page refreshes itself; the download appears once the job is done.
    browser.wait_until(
        lambda d: "Download the file" in d.find_element(By.TAG_NAME, "body").text,
        timeout=PAGE_LOAD_TIMEOUT + 10,
    )
    browser.checked("job done", expected_status=200)
    link = browser.driver.find_element(By.LINK_TEXT, "Download the file").get_attribute("href")

    session = browser.driver.get_cookie("sessionid")["value"]
    request = urllib.request.Request(link, headers={"Cookie": f"sessionid={session}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=PAGE_LOAD_TIMEOUT) as response:  # noqa: S310
        data = response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert case.reference.encode() in archive.read("cases.csv")

    browser.visit("/admin/jobs/job/", "list of jobs")
    assert "Export of cases" in browser.text()
    browser.assert_clean()
