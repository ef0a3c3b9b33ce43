"""The refused (403) and not-found (404) pages: in the admin's look, saying in plain words what
happened; a 403 names the role the step needs, a 404 says nothing about what was asked for."""

import re

import pytest
from django.urls import reverse

from casetracker.errors import roles_with
from casetracker.roles import ADMINISTRATOR, DATA_ENTRY, VERIFIER
from tests.factories import in_review, make_case

pytestmark = pytest.mark.django_db

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def page(response) -> str:
    return response.content.decode()


def signed_in(client, user):
    client.force_login(user)
    return client


def assert_in_admin_look(response, template):
    assert template in [t.name for t in response.templates]
    html = page(response)
    assert "casetracker/admin.css" in html
    assert '<div id="site-name"><a href="/admin/">casetracker</a></div>' in html


def assert_no_inline_script_or_style(response):
    html = page(response)
    assert "<style" not in html
    assert " style=" not in html
    assert [tag for tag in re.findall(r"<script\b([^>]*)>", html) if "src=" not in tag] == []
    assert "style-src 'self'" in response["Content-Security-Policy"]


# --- 403 -------------------------------------------------------------------------------------


def test_data_entry_opening_the_verify_step_is_told_it_needs_the_verifier_role(client, data_entry):
    case = in_review(data_entry)
    url = reverse("admin:cases_case_workflow", args=[case.pk, "verify"])
    response = signed_in(client, data_entry).get(url)
    assert response.status_code == 403
    assert_in_admin_look(response, "403.html")
    html = page(response)
    assert "Access refused" in html
    assert "This needs one of these roles: Verifier." not in html  # one role: said as one
    assert "This needs the Verifier role." in html
    assert "An Administrator gives staff their roles" in html


def test_a_refused_admin_page_names_the_role_that_opens_it(client, verifier):
    response = signed_in(client, verifier).get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 403
    assert "This needs the Administrator role." in page(response)


def test_a_refused_change_names_the_roles_that_may_change_not_those_that_may_view(
    client, administrator
):
    case = make_case()
    url = reverse("admin:cases_case_change", args=[case.pk])
    response = signed_in(client, administrator).post(url, {})  # Administrators only view cases
    assert response.status_code == 403
    assert "This needs one of these roles: Data entry, Verifier." in page(response)


def test_what_no_role_includes_is_said_to_be_beyond_every_role(client, administrator):
    response = signed_in(client, administrator).get(reverse("admin:auth_group_add"))
    assert response.status_code == 403
    html = page(response)
    assert "None of the staff roles may do this" in html
    assert "An Administrator gives staff their roles" not in html


def test_a_read_only_record_refused_to_a_superuser_is_not_blamed_on_a_role(admin_client):
    response = admin_client.get(reverse("admin:casetracker_securityevent_add"))
    assert response.status_code == 403
    html = page(response)
    assert "Your role allows this kind of page, but not for this record" in html
    assert "This needs" not in html


def test_a_refusal_without_a_known_permission_says_to_ask_an_administrator(client, data_entry):
    response = signed_in(client, data_entry).get(reverse("evidence-check"))
    assert response.status_code == 403
    html = page(response)
    assert "Your role does not include this page. If your work needs it, ask an Administrator" in (
        html
    )
    assert "This needs" not in html


def test_roles_are_looked_up_from_the_roles_they_hold():
    assert roles_with("cases.verify_case") == [VERIFIER]
    assert roles_with("cases.change_case") == [DATA_ENTRY, VERIFIER]
    assert roles_with("auth.change_user") == [ADMINISTRATOR]
    assert roles_with("auth.change_group") == []


def test_the_403_page_passes_the_content_security_policy(client, data_entry):
    case = in_review(data_entry)
    url = reverse("admin:cases_case_workflow", args=[case.pk, "verify"])
    assert_no_inline_script_or_style(signed_in(client, data_entry).get(url))


def test_a_form_refused_by_the_csrf_check_gets_a_styled_page_for_anonymous_visitors_too():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        reverse("admin:login"), {"username": "x", "password": "y"}
    )
    assert response.status_code == 403
    assert_in_admin_look(response, "403_csrf.html")
    assert "Form not accepted" in page(response)
    assert_no_inline_script_or_style(response)


# --- 404 -------------------------------------------------------------------------------------


def test_a_hidden_case_and_a_missing_one_get_the_same_404_page(client, assigned, outsider):
    hidden = make_case(sensitive=True, created_by=assigned, updated_by=assigned)
    hidden.assigned_staff.add(assigned)
    missing_pk = hidden.pk + 1000
    client = signed_in(client, outsider)

    answers = []
    for pk in (hidden.pk, missing_pk):
        response = client.get(reverse("admin:cases_case_change", args=[pk]))
        assert response.status_code == 404
        assert_in_admin_look(response, "404.html")
        answers.append(CSRF_TOKEN.sub("", page(response)))
    assert answers[0] == answers[1]
    assert "Page not found" in answers[0]
    assert hidden.reference not in answers[0]
    assert f"/{hidden.pk}/" not in answers[0]


def test_a_missing_page_for_anonymous_visitors_is_styled_too(client, settings):
    settings.PUBLIC_SITE = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_in_admin_look(response, "404.html")
    html = page(response)
    assert "Page not found" in html
    assert "no-such-page" not in html
    assert 'id="user-tools"' not in html


def test_a_missing_page_of_the_public_website_is_in_its_look(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "website/not_found.html" in [t.name for t in response.templates]
    html = page(response)
    assert "no-such-page" not in html
    assert "account" not in html and "/admin/" not in html


def test_a_missing_admin_page_keeps_the_admin_look_with_the_public_website_on(client):
    response = client.get("/admin/no-such-page/")
    assert response.status_code in (302, 404)  # the admin asks a visitor to sign in first


def test_the_404_page_passes_the_content_security_policy(client, data_entry):
    response = signed_in(client, data_entry).get("/admin/cases/case/987654321/change/")
    assert response.status_code == 404
    assert_no_inline_script_or_style(response)
