"""Every admin page answers every role with 200, 302, 403 or 404 — never a server error — in
production settings (DEBUG off), with evidence files present."""

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

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


@override_settings(DEBUG=False)
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admin_index_and_password_pages_answer_every_role(persona_user, world, persona):  # noqa: F811
    client = production_client(persona_user(persona))
    for url in (reverse("admin:index"), reverse("admin:password_change")):
        assert client.get(url).status_code in ANSWERS, url


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
