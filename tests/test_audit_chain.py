"""The tamper-evident audit chain: every write path links its history rows, a rolled-back write
leaves no link, and rows or links changed, deleted or inserted behind the application's back
are found by verify_chain() and `manage.py verify_audit`."""

import itertools
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from cases import services
from cases.models import Case, CaseTransition, Charge, Location
from casetracker import crypto, integrity
from casetracker.audit import acting_as
from casetracker.integrity import (
    GENESIS,
    AuditLink,
    Problem,
    canonical_content,
    canonical_json,
    chain_head,
    chain_unlinked,
    content_hash,
    verify_chain,
)
from casetracker.security import SecurityEvent, record
from tests.factories import (
    cited_case,
    make_case,
    make_charge,
    make_incident,
    make_location,
    make_person,
)

pytestmark = pytest.mark.django_db


def links_of(row):
    return list(AuditLink.objects.filter(record_type=row._meta.label_lower, record_pk=row.pk))


def history_rows(instance):
    return list(type(instance).history.filter(id=instance.pk).order_by("history_id"))


def latest_history(instance):
    return history_rows(instance)[-1]


def new_links(since: int):
    return list(AuditLink.objects.filter(position__gt=since).order_by("position"))


def assert_linked_once(row):
    assert len(links_of(row)) == 1


# --- every write path links -----------------------------------------------------------------


def test_a_single_save_links_its_history_row():
    charge = make_charge("Inciting separatism")
    [row] = history_rows(charge)
    [link] = links_of(row)
    assert link.content_hash == content_hash(canonical_content(row))


def test_a_change_links_the_new_history_row():
    charge = make_charge()
    charge.description = "Article 103(2)."
    charge.save()
    for row in history_rows(charge):
        assert_linked_once(row)


def test_bulk_create_links_one_history_row_per_object():
    before = chain_head()[0]
    charges = Charge.objects.bulk_create([Charge(name="Bulk A"), Charge(name="Bulk B")])
    rows = [latest_history(c) for c in charges]
    assert [(link.record_type, link.record_pk) for link in new_links(before)] == [
        ("cases.historicalcharge", row.pk) for row in rows
    ]


def test_bulk_update_links_one_history_row_per_object():
    charges = [make_charge(), make_charge()]
    for charge in charges:
        charge.description = "Reworded."
    before = chain_head()[0]
    Charge.objects.bulk_update(charges, ["description"])
    assert len(new_links(before)) == 2
    for charge in charges:
        assert_linked_once(latest_history(charge))


def test_a_queryset_update_links_one_history_row_per_object():
    charges = [make_charge(), make_charge()]
    before = chain_head()[0]
    Charge.objects.filter(pk__in=[c.pk for c in charges]).update(description="Reworded.")
    assert len(new_links(before)) == 2
    for charge in charges:
        assert_linked_once(latest_history(charge))


def test_an_m2m_change_links_the_history_row_and_its_m2m_rows():
    case = make_case()
    before = chain_head()[0]
    case.incidents.add(make_incident(), make_incident())
    types = [link.record_type for link in new_links(before)]
    assert types.count("cases.historicalcase") == 1
    assert types.count("cases.historicalcase_incidents") == 2
    m2m_rows = apps.get_model("cases", "HistoricalCase_incidents").objects.filter(
        history=latest_history(case)
    )
    assert len(m2m_rows) == 2
    for row in m2m_rows:
        assert_linked_once(row)


def test_a_delete_links_its_history_row():
    charge = make_charge()
    pk = charge.pk
    charge.delete()
    deleted = Charge.history.get(id=pk, history_type="-")
    assert_linked_once(deleted)


def test_a_workflow_transition_is_linked(data_entry):
    case = cited_case(data_entry)
    step = services.submit_for_review(case, data_entry, "Ready.")
    assert_linked_once(step)


def test_bulk_created_transitions_are_linked(data_entry):
    case = cited_case(data_entry)
    steps = CaseTransition.objects.bulk_create(
        [
            CaseTransition(case=case, action="submit", from_state="draft", to_state="in_review"),
            CaseTransition(case=case, action="verify", from_state="in_review", to_state="verified"),
        ]
    )
    for step in steps:
        assert_linked_once(step)


def test_a_security_event_is_linked():
    event = record(SecurityEvent.Kind.LOGIN_FAILED, username="someone")
    assert_linked_once(event)


def test_the_demo_data_loaded_by_its_command_is_chained_and_verifies(settings, tmp_path):
    settings.DEMO, settings.VAR_DIR = True, tmp_path
    call_command("load_demo", stdout=StringIO())
    report = verify_chain()
    assert report.ok, report
    assert report.records == AuditLink.objects.count() > 0


