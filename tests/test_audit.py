"""The audit trail: every write path leaves a history row saying who and why, the history and
transition tables are append-only on PostgreSQL, and the admin shows history read-only."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, ProgrammingError, connection, transaction
from django.urls import reverse

from cases import services
from cases.models import Case, CaseTransition, Charge, ReviewState
from casetracker.audit import acting_as, because
from casetracker.demo import uid
from casetracker.roles import VERIFIER
from tests.admin_forms import AdminForm, assert_saved
from tests.factories import (
    cited_case,
    fresh,
    in_review,
    make_case,
    make_charge,
    make_user,
    staff_in,
    verified,
)

pytestmark = pytest.mark.django_db


def latest(model_or_instance):
    return model_or_instance.history.order_by("-history_date", "-history_id").first()


def history_of(instance):
    return type(instance).history.filter(id=instance.pk).order_by("history_date", "history_id")


# --- an admin save -------------------------------------------------------------------------


def change_url(case):
    return reverse("admin:cases_case_change", args=[case.pk])


def test_an_admin_save_is_attributed_to_the_signed_in_user(client, data_entry):
    case = make_case(created_by=data_entry)
    client.force_login(data_entry)
    page = AdminForm(client, change_url(case))
    assert_saved(page.post(public_summary="Detained in April 2024."))
    row = latest(fresh(case))
    assert row.history_user == data_entry
    assert row.public_summary == "Detained in April 2024."


def test_an_admin_save_stores_the_change_reason_typed_in_the_form(client, data_entry):
    case = make_case(created_by=data_entry)
    client.force_login(data_entry)
    page = AdminForm(client, change_url(case))
    response = page.post(
        public_summary="Detained in April 2024.",
        change_reason="Corrected the date from the court notice.",
    )
    assert_saved(response)
    assert latest(fresh(case)).history_change_reason == "Corrected the date from the court notice."


def test_an_admin_save_without_a_reason_stores_none(client, data_entry):
    case = make_case(created_by=data_entry)
    client.force_login(data_entry)
    assert_saved(AdminForm(client, change_url(case)).post(public_summary="Detained."))
    assert not latest(fresh(case)).history_change_reason


# --- service transitions -------------------------------------------------------------------


def test_a_transition_writes_case_history_attributed_to_the_actor(data_entry):
    case = cited_case(data_entry)
    before = history_of(case).count()
    services.submit_for_review(case, data_entry, "Ready for review.")
    assert history_of(case).count() == before + 1
    row = latest(fresh(case))
    assert row.history_user == data_entry
    assert row.review_state == ReviewState.IN_REVIEW
    assert "Submitted for review" in row.history_change_reason
    assert "Ready for review." in row.history_change_reason


def test_a_verification_is_attributed_to_the_verifier_with_the_action(data_entry, verifier):
    case = in_review(data_entry)
    services.verify(case, verifier)
    row = latest(fresh(case))
    assert row.history_user == verifier
    assert row.history_change_reason.startswith("Verified")


def test_a_reopen_after_an_edit_is_attributed_to_the_editor(data_entry, verifier):
    case = verified(data_entry, verifier)
    with acting_as(data_entry):
        case.public_summary = "Sentenced."
        case.save()
    row = latest(fresh(case))
    assert row.history_user == data_entry
    assert row.review_state == ReviewState.IN_REVIEW
    assert "changed after verification" in row.history_change_reason


# --- bulk write paths ----------------------------------------------------------------------


@pytest.fixture
def importer():
    return make_user("importer")


def test_bulk_create_writes_one_created_row_per_object_with_the_acting_user(importer):
    with acting_as(importer, "Imported from the Atajurt list."):
        charges = Charge.objects.bulk_create(
            [Charge(name="Bulk charge A"), Charge(name="Bulk charge B")]
        )
    for charge in charges:
        rows = list(history_of(charge))
        assert [(r.history_type, r.history_user, r.name) for r in rows] == [
            ("+", importer, charge.name)
        ]
        assert rows[0].history_change_reason == "Imported from the Atajurt list."


def test_bulk_update_writes_a_changed_row_per_object_with_the_new_value(importer):
    charges = [make_charge("Bulk charge A"), make_charge("Bulk charge B")]
    for charge in charges:
        charge.description = "Reworded."
    with acting_as(importer):
        Charge.objects.bulk_update(charges, ["description"])
    for charge in charges:
        row = latest(charge)
        assert (row.history_type, row.history_user, row.description) == (
            "~",
            importer,
            "Reworded.",
        )


def test_update_writes_a_changed_row_per_object_with_the_new_value(importer):
    charges = [make_charge("Bulk charge A"), make_charge("Bulk charge B")]
    with acting_as(importer, "Tidied the list."):
        updated = Charge.objects.filter(pk__in=[c.pk for c in charges]).update(
            description="Reworded."
        )
    assert updated == 2
    for charge in charges:
        assert history_of(charge).count() == 2
        row = latest(charge)
        assert (row.history_type, row.history_user, row.description) == (
            "~",
            importer,
            "Reworded.",
        )
        assert row.history_change_reason == "Tidied the list."


def test_update_of_cases_writes_history_for_each_case(importer):
    cases = [make_case(), make_case()]
    with because("Bulk correction."):
        Case.objects.filter(pk__in=[c.pk for c in cases]).update(internal_notes="Checked.")
    for case in cases:
        row = latest(case)
        assert (row.history_type, row.internal_notes) == ("~", "Checked.")
        assert row.history_change_reason == "Bulk correction."


def test_deleting_an_object_writes_a_deleted_row(importer):
    charge = make_charge("Obsolete charge")
    pk = charge.pk
    with acting_as(importer):
        charge.delete()
    row = Charge.history.filter(id=pk).order_by("-history_date").first()
    assert (row.history_type, row.history_user, row.name) == ("-", importer, "Obsolete charge")


def test_deleting_through_a_queryset_writes_a_deleted_row_per_object(importer):
    charges = [make_charge("Obsolete A"), make_charge("Obsolete B")]
    with acting_as(importer):
        Charge.objects.filter(pk__in=[c.pk for c in charges]).delete()
    for charge in charges:
        assert [r.history_type for r in history_of(charge)] == ["+", "-"]


@pytest.mark.parametrize("option", ["ignore_conflicts", "update_conflicts"])
def test_conflict_skipping_bulk_create_is_refused(option):
    kwargs = {option: True}
    if option == "update_conflicts":
        kwargs.update(update_fields=["description"], unique_fields=["name"])
    with pytest.raises(ValueError, match="cannot be audited"):
        Charge.objects.bulk_create([Charge(name="Bulk charge")], **kwargs)
    assert not Charge.objects.filter(name="Bulk charge").exists()


# --- management commands -------------------------------------------------------------------


@pytest.fixture
def demo(settings, tmp_path):
    settings.DEMO = True
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    return Case.objects.get(uid=uid("case/kanat-yerezhep"))


def test_load_demo_writes_history_for_the_demo_case(demo):
    rows = list(history_of(demo))
    assert rows
    assert rows[0].history_type == "+"


def test_load_demo_attributes_the_records_it_creates_to_the_demo_data_entry_user(demo):
    dataentry = get_user_model().objects.get(username="dataentry")
    created = history_of(demo).first()
    assert (created.history_type, created.history_user) == ("+", dataentry)
    assert "load_demo" in created.history_change_reason


def test_writes_of_a_command_inside_acting_as_are_attributed(demo, importer):
    draft = Case.objects.get(uid=uid("case/fictional-draft"))

    def nightly_import():
        """What a management command does: no request, so it names its actor."""
        with acting_as(importer, "Nightly import"):
            case = fresh(draft)
            case.internal_notes = "Checked against the new list."
            case.save()

    nightly_import()
    row = latest(fresh(draft))
    assert (row.history_user, row.history_change_reason) == (importer, "Nightly import")


def test_writes_outside_a_request_or_acting_as_have_no_user():
    case = make_case()
    assert latest(case).history_user is None


# --- append-only tables on PostgreSQL ------------------------------------------------------

APPEND_ONLY_TABLES = [
    "cases_historicalcase",
    "cases_historicaldetentionevent",
    "people_historicalperson",
    "people_historicalpersonname",
    "sources_historicalcitation",
    "sources_historicalsource",
    "cases_casetransition",
]


@pytest.fixture
def trail(data_entry):
    """A case with history rows everywhere and one transition."""
    case = cited_case(data_entry)
    services.submit_for_review(case, data_entry, "Ready.")
    return case


def raw(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.postgresql
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_postgresql_refuses_a_raw_update_of_an_append_only_table(trail, table):
    column = "reason" if table == "cases_casetransition" else "history_change_reason"
    # psycopg maps SQLSTATE 42501 (insufficient_privilege) to ProgrammingError.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"UPDATE {table} SET {column} = 'rewritten'")  # noqa: S608 - fixed names


@pytest.mark.postgresql
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_postgresql_refuses_a_raw_delete_from_an_append_only_table(trail, table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        [count] = cursor.fetchone()
    assert count > 0
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
        assert cursor.fetchone() == (count,)


@pytest.mark.postgresql
def test_postgresql_reports_the_refusal_as_insufficient_privilege(trail):
    with pytest.raises(ProgrammingError) as refusal, transaction.atomic():
        raw("DELETE FROM cases_historicalcase")
    assert refusal.value.__cause__.sqlstate == "42501"


@pytest.mark.postgresql
def test_postgresql_still_lets_history_grow(trail, data_entry):
    rows, steps = history_of(trail).count(), CaseTransition.objects.count()
    with transaction.atomic():
        services.request_changes(trail, staff_in(VERIFIER, "verifier"), "Add a source.")
    assert history_of(trail).count() == rows + 1
    assert CaseTransition.objects.count() == steps + 1


# --- the admin shows history, read-only ----------------------------------------------------


def history_url(case):
    return reverse("admin:cases_case_history", args=[case.pk])


def version_url(case, row):
    return reverse("admin:cases_case_simple_history", args=[case.pk, row.history_id])


@pytest.fixture
def recorded_case(data_entry):
    case = make_case(created_by=data_entry, public_summary="First account.")
    with acting_as(data_entry):
        case.public_summary = "Second account."
        case.save()
    return fresh(case)


@pytest.mark.parametrize("persona", ["superuser", "administrator", "data_entry"])
def test_the_history_page_opens(client, request, recorded_case, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(history_url(recorded_case))
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == history_of(recorded_case).count() == 2


@pytest.mark.parametrize("persona", ["superuser", "administrator"])
def test_a_history_version_opens_without_a_revert_button(client, request, recorded_case, persona):
    client.force_login(request.getfixturevalue(persona))
    first = history_of(recorded_case).first()
    response = client.get(version_url(recorded_case, first))
    assert response.status_code == 200
    assert response.context["revert_disabled"]
    assert 'value="Revert"' not in response.content.decode()


def post_old_version(client, case):
    """POST the history form of the case's first version, as a revert would."""
    first = history_of(case).first()
    url = version_url(case, first)
    form = client.get(url).context["adminform"].form
    data = {
        "person": str(case.person_id),
        "public_summary": first.public_summary,
        "internal_notes": "",
        "status_override": "",
        "opened_version": str(case.version),
        "change_reason": "",
    }
    assert set(data) <= set(form.fields)
    return client.post(url, data)


