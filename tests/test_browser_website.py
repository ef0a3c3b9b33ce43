"""The public website in a real browser (tests/browser.py): the home page, a search, a case
page, a person page, the statistics, the methodology, a charge and a place, in each interface
language, without a Content-Security-Policy
violation or a console error, and without JavaScript."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from cases.models import Case

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]


@pytest.fixture
def case(settings, tmp_path):
    """The demo's published case: Kanat Yerezhep."""
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    return Case.objects.published().get(person__display_name="Kanat Yerezhep")


# One test for the four languages: a transactional test empties the migrated gazetteer, which
# the demo needs, and vocabularies_kept puts it back only once the module is done.
def test_the_public_pages_are_clean_in_every_language(browser, case):
    event = case.events.exclude(location=None).first()
    charge, place = case.events.exclude(charges=None).first().charges.first(), event.location
    for language in ["en", "kk", "ru", "zh-hans"]:
        browser.visit(reverse("website:language", args=[language]), f"{language}: language")
        browser.visit(reverse("website:home"), f"{language}: home page")
        browser.visit(f"{reverse('website:search')}?q=Қанат", f"{language}: search")
        assert case.reference in browser.text()
        browser.visit(reverse("website:case", args=[case.reference]), f"{language}: case page")
        assert "Қанат Ережеп" in browser.text()
        browser.visit(reverse("website:person", args=[case.person.uid]), f"{language}: person page")
        browser.visit(reverse("website:statistics"), f"{language}: statistics")
        browser.visit(reverse("website:methodology"), f"{language}: methodology")
        browser.visit(reverse("website:charge", args=[charge.uid]), f"{language}: charge page")
        browser.visit(reverse("website:place", args=[place.uid]), f"{language}: place page")
    browser.assert_clean()
