"""Every admin page answers every role with 200, 302, 403 or 404 — never a server error — in
production settings (DEBUG off), with evidence files present."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from api.models import Partner
from cases.models import Case
from imports.models import ImportBatch
from people.models import DuplicateCandidate
from sources.models import EvidenceFile, Source
from tests.test_admin import REGISTERED, admin_url, model_id, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

PERSONAS = ["data_entry", "verifier", "administrator", "no_role", "superuser"]
ANSWERS = {200, 302, 403, 404}
OBJECT_VIEWS = ["change", "history", "delete"]


def production_client(user):
    # A server error must reach the test as a 500, as it would reach a user.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def pages(model, obj):
    """Every admin page of ``model``: its list, add form, and the pages of one record."""
    yield admin_url(model, "changelist")
    yield admin_url(model, "add")
    for view in OBJECT_VIEWS:
        try:
            yield admin_url(model, view, obj.pk)
        except NoReverseMatch:
            continue
    history = obj.history.first() if hasattr(obj, "history") else None
    if history is not None:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history"
        yield reverse(name, args=[obj.pk, history.history_id])


@pytest.fixture
def persona_user(request):
    def get(name):
        return request.getfixturevalue(name)

    return get


@override_settings(DEBUG=False)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("model", REGISTERED, ids=model_id)
def test_every_page_of_every_model_answers_every_role(persona_user, world, persona, model):  # noqa: F811
    client = production_client(persona_user(persona))
    answers = {url: client.get(url).status_code for url in pages(model, world[model])}
    assert {url: status for url, status in answers.items() if status not in ANSWERS} == {}


def custom_pages(world):  # noqa: F811
    """The admin's own pages and those the apps add beside the model pages."""
    case, user = world[Case], world[get_user_model()]
    yield reverse("admin:index")
    yield reverse("admin:password_change")
    yield reverse("admin:password_change_done")
    yield reverse("admin:jsi18n")
    yield reverse("admin:auth_user_password_change", args=[user.pk])
    for app_label in sorted({model._meta.app_label for model in REGISTERED}):
        yield reverse("admin:app_list", args=[app_label])
    for action in ("submit", "request_changes", "verify", "publish", "unpublish", "archive"):
        yield reverse("admin:cases_case_workflow", args=[case.pk, action])
    yield reverse("admin:cases_case_export")
    yield reverse("admin:people_duplicatecandidate_merge", args=[world[DuplicateCandidate].pk])
    yield reverse("admin:people_duplicatecandidate_dismiss", args=[world[DuplicateCandidate].pk])
    yield reverse("admin:api_partner_issue_token", args=[world[Partner].pk])
    yield reverse("admin:imports_importbatch_upload")
    yield reverse("admin:imports_importbatch_confirm", args=[world[ImportBatch].pk])
    for fmt in ("csv", "xlsx"):
        yield reverse("admin:imports_importbatch_template", args=[fmt])
    yield reverse("evidence-download", args=[world[EvidenceFile].uid])


@override_settings(DEBUG=False)
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admins_own_and_added_pages_answer_every_role(persona_user, world, persona):  # noqa: F811
    client = production_client(persona_user(persona))
    answers = {url: client.get(url).status_code for url in custom_pages(world)}
    # 405: a GET of a page that only acts on POST (merge, dismiss, confirm an import).
    assert {url: status for url, status in answers.items() if status not in {*ANSWERS, 405}} == {}


@override_settings(DEBUG=False)
@pytest.mark.parametrize("persona", ["verifier", "administrator", "superuser"])
@pytest.mark.parametrize("model", [Source, EvidenceFile], ids=model_id)
def test_pages_of_a_source_with_a_file_open_for_those_who_may_see_it(
    persona_user,
    world,  # noqa: F811
    persona,
    model,
):
    client = production_client(persona_user(persona))
    response = client.get(admin_url(model, "change", world[model].pk))
    assert response.status_code == 200
    download = reverse("evidence-download", args=[world[EvidenceFile].uid])
    assert download in response.content.decode()
