"""The published snapshots (snapshots.writer): every case in the published set is stored as
partners see it, written in the transaction of each change, removed when the case leaves the
set; the partner API writes the stored text out; a rebuild from the live data gives exactly
what the changes wrote one by one."""

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from api import public
from cases import services
from cases.models import Case, PublicationRecord
from casetracker.audit import acting_as
from figures import facts
from people.models import Consent, Person
from snapshots import signals, writer
from snapshots.models import PublishedCase, SnapshotState
from sources.models import SourceKind
from tests import partner_api
from tests.factories import (
    cited_case,
    fresh,
    make_charge,
    make_citation,
    make_incident,
    make_location,
    make_organisation,
    make_source,
    published,
    set_case,
    verified,
    without_reopening,
)
from tests.partner_api import all_pages, get, get_json

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters


def stored() -> dict[int, tuple]:
    """Every snapshot, as what partners are given of it (not when it was written)."""
    return {
        row[0]: row[1:]
        for row in PublishedCase.objects.values_list(
            "case_id", *(field for field in writer.FIELDS if field != "written_at")
        )
    }


def published_ids() -> set[int]:
    return set(Case.objects.published().values_list("pk", flat=True))


def open_records() -> set[int]:
    return set(
        PublicationRecord.objects.filter(withdrawn_at__isnull=True).values_list(
            "case_id", flat=True
        )
    )


def rendered_now(case) -> dict:
    """The case as the allow-list renders it from the live data, addresses as paths."""
    case = public.case_queryset().get(pk=case.pk)
    return json.loads(
        writer.document_text(public.CaseSerializer(context={}).to_representation(case))
    )


def snapshot_of(case) -> dict:
    return json.loads(PublishedCase.objects.get(case=case).document)


def assert_in_step():
    """Snapshots and the open publication records name the same cases: the published set,
    and the cases in correction whose last verified version is held."""
    snapshots = set(stored())
    held = set(
        PublishedCase.objects.filter(held_since__isnull=False).values_list("case_id", flat=True)
    )
    assert snapshots == open_records()
    assert snapshots - held == published_ids()
    assert held <= set(Case.objects.in_correction().values_list("pk", flat=True))


# --- written and removed with the case --------------------------------------------------------


def test_publishing_stores_the_case_as_the_allow_list_renders_it(data_entry, verifier):
    case = verified(data_entry, verifier)
    assert not PublishedCase.objects.filter(case=case).exists()
    services.publish(case, verifier)
    snapshot = PublishedCase.objects.get(case=case)
    assert snapshot_of(case) == rendered_now(case)
    case = fresh(case)
    assert (snapshot.uid, snapshot.reference, snapshot.updated_at) == (
        case.uid,
        case.reference,
        case.updated_at,
    )
    # The columns partners filter on are the document's own values.
    document = snapshot_of(case)
    assert (snapshot.status, snapshot.evidence_level) == (
        document["status"],
        document["evidence_level"],
    )
    assert (snapshot.ethnicity, snapshot.gender) == (
        document["person"]["ethnicity"],
        document["person"]["gender"],
    )
    # Addresses are stored as paths, never with a host.
    assert snapshot_of(case)["url"] == f"/api/v1/cases/{case.reference}/"
    assert_in_step()


def test_rendering_takes_the_audit_chains_lock_unless_told_nothing_else_writes(
    data_entry, verifier
):
    case = published(data_entry, verifier)
    PublishedCase.objects.all().delete()
    with mock.patch.object(writer.integrity, "lock_chain") as lock:
        writer.refresh([case.pk])
    assert lock.call_count == 1
    with mock.patch.object(writer.integrity, "lock_chain") as lock:
        writer.refresh([case.pk], lock=False)  # generate_synthetic's new batch
    assert lock.call_count == 0
    assert snapshot_of(case) == rendered_now(case)


@pytest.mark.parametrize(
    "leave",
    [
        pytest.param(
            lambda case, user: services.unpublish(case, user, "Family asked."), id="unpublish"
        ),
        pytest.param(lambda case, user: services.archive(case, user, "Duplicate."), id="archive"),
        pytest.param(lambda case, user: set_case(case, sensitive=True), id="sensitive"),
        pytest.param(lambda case, user: set_case(case, evidence_level=0), id="evidence"),
        pytest.param(lambda case, user: _withdraw_consent(case), id="consent"),
    ],
)
def test_a_case_leaving_the_published_set_leaves_the_snapshots(data_entry, verifier, leave):
    case = published(data_entry, verifier)
    other = published(data_entry, verifier)
    assert {case.pk, other.pk} <= set(stored())
    before = stored()[other.pk]
    with acting_as(verifier):
        leave(case, verifier)
    assert case.pk not in stored()
    assert stored()[other.pk] == before  # the others untouched
    assert_in_step()