def test_links_run_from_position_one_without_gaps_each_pointing_at_its_predecessor(data_entry):
    services.submit_for_review(cited_case(data_entry), data_entry, "Ready.")
    links = list(AuditLink.objects.order_by("position"))
    assert [link.position for link in links] == list(range(1, len(links) + 1))
    assert links[0].previous_hash == GENESIS
    for before, link in itertools.pairwise(links):
        assert link.previous_hash == before.hash


def test_a_rolled_back_write_leaves_no_link():
    head = chain_head()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_charge()
        raise RuntimeError("the import failed half-way")
    assert chain_head() == head


def test_a_rolled_back_bulk_write_leaves_no_link():
    head = chain_head()
    with pytest.raises(RuntimeError), transaction.atomic():
        Charge.objects.bulk_create([Charge(name="Bulk A"), Charge(name="Bulk B")])
        raise RuntimeError("the import failed half-way")
    assert chain_head() == head


# --- canonical content ----------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": None, "a": "Қанат", "c": True}) == (
        '{"a":"Қанат","b":null,"c":true}'.encode()
    )


def test_canonical_content_writes_times_in_utc_with_microseconds():
    almaty = timezone(timedelta(hours=5))
    event = SecurityEvent(
        pk=7, kind="login", created_at=datetime(2024, 4, 1, 9, 30, 0, 250, tzinfo=almaty)
    )
    assert canonical_content(event)["created_at"] == "2024-04-01T04:30:00.000250Z"


def test_canonical_content_writes_decimals_with_the_columns_places():
    row = Location.history.model(latitude=43.825592, longitude=Decimal("87.6168"))
    content = canonical_content(row)
    assert (content["latitude"], content["longitude"]) == ("43.825592", "87.616800")


def test_canonical_content_writes_uuids_as_text():
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert canonical_content(Charge.history.model(uid=uid))["uid"] == str(uid)


def test_a_record_hashes_the_same_after_a_round_trip_through_the_database():
    place = make_location(latitude="43.8255921", longitude=87.616848)
    row = latest_history(place)
    written = links_of(row)[0].content_hash
    # Read back as the database returns it (REAL on SQLite, numeric on PostgreSQL).
    reread = type(row).objects.get(pk=row.pk)
    assert content_hash(canonical_content(reread)) == written


def test_an_event_time_with_an_offset_hashes_the_same_after_a_round_trip():
    almaty = timezone(timedelta(hours=5))
    event = SecurityEvent.objects.create(
        kind="login", created_at=datetime(2024, 4, 1, 9, 30, 0, 123456, tzinfo=almaty)
    )
    reread = SecurityEvent.objects.get(pk=event.pk)
    assert content_hash(canonical_content(reread)) == links_of(event)[0].content_hash


# The hash of GOLDEN_EVENT as written and as read back: the same figure on SQLite and on
# PostgreSQL (the suite runs on both), so a copy moved between them verifies.
GOLDEN_EVENT = {
    "pk": 424242,
    "kind": "login_failed",
    "username": "Қанат",
    "ip_address": "10.0.0.1",
    "path": "/admin/",
    "detail": "",
    "created_at": datetime(2024, 11, 5, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5))),
}
# {"created_at":"2024-11-05T09:30:15.123456Z","detail":"","id":424242,"ip_address":"10.0.0.1",
#  "kind":"login_failed","path":"/admin/","username":"Қанат"}
GOLDEN_HASH = "78b05ec5b7772b46f486bf9f4d62578b31ca05ef42afc111718c4de2ededb16f"


def test_a_record_hashes_to_the_same_figure_on_every_database():
    event = SecurityEvent.objects.create(**GOLDEN_EVENT)
    reread = SecurityEvent.objects.get(pk=event.pk)
    assert content_hash(canonical_content(event)) == GOLDEN_HASH
    assert content_hash(canonical_content(reread)) == GOLDEN_HASH
    assert links_of(event)[0].content_hash == GOLDEN_HASH


# --- verify_chain finds what was done behind the application's back -------------------------


@pytest.fixture
def trail(data_entry):
    """A case with history rows in several tables, an m2m change and a transition."""
    case = cited_case(data_entry)
    case.incidents.add(make_incident())
    with acting_as(data_entry, "Tidied."):
        make_charge("Separatism")
    services.submit_for_review(case, data_entry, "Ready.")
    assert verify_chain().ok
    return case


