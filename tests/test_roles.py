"""Staff roles: what each persona may open and do in the admin, as a permission matrix."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from cases.models import Case
from casetracker import roles
from casetracker.roles import ADMINISTRATOR, CASE_RECORDS, DATA_ENTRY, ROLES, VERIFIER
from people.models import Person
from sources.models import EvidenceFile
from tests.factories import make_case, make_charge, make_source, make_user

pytestmark = pytest.mark.django_db


def role_permissions():
    """{group name: {"app_label.codename", …}} as stored in the database."""
    return {
        group.name: {
            f"{perm.content_type.app_label}.{perm.codename}"
            for perm in group.permissions.select_related("content_type")
        }
        for group in Group.objects.prefetch_related("permissions")
    }


@pytest.fixture
def as_persona(request, client):
    """as_persona(name) -> the test client, signed in as that persona (or not at all)."""

    def sign_in(persona):
        user = request.getfixturevalue(persona)
        if user is not None:
            client.force_login(user)
        return client

    return sign_in


# --- setup_roles -----------------------------------------------------------------------------


def test_setup_roles_creates_a_group_per_role_with_exactly_its_permissions():
    call_command("setup_roles", stdout=StringIO())
    assert role_permissions() == {role: set(codes) for role, codes in ROLES.items()}


def test_setup_roles_run_twice_leaves_the_same_groups_and_permissions():
    call_command("setup_roles", stdout=StringIO())
    first_groups = sorted(Group.objects.values_list("pk", "name"))
    first_permissions = role_permissions()
    call_command("setup_roles", stdout=StringIO())
    assert sorted(Group.objects.values_list("pk", "name")) == first_groups
    assert role_permissions() == first_permissions


def test_setup_roles_takes_away_a_permission_added_to_a_role_by_hand():
    roles.setup_roles()
    group = Group.objects.get(name=DATA_ENTRY)
    group.permissions.add(Permission.objects.get(codename="delete_case"))
    roles.setup_roles()
    assert "cases.delete_case" not in role_permissions()[DATA_ENTRY]


def test_setup_roles_gives_back_a_permission_removed_by_hand():
    roles.setup_roles()
    Group.objects.get(name=VERIFIER).permissions.clear()
    roles.setup_roles()
    assert role_permissions()[VERIFIER] == set(ROLES[VERIFIER])


def test_no_role_may_delete_case_records():
    deletes = {f"{m.split('.')[0]}.delete_{m.split('.')[1]}" for m in CASE_RECORDS}
    for role, codes in ROLES.items():
        assert not deletes & set(codes), role


# --- the admin permission matrix -------------------------------------------------------------


@pytest.fixture
def objects():
    """Records for the change and delete pages of the matrix, by name."""
    return {
        "case": lambda: make_case().pk,
        "charge": lambda: make_charge().pk,
        "user": lambda: make_user().pk,
    }


MATRIX = [
    # (persona, admin URL name, object for the URL or None, expected status)
    ("data_entry", "admin:index", None, 200),
    ("data_entry", "admin:cases_case_add", None, 200),
    ("data_entry", "admin:cases_case_changelist", None, 200),
    ("data_entry", "admin:people_person_changelist", None, 200),
    ("data_entry", "admin:people_person_add", None, 200),
    ("data_entry", "admin:sources_source_add", None, 200),
    ("data_entry", "admin:sources_citation_add", None, 200),
    ("data_entry", "admin:people_relationship_add", None, 200),
    ("data_entry", "admin:cases_charge_changelist", None, 200),
    ("data_entry", "admin:cases_location_changelist", None, 200),
    ("data_entry", "admin:cases_case_delete", "case", 403),
    ("data_entry", "admin:cases_charge_add", None, 403),
    ("data_entry", "admin:cases_location_add", None, 200),  # places below county level
    ("data_entry", "admin:cases_incident_add", None, 403),
    ("data_entry", "admin:auth_user_changelist", None, 403),
    ("data_entry", "admin:auth_group_changelist", None, 403),
    ("verifier", "admin:cases_incident_add", None, 200),
    ("verifier", "admin:cases_case_add", None, 200),
    ("verifier", "admin:people_person_changelist", None, 200),
    ("verifier", "admin:cases_case_delete", "case", 403),
    ("verifier", "admin:cases_charge_add", None, 403),
    ("verifier", "admin:cases_location_add", None, 200),  # places below county level
    ("verifier", "admin:auth_user_changelist", None, 403),
    ("administrator", "admin:cases_charge_add", None, 200),
    ("administrator", "admin:cases_charge_delete", "charge", 200),
    ("administrator", "admin:cases_location_add", None, 200),
    ("administrator", "admin:cases_incident_add", None, 200),
    ("administrator", "admin:auth_user_changelist", None, 200),
    ("administrator", "admin:auth_user_add", None, 200),
    ("administrator", "admin:auth_group_changelist", None, 200),
    ("administrator", "admin:cases_case_changelist", None, 200),
    ("administrator", "admin:cases_case_add", None, 403),
    ("administrator", "admin:people_person_add", None, 403),
    ("administrator", "admin:sources_source_add", None, 403),
    ("administrator", "admin:cases_case_delete", "case", 403),
    ("administrator", "admin:auth_user_delete", "user", 403),
    ("no_role", "admin:index", None, 200),
    ("no_role", "admin:cases_case_add", None, 403),
    ("no_role", "admin:cases_case_delete", "case", 403),
]


@pytest.mark.parametrize(
    ("persona", "url_name", "obj", "status"),
    MATRIX,
    ids=[f"{p}-{u.removeprefix('admin:')}-{s}" for p, u, _, s in MATRIX],
)
def test_admin_permission_matrix(as_persona, objects, persona, url_name, obj, status):
    args = [objects[obj]()] if obj else []
    url = reverse(url_name, args=args)
    assert as_persona(persona).get(url).status_code == status


def admin_models():
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def changelist_url_name(model):
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"


def test_the_changelist_matrix_is_built_from_every_model_in_the_admin():
    labels = {model._meta.label for model in admin_models()}
    assert {"cases.Case", "people.Person", "sources.Source", "auth.User"} <= labels


@pytest.mark.parametrize("url_name", [changelist_url_name(m) for m in admin_models()])
def test_staff_without_a_role_is_refused_every_changelist(as_persona, url_name):
    assert as_persona("no_role").get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize(
    "url_name",
    ["admin:index", "admin:cases_case_add"] + [changelist_url_name(m) for m in admin_models()],
)
def test_anonymous_visitors_are_sent_to_the_admin_login(as_persona, url_name):
    url = reverse(url_name)
    response = as_persona("anonymous").get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitors_are_sent_to_the_admin_login_from_a_delete_page(as_persona):
    url = reverse("admin:cases_case_delete", args=[make_case().pk])
    response = as_persona("anonymous").get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- doing, not only opening -----------------------------------------------------------------


def management_form(prefix, total=0, minimum=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": str(minimum),
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def person_add_data(name):
    data = {
        "gender": "female",
        "birth_date": "",
        "ethnicity": "kazakh",
        "citizenship": "CN",
        "place_of_origin": "",
        "occupation": "Teacher",
        "public_summary": "",
        "consent": "unknown",
        "internal_notes": "",
        "contact_details": "",
        "names-0-name": name,
        "names-0-script": "",
        "names-0-language": "en",
        "names-0-kind": "transliteration",
        "names-0-is_preferred": "on",
        **management_form("names", total=1, minimum=1),
    }
    for prefix in ("affiliations", "relationships", "citations"):
        data.update(management_form(prefix))
    return data


def test_data_entry_can_add_a_person_through_the_admin(as_persona, data_entry):
    client = as_persona("data_entry")
    response = client.post(reverse("admin:people_person_add"), person_add_data("Aigul Test"))
    assert response.status_code == 302, response.context and response.context["errors"]
    person = Person.objects.get(display_name="Aigul Test")
    assert person.created_by == data_entry


def test_administrator_cannot_add_a_person_through_the_admin(as_persona):
    client = as_persona("administrator")
    response = client.post(reverse("admin:people_person_add"), person_add_data("Aigul Test"))
    assert response.status_code == 403
    assert not Person.objects.filter(display_name="Aigul Test").exists()


def test_data_entry_cannot_delete_a_case_through_the_admin(as_persona):
    case = make_case()
    client = as_persona("data_entry")
    response = client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_verifier_cannot_delete_a_case_through_the_admin(as_persona):
    case = make_case()
    client = as_persona("verifier")
    response = client.post(reverse("admin:cases_case_delete", args=[case.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()


def test_data_entry_cannot_delete_a_case_through_the_changelist_action(as_persona):
    case = make_case()
    client = as_persona("data_entry")
    client.post(
        reverse("admin:cases_case_changelist"),
        {"action": "delete_selected", "_selected_action": [case.pk], "post": "yes"},
    )
    assert Case.objects.filter(pk=case.pk).exists()


def user_change_data(user, **changes):
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return data


def test_administrator_cannot_make_themselves_superuser(as_persona, administrator):
    client = as_persona("administrator")
    client.post(
        reverse("admin:auth_user_change", args=[administrator.pk]),
        user_change_data(administrator, is_superuser="on"),
    )
    administrator.refresh_from_db()
    assert not administrator.is_superuser


def test_administrator_cannot_give_a_role_the_right_to_delete_cases(as_persona):
    client = as_persona("administrator")
    group = Group.objects.get(name=ADMINISTRATOR)
    perms = list(group.permissions.values_list("pk", flat=True))
    delete_case = Permission.objects.get(codename="delete_case")
    client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": group.name, "permissions": [str(pk) for pk in [*perms, delete_case.pk]]},
    )
    assert "cases.delete_case" not in role_permissions()[ADMINISTRATOR]


# --- evidence downloads ----------------------------------------------------------------------


@pytest.fixture
def evidence(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("statement.pdf", b"%PDF-1.4 testimony", "application/pdf")
    return EvidenceFile.objects.create(source=make_source(), file=upload)


def download_url(evidence):
    return reverse("evidence-download", args=[evidence.uid])


@pytest.mark.parametrize("persona", ["data_entry", "verifier", "administrator"])
def test_staff_with_a_role_can_download_evidence(as_persona, evidence, persona):
    response = as_persona(persona).get(download_url(evidence))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 testimony"
    assert response["Content-Disposition"].startswith("attachment")


def test_staff_without_a_role_gets_not_found_for_evidence(as_persona, evidence):
    assert as_persona("no_role").get(download_url(evidence)).status_code == 404


def test_anonymous_visitors_are_sent_to_login_for_evidence(as_persona, evidence):
    response = as_persona("anonymous").get(download_url(evidence))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not response.has_header("Content-Disposition")


# --- the permissions a role or an account is offered ----------------------------------------


def grantable_codes():
    from casetracker.accounts import grantable_permissions

    return {
        f"{perm.content_type.app_label}.{perm.codename}"
        for perm in grantable_permissions().select_related("content_type")
    }


def test_every_permission_a_role_holds_is_offered_in_the_role_form():
    # A permission the form did not offer would be dropped the next time the role is saved.
    offered = grantable_codes()
    for role, codes in ROLES.items():
        assert set(codes) <= offered, role


def test_the_role_form_offers_no_permission_of_a_model_nobody_opens(admin_client):
    offered = grantable_codes()
    assert "rest_framework_api_key.add_apikey" not in offered
    assert "axes.view_accessattempt" not in offered
    assert "languages.change_languagepreference" not in offered
    page = admin_client.get(reverse("admin:auth_group_add")).content.decode()
    unused = Permission.objects.get(codename="add_apikey")
    used = Permission.objects.get(codename="add_case")
    assert f'value="{used.pk}"' in page
    assert f'value="{unused.pk}"' not in page


def test_a_superuser_granting_one_permission_is_offered_the_same_list(admin_client, data_entry):
    page = admin_client.get(reverse("admin:auth_user_change", args=[data_entry.pk]))
    choices = page.context["adminform"].form.fields["user_permissions"].queryset
    assert not choices.filter(content_type__app_label="rest_framework_api_key").exists()
    assert choices.filter(codename="change_case").exists()