def _withdraw_consent(case):
    person = Person.objects.get(pk=case.person_id)
    person.consent = Consent.WITHDRAWN
    person.save()


def test_a_case_published_again_is_stored_again(data_entry, verifier):
    case = published(data_entry, verifier)
    services.unpublish(case, verifier, "Checking a date.")
    assert case.pk not in stored()
    services.publish(fresh(case), verifier)
    assert snapshot_of(case) == rendered_now(case)
    assert_in_step()


def test_a_write_rolled_back_rolls_its_snapshot_back(data_entry, verifier):
    case = verified(data_entry, verifier)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.publish(case, verifier)
        assert case.pk in stored()
        raise RuntimeError("the request failed after publishing")
    assert case.pk not in stored()
    assert_in_step()


# --- what a published case names, changed without sending it back to review ----------------


def named_case(data_entry, verifier):
    """A published case whose event names a place, a facility, an authority and a charge,
    and which belongs to an incident."""
    case = cited_case(data_entry)
    event = case.events.get()
    county = make_location("Old County Name", kind="county")
    camp = make_location("Old Camp Name", kind="facility", parent=county, facility_type="camp")
    police = make_organisation("Old Police Name", kind="police")
    charge = make_charge("Old Charge Name")
    incident = make_incident("Old Incident Name")
    event.location, event.facility, event.authority = county, camp, police
    event.save()
    event.charges.add(charge)
    case.incidents.add(incident)
    services.submit_for_review(fresh(case), data_entry, "Ready.")
    services.verify(fresh(case), verifier)
    services.publish(fresh(case), verifier)
    return fresh(case), {
        "county": county,
        "camp": camp,
        "police": police,
        "charge": charge,
        "incident": incident,
    }


@pytest.mark.parametrize(
    "what, field",
    [
        ("county", "name_en"),
        ("camp", "name_en"),
        ("police", "name"),
        ("charge", "name"),
        ("incident", "name"),
    ],
)
def test_a_renamed_record_is_renamed_in_every_snapshot_naming_it(data_entry, verifier, what, field):
    case, records = named_case(data_entry, verifier)
    bystander = published(data_entry, verifier)
    untouched = PublishedCase.objects.get(case=bystander).written_at
    record = records[what]
    old = getattr(record, field)
    setattr(record, field, "New Name")
    with acting_as(verifier):
        record.save()
    text = PublishedCase.objects.get(case=case).document
    assert "New Name" in text and old not in text
    assert snapshot_of(case) == rendered_now(case)
    # A case that does not name it is not written again.
    assert PublishedCase.objects.get(case=bystander).written_at == untouched
    assert fresh(case).review_state == "verified"  # still published, not back in review
    assert_in_step()


def test_a_source_publisher_renamed_is_renamed_in_the_citing_snapshots(data_entry, verifier):
    publisher = make_organisation("Old Publisher")
    case = cited_case(data_entry)
    make_citation(make_source(kind=SourceKind.NEWS_REPORT, publisher=publisher), case=case)
    services.submit_for_review(fresh(case), data_entry, "Ready.")
    services.verify(fresh(case), verifier)
    services.publish(fresh(case), verifier)
    assert "Old Publisher" in PublishedCase.objects.get(case=case).document
    publisher.name = "New Publisher"
    with acting_as(verifier):
        publisher.save()
    text = PublishedCase.objects.get(case=case).document
    assert "New Publisher" in text and "Old Publisher" not in text
    assert snapshot_of(case) == rendered_now(case)
    assert_in_step()


# --- rebuilt from the live data -------------------------------------------------------------


def a_history(data_entry, verifier):
    """Cases through many changes: published, unpublished, archived, republished, renamed."""
    cases = [published(data_entry, verifier) for _ in range(4)]
    services.unpublish(cases[0], verifier, "Checking.")
    services.archive(fresh(cases[1]), verifier, "Duplicate.")
    services.unpublish(cases[2], verifier, "Checking.")
    services.publish(fresh(cases[2]), verifier)
    named, records = named_case(data_entry, verifier)
    records["charge"].name = "Renamed charge"
    with acting_as(verifier):
        records["charge"].save()
    verified(data_entry, verifier)  # verified, never published
    return cases, named