APPEND_ONLY = {"cases_historicalcase", "cases_casetransition", "casetracker_auditlink"}


def behind_the_app(sql, params=()):
    """Run SQL as an attacker with the tables' owner role would: on PostgreSQL, with the
    append-only triggers switched off first."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key checks of this test's transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in APPEND_ONLY:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            for table in APPEND_ONLY:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def first_problem():
    report = verify_chain(chunk_size=5)  # several chunks, even for a small trail
    assert not report.ok
    return report.problem


def test_verify_passes_on_an_untouched_trail(trail):
    report = verify_chain(chunk_size=5)
    assert report.ok
    assert report.head == chain_head()
    assert report.records == AuditLink.objects.count()


def test_verify_finds_a_history_row_changed_in_the_database(trail):
    row = history_rows(trail)[0]
    behind_the_app(
        "UPDATE cases_historicalcase SET public_summary = %s WHERE history_id = %s",
        ["Rewritten.", row.pk],
    )
    problem = first_problem()
    assert (problem.kind, problem.table, problem.pk) == (
        Problem.CONTENT,
        "cases_historicalcase",
        row.pk,
    )
    assert problem.position == links_of(row)[0].position


def test_verify_finds_a_history_row_deleted_from_the_database(trail):
    row = history_rows(trail)[0]
    behind_the_app("DELETE FROM cases_historicalcase WHERE history_id = %s", [row.pk])
    problem = first_problem()
    assert (problem.kind, problem.table, problem.pk) == (
        Problem.MISSING_ROW,
        "cases_historicalcase",
        row.pk,
    )


def test_verify_finds_a_history_row_inserted_into_the_database(trail):
    row = history_rows(trail)[-1]
    forged = type(row).objects.get(pk=row.pk)
    forged.pk = None
    forged.public_summary = "Never happened."
    forged.save()  # a plain INSERT: only the application's history writer links rows
    problem = first_problem()
    assert (problem.kind, problem.table, problem.pk) == (
        Problem.UNLINKED,
        "cases_historicalcase",
        forged.pk,
    )


def test_verify_finds_a_link_changed_in_the_database(trail):
    link = links_of(history_rows(trail)[0])[0]
    behind_the_app(
        "UPDATE casetracker_auditlink SET content_hash = %s WHERE position = %s",
        ["0" * 64, link.position],
    )
    problem = first_problem()
    assert (problem.kind, problem.position) == (Problem.LINK_ALTERED, link.position)


def test_verify_finds_a_link_deleted_from_the_middle_of_the_chain(trail):
    middle = AuditLink.objects.count() // 2
    behind_the_app("DELETE FROM casetracker_auditlink WHERE position = %s", [middle])
    problem = first_problem()
    assert (problem.kind, problem.position) == (Problem.GAP, middle + 1)


def test_verify_finds_the_last_link_deleted(trail):
    last = chain_head()[0]
    behind_the_app("DELETE FROM casetracker_auditlink WHERE position = %s", [last])
    assert first_problem().kind == Problem.UNLINKED


def test_verify_finds_a_row_whose_link_was_fixed_up_by_the_next_link(trail):
    """Rewriting a row and recomputing its link's hashes breaks the next link's previous hash."""
    row = history_rows(trail)[0]
    link = links_of(row)[0]
    behind_the_app(
        "UPDATE cases_historicalcase SET public_summary = %s WHERE history_id = %s",
        ["Rewritten.", row.pk],
    )
    content = content_hash(canonical_content(type(row).objects.get(pk=row.pk)))
    forged = integrity.link_hash(
        link.previous_hash, link.position, link.record_type, row.pk, content
    )
    behind_the_app(
        "UPDATE casetracker_auditlink SET content_hash = %s, hash = %s WHERE position = %s",
        [content, forged, link.position],
    )
    problem = first_problem()
    assert (problem.kind, problem.position) == (Problem.PREVIOUS, link.position + 1)


def test_verify_finds_a_workflow_step_changed_in_the_database(trail):
    step = CaseTransition.objects.get(case=trail)
    behind_the_app(
        "UPDATE cases_casetransition SET reason = %s WHERE id = %s", ["Rubber-stamped.", step.pk]
    )
    problem = first_problem()
    assert (problem.kind, problem.table, problem.pk) == (
        Problem.CONTENT,
        "cases_casetransition",
        step.pk,
    )


def test_a_rebuilt_chain_does_not_end_in_the_head_kept_outside(trail):
    kept = chain_head()
    row = history_rows(trail)[0]
    behind_the_app("DELETE FROM cases_historicalcase WHERE history_id = %s", [row.pk])
    behind_the_app("DELETE FROM casetracker_auditlink")
    chain_unlinked()  # the attacker re-chains what is left
    assert verify_chain().ok
    report = verify_chain(expected_head=kept)
    assert report.problem.kind == Problem.HEAD


def test_the_head_kept_outside_passes_while_history_only_grows(trail):
    kept = chain_head()
    make_charge()
    assert verify_chain(expected_head=kept).ok


# --- encrypted columns -----------------------------------------------------------------------


def test_an_encrypted_column_is_hashed_as_the_digest_of_its_plaintext():
    case = make_case(internal_notes="Family reachable through the cousin in Almaty.")
    content = canonical_content(latest_history(case))
    assert content["internal_notes"] == crypto.audit_digest(
        "Family reachable through the cousin in Almaty."
    )


def test_re_encrypting_history_as_key_rotation_does_leaves_the_chain_verifying():
    case = make_case(internal_notes="Family reachable through the cousin in Almaty.")
    row = latest_history(case)
    behind_the_app(
        "UPDATE cases_historicalcase SET internal_notes = %s WHERE history_id = %s",
        [
            crypto.encrypt_text(
                "Family reachable through the cousin in Almaty.",
                "cases_historicalcase.internal_notes",
            ),
            row.pk,
        ],
    )
    assert verify_chain().ok


def test_verify_finds_an_encrypted_history_column_replaced_in_the_database():
    one = make_case(internal_notes="Testifier: the neighbour.")
    two = make_case(internal_notes="Testifier: the brother.")
    # Another row's valid ciphertext: it decrypts, but to the wrong text.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT internal_notes FROM cases_historicalcase WHERE history_id = %s",
            [latest_history(two).pk],
        )
        [ciphertext] = cursor.fetchone()
    row = latest_history(one)
    behind_the_app(
        "UPDATE cases_historicalcase SET internal_notes = %s WHERE history_id = %s",
        [ciphertext, row.pk],
    )
    problem = first_problem()
    assert (problem.kind, problem.pk) == (Problem.CONTENT, row.pk)


# --- chaining existing history (the data migration) ------------------------------------------


def test_chain_unlinked_chains_history_written_before_the_chain(trail):
    behind_the_app("DELETE FROM casetracker_auditlink")
    rows = Case.history.count() + CaseTransition.objects.count()
    assert chain_unlinked() >= rows
    assert verify_chain().ok


def test_chain_unlinked_leaves_a_full_chain_alone(trail):
    head = chain_head()
    assert chain_unlinked() == 0
    assert chain_head() == head


# --- manage.py verify_audit ------------------------------------------------------------------


def test_verify_audit_prints_the_record_count_and_head(trail):
    out = StringIO()
    call_command("verify_audit", stdout=out)
    position, digest = chain_head()
    assert out.getvalue().strip() == (
        f"OK: {AuditLink.objects.count()} records, head {digest} at {position}"
    )


def test_verify_audit_fails_with_the_table_pk_and_position_of_the_first_problem(trail):
    row = history_rows(trail)[0]
    behind_the_app(
        "UPDATE cases_historicalcase SET public_summary = 'x' WHERE history_id = %s", [row.pk]
    )
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO())
    message = str(failure.value)
    assert failure.value.returncode == 1
    assert f"table cases_historicalcase, pk {row.pk}" in message
    assert f"position {links_of(row)[0].position}" in message


def test_verify_audit_checks_a_head_given_on_the_command_line(trail):
    position, _ = chain_head()
    with pytest.raises(CommandError, match="head mismatch"):
        call_command("verify_audit", head=f"{position}:{'a' * 64}", stdout=StringIO())


def test_verify_audit_refuses_a_malformed_head(trail):
    with pytest.raises(CommandError, match="POSITION:HASH"):
        call_command("verify_audit", head="12", stdout=StringIO())


# --- the head on the admin index -------------------------------------------------------------

KEEP = "Keep a copy of this outside the server"


@pytest.mark.parametrize("persona", ["superuser", "administrator"])
def test_the_admin_index_shows_the_head_to_administrators(client, request, trail, persona):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("admin:index")).content.decode()
    position, digest = chain_head()
    assert KEEP in page
    assert digest in page
    assert f"Position <strong>{position}</strong>" in page


@pytest.mark.parametrize("persona", ["data_entry", "verifier"])
def test_the_admin_index_does_not_show_the_head_to_other_roles(client, request, trail, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert KEEP not in response.content.decode()
    assert chain_head()[1] not in response.content.decode()


def test_nobody_may_add_change_or_delete_links(admin_client, trail):
    link = AuditLink.objects.first()
    assert admin_client.get(reverse("admin:casetracker_auditlink_add")).status_code == 403
    url = reverse("admin:casetracker_auditlink_delete", args=[link.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert AuditLink.objects.filter(pk=link.pk).exists()


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgresql
def test_postgresql_refuses_a_raw_update_of_a_link(trail):
    from django.db import DatabaseError

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE casetracker_auditlink SET hash = 'x'")


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_concurrent_writers_keep_the_chain_one_line():
    from django.db import connections

    writers, saves = 8, 6
    start = threading.Barrier(writers)
    errors = []
    # The shipped vocabularies' history is chained already (the gazetteer's places).
    before = AuditLink.objects.count()

    def write(n):
        try:
            start.wait()
            for i in range(saves):
                with transaction.atomic():
                    make_charge(f"Charge {n}-{i}")
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    links = list(AuditLink.objects.order_by("position"))
    assert [link.position for link in links] == list(range(1, before + writers * saves + 1))
    for previous, link in itertools.pairwise(links):
        assert link.previous_hash == previous.hash
    assert verify_chain().ok


def run_side_by_side(holder, other):
    """``holder`` takes the chain's lock, lets ``other`` start and block, then goes on; both in
    threads of their own. Returns the errors raised (a deadlock is one)."""
    from django.db import connections

    started, errors = threading.Event(), []

    def run(step):
        try:
            step(started)
        except Exception as error:  # reported by the caller: a thread's exception is lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(step,)) for step in (holder, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_an_import_holding_the_chain_and_a_new_case_do_not_deadlock_on_the_counter():
    people = [make_person(), make_person()]

    def importer(started):
        with transaction.atomic():
            make_charge()  # the chain's lock, until commit
            started.set()
            time.sleep(0.5)  # the other creator now waits (for the chain, not the counter)
            make_case(people[0])  # needs the reference counter

    def staff(started):
        started.wait(10)
        make_case(people[1])

    assert run_side_by_side(importer, staff) == []
    assert verify_chain().ok


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_two_writers_of_one_record_do_not_deadlock_on_the_chain():
    charge = make_charge()

    def importer(started):
        with transaction.atomic():
            make_charge()
            started.set()
            time.sleep(0.5)  # the other writer now waits (for the chain, not for the row)
            Charge.objects.filter(pk=charge.pk).update(description="By the import.")

    def staff(started):
        started.wait(10)
        with transaction.atomic():
            copy = Charge.objects.get(pk=charge.pk)
            copy.description = "By staff."
            copy.save()

    assert run_side_by_side(importer, staff) == []
    assert Charge.objects.get(pk=charge.pk).description == "By staff."
    assert verify_chain().ok


# --- columns added to chained tables later --------------------------------------------------


@pytest.fixture
def charge_note_added_later(monkeypatch):
    """As if the historical charges' ``description`` column had been added after the chain
    began, with "" as what the rows written before hold."""
    monkeypatch.setitem(
        integrity.ADDED_AFTER_CHAINING, "cases.historicalcharge", {"description": ""}
    )
    integrity.layout.cache_clear()
    yield
    integrity.layout.cache_clear()


def _history_row(charge):
    return Charge.history.filter(id=charge.pk).latest("history_id")


def test_a_column_added_later_is_left_out_of_the_content_while_it_holds_its_default(
    charge_note_added_later,
):
    row = _history_row(Charge.objects.create(name="Inciting subversion", description=""))
    assert "description" not in integrity.canonical_content(row)


def test_a_column_added_later_is_hashed_once_it_holds_a_value(charge_note_added_later):
    row = _history_row(Charge.objects.create(name="Espionage", description="Article 110"))
    assert integrity.canonical_content(row)["description"] == "Article 110"


def test_rows_chained_before_a_column_was_added_still_verify(charge_note_added_later):
    # Written while the registry lists the column: hashed without it, exactly as a row
    # written before the column existed was.
    charge = Charge.objects.create(name="Leaking state secrets", description="")
    link = AuditLink.objects.get(
        record_type="cases.historicalcharge", record_pk=_history_row(charge).history_id
    )
    without = dict(integrity.canonical_content(_history_row(charge)))
    assert link.content_hash == integrity.content_hash(without)
    assert verify_chain().ok
    # Without the entry, those old rows would no longer verify.
    del integrity.ADDED_AFTER_CHAINING["cases.historicalcharge"]
    integrity.layout.cache_clear()
    assert not verify_chain().ok