@pytest.mark.parametrize("persona", ["superuser", "administrator", "data_entry"])
def test_posting_a_history_version_does_not_change_the_record(
    client, request, recorded_case, persona
):
    client.force_login(request.getfixturevalue(persona))
    post_old_version(client, recorded_case)
    case = fresh(recorded_case)
    assert case.public_summary == "Second account."
    assert case.version == recorded_case.version


def test_posting_an_old_version_does_not_unarchive_a_case(client, data_entry, verifier):
    case = verified(data_entry, verifier)
    services.archive(case, verifier, "Duplicate of another case.")
    client.force_login(data_entry)
    post_old_version(client, fresh(case))
    assert fresh(case).archived_at is not None


@pytest.mark.postgresql
def test_every_history_and_log_table_refuses_updates_and_deletes_on_postgresql():
    from django.apps import apps
    from django.db import connection

    logs = {"cases_casetransition", "casetracker_securityevent", "api_apirequest"}
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model.__name__.startswith("Historical")
    } | logs
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_object_table, event_manipulation FROM information_schema.triggers "
            "WHERE trigger_name LIKE %s",
            ["%append_only"],
        )
        guarded = {(table, op) for table, op in cursor.fetchall()}
    missing = sorted(t for t in tables for op in ("UPDATE", "DELETE") if (t, op) not in guarded)
    assert missing == []