def test_a_rebuild_gives_exactly_what_the_changes_wrote(data_entry, verifier):
    a_history(data_entry, verifier)
    incremental = stored()
    assert len(incremental) == 3
    PublishedCase.objects.all().delete()
    result = writer.rebuild()
    assert result == {"written": 3, "removed": 0}
    assert stored() == incremental
    assert_in_step()


def test_a_rebuild_removes_what_is_no_longer_published_and_restores_what_is(data_entry, verifier):
    cases, named = a_history(data_entry, verifier)
    incremental = stored()
    # As if written by an older version: a stale snapshot of an unpublished case, a missing
    # one, and one whose text differs.
    stale = next(iter(incremental.values()))
    PublishedCase.objects.create(
        case=cases[0],
        uid=cases[0].uid,
        reference=cases[0].reference,
        updated_at=stale[2],
        document="{}",
        written_at=stale[2],
    )
    PublishedCase.objects.filter(case=named).delete()
    PublishedCase.objects.filter(case=cases[2]).update(document='{"old": true}')
    out = StringIO()
    call_command("rebuild_snapshots", stdout=out)
    assert "3 published snapshots written, 1 removed." in out.getvalue()
    assert stored() == incremental
    assert_in_step()


def test_the_fingerprint_follows_the_allow_list_and_the_publication_settings():
    first = writer.fingerprint()
    assert writer.fingerprint() == first
    with override_settings(MIN_PUBLISH_EVIDENCE_LEVEL=3):
        assert writer.fingerprint() != first
    with override_settings(PUBLISH_SYNTHETIC_DATA=True):
        assert writer.fingerprint() != first


def test_migrate_rewrites_the_snapshots_when_the_publication_rule_changed(
    data_entry, verifier, settings
):
    case = published(data_entry, verifier)  # evidence level 2: a testimony
    writer.rebuild()
    assert writer.is_current() and case.pk in stored()
    signals.rewrite_when_stale(sender=None, app_config=_snapshots_app(), using="default")
    assert case.pk in stored()  # current: nothing to do
    settings.MIN_PUBLISH_EVIDENCE_LEVEL = 3
    assert not writer.is_current()
    out = StringIO()
    signals.rewrite_when_stale(
        sender=None, app_config=_snapshots_app(), using="default", stdout=out, verbosity=1
    )
    assert case.pk not in stored()
    assert writer.is_current()
    assert SnapshotState.objects.count() == 1
    assert_in_step()  # its publication record is closed too: partners learn it left


def _snapshots_app():
    from django.apps import apps

    return apps.get_app_config("snapshots")


# --- the partner API writes the stored text out ---------------------------------------------


def test_the_api_gives_the_stored_document_with_absolute_addresses(
    client, key, data_entry, verifier
):
    case = published(data_entry, verifier)
    detail = get_json(client, f"cases/{case.reference}/", key)
    expected = json.loads(
        writer.absolute(PublishedCase.objects.get(case=case).document, "http://testserver")
    )
    assert detail == expected
    assert detail["url"] == f"http://testserver/api/v1/cases/{case.reference}/"
    assert detail["person"]["url"].startswith("http://testserver/api/v1/people/")
    listed = all_pages(client, "cases/", key)
    assert listed == [expected]


def test_an_address_like_text_in_a_field_is_written_out_as_it_is(client, key, data_entry, verifier):
    case = published(data_entry, verifier)
    text = 'See "url":"/api/v1/elsewhere" and /api/v1/cases/.'
    with without_reopening():  # a write that keeps the case published: the snapshot follows
        Case.objects.filter(pk=case.pk).update(public_summary=text)
    assert json.loads(PublishedCase.objects.get(case=case).document)["public_summary"] == text
    assert get_json(client, f"cases/{case.reference}/", key)["public_summary"] == text


def test_a_case_without_a_snapshot_is_not_found(client, key, data_entry, verifier):
    case = published(data_entry, verifier)
    # Its statistics' facts first, as the writer removes a snapshot (they are left to it).
    facts.remove([case.pk])
    PublishedCase.objects.filter(case=case).delete()
    assert get(client, f"cases/{case.reference}/", key).status_code == 404
    assert get(client, f"cases/{case.uid}/", key).status_code == 404
    assert all_pages(client, "cases/", key) == []
    assert all_pages(client, "cases/", key, {"status": case.status}) == []


