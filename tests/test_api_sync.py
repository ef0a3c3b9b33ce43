"""Keeping a partner's copy in step: cases that leave the published set are listed at
/api/v1/cases/withdrawn/?since=…, and edits show up with ?updated_since=… on the case list."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cases import services
from cases.models import Case, ReviewState
from casetracker.audit import acting_as
from casetracker.roles import VERIFIER
from people.models import Consent
from sources.models import Access, Source, SourceKind
from tests import partner_api
from tests.factories import (
    fresh,
    make_case,
    make_citation,
    make_event,
    make_source,
    person_named,
    staff_in,
    without_reopening,
)
from tests.partner_api import all_pages, get, get_json, references

pytestmark = pytest.mark.django_db

# The partner API's test environment (tests/partner_api.py): both apply to every test here.
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters


# --- the workflow ---------------------------------------------------------------------------


@pytest.fixture
def publish_case(data_entry, verifier):
    """publish_case(name) -> a case entered, submitted, verified and published by staff."""

    def publish(name="Published Person"):
        person = person_named(name, consent=Consent.GRANTED)
        case = make_case(person, created_by=data_entry, updated_by=data_entry)
        event = make_event(case, date="2024-04")
        make_citation(make_source(kind=SourceKind.TESTIMONY), event=event)
        services.submit_for_review(case, data_entry, "Ready for review.")
        services.verify(case, verifier)
        services.publish(case, verifier)
        case = fresh(case)
        assert Case.objects.published().filter(pk=case.pk).exists()
        return case

    return publish


def withdrawn(client, key, since):
    response = get(client, "cases/withdrawn/", key, {"since": since.isoformat()})
    assert response.status_code == 200, response.content
    return response.json()


def withdrawn_references(client, key, since):
    return [entry["reference"] for entry in withdrawn(client, key, since)]


# --- the ways a case leaves the published set ------------------------------------------------


def unpublish(case, data_entry, verifier):
    services.unpublish(case, verifier, "The family asked us to take it down.")


def withdraw_consent(case, data_entry, verifier):
    person = case.person
    person.consent = Consent.WITHDRAWN
    with acting_as(data_entry, "Consent withdrawn by phone."):
        person.save()


def withdraw_consent_alone(case, data_entry, verifier):
    """Only the consent changes: the case itself stays verified and flagged published."""
    person = case.person
    person.consent = Consent.WITHDRAWN
    with without_reopening():
        person.save()
    assert fresh(case).review_state == ReviewState.VERIFIED
    assert fresh(case).is_published


def edit_event(case, data_entry, verifier):
    event = case.events.get()
    event.description = "A correction."
    with acting_as(data_entry, "Correction."):
        event.save()
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def edit_case(case, data_entry, verifier):
    case = fresh(case)
    case.public_summary = "Rewritten."
    with acting_as(data_entry, "Rewrite."):
        case.save()
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def archive(case, data_entry, verifier):
    services.archive(case, verifier, "A duplicate of another case.")


def mark_sensitive(case, data_entry, verifier):
    case = fresh(case)
    case.sensitive = True
    with acting_as(verifier, "Need to know from now on."):
        case.save()


WITHDRAWALS = {
    "unpublished": unpublish,
    "consent withdrawn": withdraw_consent,
    "consent withdrawn, nothing else": withdraw_consent_alone,
    "archived": archive,
    "marked sensitive": mark_sensitive,
}


@pytest.mark.parametrize("how", WITHDRAWALS)
def test_a_withdrawn_case_is_listed_with_uid_reference_and_time_only(
    client, key, publish_case, data_entry, verifier, how
):
    case = publish_case()
    before = timezone.now()
    WITHDRAWALS[how](case, data_entry, verifier)
    assert not Case.objects.published().filter(pk=case.pk).exists()
    entries = withdrawn(client, key, before)
    assert len(entries) == 1
    assert set(entries[0]) == {"uid", "reference", "withdrawn_at"}
    assert (entries[0]["uid"], entries[0]["reference"]) == (str(case.uid), case.reference)


@pytest.mark.parametrize("how", WITHDRAWALS)
def test_a_withdrawn_case_leaves_the_case_list_and_its_detail(
    client, key, publish_case, data_entry, verifier, how
):
    case, other = publish_case(), publish_case("Another Person")
    assert set(references(client, key)) == {case.reference, other.reference}
    WITHDRAWALS[how](case, data_entry, verifier)
    assert references(client, key) == [other.reference]
    assert get(client, f"cases/{case.reference}/", key).status_code == 404
    assert get(client, f"cases/{case.uid}/", key).status_code == 404


@pytest.mark.parametrize("how", WITHDRAWALS)
def test_a_withdrawn_case_stays_out_of_updated_since(
    client, key, publish_case, data_entry, verifier, how
):
    case = publish_case()
    before = timezone.now()
    WITHDRAWALS[how](case, data_entry, verifier)
    assert references(client, key, {"updated_since": before.isoformat()}) == []


def test_the_withdrawal_time_is_when_the_case_left(client, key, publish_case, verifier):
    case = publish_case()
    before = timezone.now()
    services.unpublish(case, verifier, "Taken down.")
    after = timezone.now()
    when = withdrawn(client, key, before)[0]["withdrawn_at"]
    assert before <= parse_datetime(when) <= after


def test_a_withdrawal_before_since_is_not_listed(client, key, publish_case, verifier):
    case = publish_case()
    services.unpublish(case, verifier, "Taken down.")
    assert withdrawn_references(client, key, timezone.now()) == []
    assert withdrawn_references(client, key, timezone.now() - timedelta(minutes=5)) == [
        case.reference
    ]


def test_since_is_read_with_its_time_zone(client, key, publish_case, verifier):
    case = publish_case()
    services.unpublish(case, verifier, "Taken down.")
    at = case.publication_records.get().withdrawn_at
    almaty = timezone.get_fixed_timezone(timedelta(hours=5))
    just_before = (at - timedelta(seconds=1)).astimezone(almaty)
    just_after = (at + timedelta(seconds=1)).astimezone(almaty)
    assert withdrawn_references(client, key, just_before) == [case.reference]
    assert withdrawn_references(client, key, just_after) == []


def test_a_time_without_a_zone_is_read_as_utc(client, key, publish_case, verifier):
    case = publish_case()
    services.unpublish(case, verifier, "Taken down.")
    at = case.publication_records.get().withdrawn_at.astimezone(UTC)
    naive = (at - timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    response = get(client, "cases/withdrawn/", key, {"since": naive})
    assert [entry["reference"] for entry in response.json()] == [case.reference]


def test_a_case_that_was_never_published_is_never_withdrawn(client, key, data_entry, verifier):
    before = timezone.now()
    case = make_case(person_named("Never Published", consent=Consent.GRANTED))
    with without_reopening():
        Case.objects.filter(pk=case.pk).update(
            review_state=ReviewState.VERIFIED, is_published=True, sensitive=True, evidence_level=3
        )
    case = fresh(case)
    case.sensitive = False
    case.archived_at = timezone.now()
    with without_reopening():
        case.save()
    assert withdrawn(client, key, before) == []


def test_a_case_published_again_is_not_listed_as_withdrawn(client, key, publish_case, verifier):
    case = publish_case()
    before = timezone.now()
    services.unpublish(case, verifier, "Checking a detail.")
    assert withdrawn_references(client, key, before) == [case.reference]
    services.publish(case, verifier, "Checked.")
    assert withdrawn(client, key, before) == []
    assert case.reference in references(client, key)


def test_a_case_edited_back_into_review_is_not_withdrawn_and_its_correction_arrives_verified(
    client, key, publish_case, data_entry, verifier
):
    """A correction in review keeps the last verified version with partners: not withdrawn,
    not listed as changed; once verified, the case is listed as changed, corrected."""
    case = publish_case()
    before = timezone.now()
    for edit in (edit_event, edit_case):
        edit(case, data_entry, verifier)
        assert withdrawn(client, key, before) == []
        assert references(client, key, {"updated_since": before.isoformat()}) == []
        assert case.reference in references(client, key)
        assert get_json(client, f"cases/{case.reference}/", key)["public_summary"] != "Rewritten."
    services.verify(case, staff_in(VERIFIER, "second_verifier"))
    assert withdrawn(client, key, before) == []
    assert references(client, key, {"updated_since": before.isoformat()}) == [case.reference]
    document = get_json(client, f"cases/{case.reference}/", key)
    assert document["public_summary"] == "Rewritten."
    assert document["events"][0]["description"] == "A correction."


def test_a_case_withdrawn_twice_is_listed_once_with_the_last_time(
    client, key, publish_case, verifier
):
    case = publish_case()
    before = timezone.now()
    services.unpublish(case, verifier, "First time.")
    services.publish(case, verifier, "Back.")
    services.unpublish(case, verifier, "Second time.")
    entries = withdrawn(client, key, before)
    last = case.publication_records.order_by("-withdrawn_at").first().withdrawn_at
    assert [entry["reference"] for entry in entries] == [case.reference]
    assert parse_datetime(entries[0]["withdrawn_at"]) == last


# --- a partner syncing -----------------------------------------------------------------------


def test_a_partner_syncing_twice_learns_of_edits_new_cases_and_withdrawals(
    client, key, publish_case, data_entry, verifier
):
    edited, taken_down, untouched = (
        publish_case("Edited Person"),
        publish_case("Taken Down Person"),
        publish_case("Untouched Person"),
    )
    # First sync at t1: everything.
    t1 = timezone.now()
    copy = {case["reference"]: case for case in all_pages(client, "cases/", key)}
    assert set(copy) == {edited.reference, taken_down.reference, untouched.reference}

    edit_event(edited, data_entry, verifier)
    services.verify(edited, staff_in(VERIFIER, "second_verifier"))
    services.unpublish(taken_down, verifier, "Family asked.")
    added = publish_case("New Person")

    # Second sync at t2: what changed since t1, and what to delete.
    t2 = timezone.now()
    changed = all_pages(client, "cases/", key, {"updated_since": t1.isoformat()})
    assert {case["reference"] for case in changed} == {edited.reference, added.reference}
    assert withdrawn_references(client, key, t1) == [taken_down.reference]
    by_reference = {case["reference"]: case for case in changed}
    events = by_reference[edited.reference]["events"]
    assert [event["description"] for event in events] == ["A correction."]

    # Apply it: the copy now equals the published set.
    copy.update(by_reference)
    for entry in withdrawn(client, key, t1):
        copy.pop(entry["reference"], None)
    assert set(copy) == set(references(client, key))

    # Third sync at t3: nothing happened since t2.
    assert references(client, key, {"updated_since": t2.isoformat()}) == []
    assert withdrawn(client, key, t2) == []


def make_confidential(source):
    source.access = Access.CONFIDENTIAL
    source.save()


def make_restricted(source):
    source.access = Access.RESTRICTED
    source.save()


def archive_source(source):
    # As the admin's "Archive selected sources" action does.
    Source.objects.filter(pk=source.pk).update(archived_at=timezone.now())


@pytest.mark.parametrize("withdraw", [make_confidential, make_restricted, archive_source])
def test_a_source_withdrawn_from_partners_reaches_them_through_updated_since(
    client, key, publish_case, withdraw
):
    """A cited source that staff take away from partners vanishes from the published case;
    a partner keeping a copy must learn that the case changed, or it keeps the source."""
    case = publish_case()
    source = make_source("Later found to expose a witness", access=Access.PUBLIC)
    with without_reopening():
        make_citation(source, case=case)
    assert len(get_json(client, f"cases/{case.reference}/", key)["sources"]) == 2
    t1 = timezone.now()
    withdraw(source)
    assert str(source.uid) not in get(client, f"cases/{case.reference}/", key).content.decode()
    assert get(client, f"sources/{source.uid}/", key).status_code == 404
    changed = references(client, key, {"updated_since": t1.isoformat()})
    withdrawn_now = withdrawn_references(client, key, t1)
    assert case.reference in changed + withdrawn_now


# --- refused `since` -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"since": ""},
        {"since": "yesterday"},
        {"since": "2024-11-05T00:00:00Zjunk"},
        {"since": "1730764800"},
        {"since": "2024-13-01T00:00:00Z"},
        {"since": "2024-02-30T00:00:00Z"},
        {"since": "2024-11-05T25:00:00Z"},
    ],
    ids=str,
)
def test_a_missing_or_malformed_since_is_a_400_naming_it(client, key, params):
    client.raise_request_exception = False
    response = get(client, "cases/withdrawn/", key, params)
    assert response.status_code == 400
    assert "since" in response.json()


def test_withdrawn_refuses_case_filters(client, key):
    response = get(
        client, "cases/withdrawn/", key, {"since": "2024-11-05T00:00:00Z", "status": "detained"}
    )
    assert response.status_code == 400
    assert "status" in response.json()
