"""Small defects of the admin, each with the test that caught it: the case reference's help text,
the state on the verify page, the History page's inline style, the favicon, "View site", and the
demo's login page asking for a code it does not need."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import Case
from casetracker.roles import DATA_ENTRY
from tests.factories import in_review, make_case, make_user, staff_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- the case reference's help text ----------------------------------------------------------


def test_the_case_page_explains_the_reference_with_a_real_example(admin_client, settings):
    case = make_case()
    html = page(admin_client.get(reverse("admin:cases_case_change", args=[case.pk])))
    # The old text's "<year>" and "<number>" were taken for HTML tags: it read "CT--.".
    assert "<year>" not in html
    assert f"such as {settings.CASE_REFERENCE_PREFIX}-2024-00017." in html


def test_the_reference_example_follows_the_configured_prefix(settings):
    settings.CASE_REFERENCE_PREFIX = "AJ"
    assert "such as AJ-2024-00017." in str(Case._meta.get_field("reference").help_text)


@pytest.mark.parametrize("model", ["case", "historicalcase"])
def test_another_reference_prefix_needs_no_migration(settings, model):
    settings.CASE_REFERENCE_PREFIX = "AJ"
    migrated = MigrationLoader(None, ignore_no_migrations=True).project_state()
    in_migrations = migrated.models["cases", model].fields["reference"].help_text
    in_model = apps.get_model("cases", model)._meta.get_field("reference").help_text
    assert str(in_migrations) == str(in_model)


# --- the verify page -------------------------------------------------------------------------


def test_the_verify_page_says_the_case_is_in_review_in_words(client, verifier):
    case = in_review(staff_in(DATA_ENTRY, "author"))
    client.force_login(verifier)
    html = page(client.get(reverse("admin:cases_case_workflow", args=[case.pk, "verify"])))
    assert "inreview" not in html
    assert "is <strong>in review</strong>" in html


# --- the History page ------------------------------------------------------------------------


def test_the_history_page_has_no_inline_style(admin_client):
    case = make_case()
    html = page(admin_client.get(reverse("admin:cases_case_history", args=[case.pk])))
    assert 'class="paginator history-paginator"' in html
    assert " style=" not in html
    assert "<style" not in html


def test_the_history_pages_rule_is_in_the_projects_stylesheet():
    with open(finders.find("casetracker/admin.css"), encoding="utf-8") as css:
        assert ".paginator.history-paginator" in css.read()


# --- the favicon -----------------------------------------------------------------------------


def test_favicon_ico_is_answered(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/casetracker/favicon.ico"
    assert finders.find("casetracker/favicon.ico")


ICON = '<link rel="icon" href="/static/casetracker/favicon.svg" type="image/svg+xml">'


def test_the_login_page_names_its_icon(client):
    assert ICON in page(client.get(reverse("admin:login")))
    assert finders.find("casetracker/favicon.svg")


def test_admin_pages_name_their_icon(admin_client):
    assert ICON in page(admin_client.get(reverse("admin:index")))


# --- "View site" -----------------------------------------------------------------------------


def test_the_admin_offers_no_view_site_link_while_there_is_no_site(admin_client):
    assert admin.site.site_url is None
    assert "View site" not in page(admin_client.get(reverse("admin:index")))


# --- the demo's login page -------------------------------------------------------------------


def test_the_demo_login_page_asks_for_no_code(client, settings):
    settings.REQUIRE_2FA = False
    html = page(client.get(reverse("admin:login")))
    assert 'name="otp_token"' not in html
    assert "Authentication code" not in html
    assert 'name="password"' in html


def test_with_two_factor_on_the_login_page_asks_for_the_code(client, settings):
    settings.REQUIRE_2FA = True
    html = page(client.get(reverse("admin:login")))
    assert 'name="otp_token"' in html
    assert "Authentication code" in html


def test_the_demo_signs_in_with_the_password_alone_even_with_a_device(client, settings):
    settings.REQUIRE_2FA = False
    user = make_user("aigerim", password=PASSWORD)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    response = client.post(
        reverse("admin:login"), {"username": "aigerim", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_failed_demo_sign_in_does_not_mention_a_code(client, settings):
    settings.REQUIRE_2FA = False
    make_user("aigerim", password=PASSWORD)
    html = page(client.post(reverse("admin:login"), {"username": "aigerim", "password": "not-it"}))
    assert "Please enter the correct username and password for a staff account" in html
    assert "authentication code" not in html.lower()