def test_a_list_page_costs_the_same_queries_whatever_its_size(
    client, key, data_entry, verifier, django_assert_max_num_queries, no_throttling
):
    for _ in range(6):
        published(data_entry, verifier)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (1, 6):
        with CaptureQueriesContext(connection) as queries:
            page = get_json(client, "cases/", key, {"page_size": size})
        assert len(page["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # And the filters too: the snapshots of the filtered cases, in one query, with no
    # DISTINCT (which would sort whole rows, stored documents and all, before taking a page).
    with CaptureQueriesContext(connection) as queries:
        get_json(client, "cases/", key, {"status": "detained", "page_size": 6})
    assert len(queries) == counts[0]
    page = [q["sql"] for q in queries if 'FROM "snapshots_publishedcase"' in q["sql"]]
    assert len(page) == 1 and "DISTINCT" not in page[0]


def test_the_published_export_writes_the_stored_text_out(tmp_path, data_entry, verifier):
    from exports import services
    from exports.models import Channel

    made = sorted((published(data_entry, verifier) for _ in range(3)), key=lambda c: c.reference)
    base = "https://casetracker.example.org"
    services.export_cases(tmp_path / "b", channel=Channel.COMMAND, formats=["json"], base_url=base)
    lines = (tmp_path / "b" / "cases.json").read_text(encoding="utf-8").splitlines()
    expected = [
        writer.absolute(PublishedCase.objects.get(case=case).document, base) for case in made
    ]
    # "[", then one stored document a line (a comma after each but the last), then "]".
    assert [line.rstrip(",") for line in lines[1:-1]] == expected
    assert json.loads("\n".join(lines))[0]["url"] == f"{base}/api/v1/cases/{made[0].reference}/"


@pytest.mark.parametrize(
    "take_away, gone",
    [
        pytest.param(
            lambda r, event, case: r["charge"].delete(), "Old Charge", id="charge-deleted"
        ),
        pytest.param(
            lambda r, event, case: r["incident"].delete(), "Old Incident", id="incident-deleted"
        ),
        pytest.param(
            lambda r, event, case: r["charge"].events.remove(event),
            "Old Charge",
            id="charge-side-removal",
        ),
        pytest.param(
            lambda r, event, case: r["charge"].events.clear(), "Old Charge", id="charge-side-clear"
        ),
        pytest.param(
            lambda r, event, case: r["incident"].cases.remove(case),
            "Old Incident",
            id="incident-side-removal",
        ),
    ],
)
def test_a_charge_or_incident_taken_away_leaves_the_snapshots(
    data_entry, verifier, take_away, gone
):
    """Whichever side it is done from, and by deletion (which takes the relation rows with
    it, without a signal of their own): the case's snapshot no longer names it, or the case
    left the published set."""
    case, records = named_case(data_entry, verifier)
    assert gone in PublishedCase.objects.get(case=case).document
    with acting_as(verifier):
        take_away(records, case.events.get(), case)
    assert_in_step()
    if case.pk in stored():
        assert gone not in PublishedCase.objects.get(case=case).document
        assert snapshot_of(case) == rendered_now(case)


def test_an_event_moved_to_another_case_leaves_the_snapshot_of_the_first(data_entry, verifier):
    case, _records = named_case(data_entry, verifier)
    draft = cited_case(data_entry, sensitive=True)
    event = case.events.get()
    assert "Old Charge Name" in PublishedCase.objects.get(case=case).document
    event.case = draft
    with acting_as(data_entry):
        event.save()
    assert_in_step()
    assert case.pk in stored()  # still published: a move does not reopen the case it leaves
    assert "Old Charge Name" not in PublishedCase.objects.get(case=case).document
    assert snapshot_of(case) == rendered_now(case)


def test_a_citation_moved_to_another_case_leaves_the_snapshot_of_the_first(data_entry, verifier):
    case = published(data_entry, verifier)
    other = cited_case(data_entry)
    citation = make_citation(make_source("A source that moves"), case=case)
    assert fresh(case).review_state == "in_review"  # the new citation sent it back
    services.verify(fresh(case), verifier)  # and published again, as it was
    assert "A source that moves" in PublishedCase.objects.get(case=case).document
    citation.case = other
    with acting_as(data_entry):
        citation.save()
    assert_in_step()
    assert case.pk in stored()
    assert "A source that moves" not in PublishedCase.objects.get(case=case).document
    assert snapshot_of(case) == rendered_now(case)
