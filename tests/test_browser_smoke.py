"""Each role through the admin in a real browser (tests/browser.py): every page a role opens, the
step it is refused and a page that is not there, each without a Content-Security-Policy
violation or a console error. Screenshots: var/browser-artifacts/<test name>/."""

import pytest
from django.urls import reverse

from casetracker.roles import ADMINISTRATOR, DATA_ENTRY, VERIFIER
from submissions.models import Submission
from tests.browser import PASSWORD, with_password
from tests.factories import in_review, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]


@pytest.fixture
def case():
    """A case in review, entered by someone else: one event, cited by a testimony."""
    return in_review(staff_in(DATA_ENTRY, "author"))


def record_pages(case):
    """The pages every role opens: the lists and records of a case, and its history."""
    source = case.events.get().citations.get().source
    return [
        ("case list", reverse("admin:cases_case_changelist")),
        ("case page", reverse("admin:cases_case_change", args=[case.pk])),
        ("person page", reverse("admin:people_person_change", args=[case.person.pk])),
        ("source page", reverse("admin:sources_source_change", args=[source.pk])),
        ("case history", reverse("admin:cases_case_history", args=[case.pk])),
    ]


def verify_page(case):
    return reverse("admin:cases_case_workflow", args=[case.pk, "verify"])


MISSING_CASE = "/admin/cases/case/987654321/change/"


def refused_page(role, case):
    """A step the role may not take, and the role it needs."""
    if role == VERIFIER:
        return reverse("admin:auth_user_changelist"), ADMINISTRATOR  # staff accounts
    return verify_page(case), VERIFIER


@pytest.mark.parametrize(
    "role", [DATA_ENTRY, VERIFIER, ADMINISTRATOR], ids=["data_entry", "verifier", "administrator"]
)
def test_every_page_a_role_opens_is_clean_in_the_browser(browser, case, role):
    username = role.lower().replace(" ", "_")
    with_password(staff_in(role, username))
    browser.sign_in(username, PASSWORD)  # the login form, then the admin home page

    for step, path in record_pages(case):
        browser.visit(path, step)
    if role == VERIFIER:
        browser.visit(verify_page(case), "verify page")
        # A UN submission of the case, and its draft page (what the draft lacks, why not yet).
        submission = Submission.objects.create(case=case)
        browser.visit(
            reverse("admin:submissions_submission_change", args=[submission.pk]), "submission"
        )
        browser.visit(
            reverse("admin:submissions_submission_draft", args=[submission.pk]), "draft page"
        )
        assert "Information missing" in browser.text()
    browser.visit(
        reverse("evidence-check"), "evidence check", status=200 if role == ADMINISTRATOR else 403
    )

    refused, needed = refused_page(role, case)
    browser.visit(refused, "refused step", status=403)
    assert "Access refused" in browser.text()
    assert f"This needs the {needed} role." in browser.text()
    browser.visit(MISSING_CASE, "missing record", status=404)
    assert "Page not found" in browser.text()

    browser.assert_clean()
