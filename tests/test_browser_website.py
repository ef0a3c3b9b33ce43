"""The public website in a real browser (tests/browser.py): the home page, a search, a case
page, a person page, the statistics, the methodology, a charge and a place, in each interface
language, without a Content-Security-Policy
violation or a console error, and without JavaScript."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from cases import services
from cases.models import Case
from casetracker.roles import VERIFIER

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]


@pytest.fixture
def case(settings, tmp_path):
    """The demo's published case: Kanat Yerezhep."""
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    return Case.objects.published().get(person__display_name="Kanat Yerezhep")


LANGUAGES = ["en", "kk", "ru", "zh-hans"]


# One test for the four languages: a transactional test empties the migrated gazetteer, which
# the demo needs, and vocabularies_kept puts it back only once the module is done. Every page
# type is audited with axe-core (WCAG 2.2 A and AA) in every language.
def test_the_public_pages_are_clean_and_accessible_in_every_language(browser, case):
    event = case.events.exclude(location=None).first()
    charge, place = case.events.exclude(charges=None).first().charges.first(), event.location
    pages = [
        (reverse("website:home"), "home page", 200),
        (f"{reverse('website:search')}?q=Қанат", "search", 200),
        (f"{reverse('website:search')}?q=Nobody", "search finding nothing", 200),
        (reverse("website:case", args=[case.reference]), "case page", 200),
        (reverse("website:person", args=[case.person.uid]), "person page", 200),
        (reverse("website:statistics"), "statistics", 200),
        (reverse("website:methodology"), "methodology", 200),
        (reverse("website:downloads"), "data download", 200),
        (reverse("website:charge", args=[charge.uid]), "charge page", 200),
        (reverse("website:place", args=[place.uid]), "place page", 200),
        ("/cases/CT-1999-99999/", "page not found", 404),
    ]
    for language in LANGUAGES:
        browser.visit(reverse("website:language", args=[language]), f"{language}: language")
        for address, step, status in pages:
            browser.visit(address, f"{language}: {step}", status=status)
            browser.audit()
            if step == "search":
                assert case.reference in browser.text()
            if step == "case page":
                assert "Қанат Ережеп" in browser.text()
    verifier = get_user_model().objects.filter(groups__name=VERIFIER).first()  # the demo's
    services.unpublish(case, verifier, "The family asked for it.")
    for language in LANGUAGES:
        browser.visit(reverse("website:language", args=[language]), f"{language}: language")
        address = reverse("website:case", args=[case.reference])
        browser.visit(address, f"{language}: withdrawn case", status=410)
        browser.audit()
    browser.assert_clean()


def test_the_accessibility_audit_finds_what_a_bad_page_gets_wrong(browser):
    """The audit above can fail: on a page with an image without a text alternative, a form
    field without a label and no language, axe-core reports each."""
    browser.driver.get(
        "data:text/html,<!DOCTYPE html><title>t</title><main><img src='x.png'>"
        "<input type='text'></main>"
    )
    found = " ".join(browser.audit())
    for rule in ["image-alt", "label", "html-has-lang"]:
        assert f"accessibility: {rule} " in found
