"""A correction of a published case in review: partners keep the last verified version (its
published snapshot is held) until a verifier verifies the correction; what takes a case away
from partners still does so at once; filters never answer from content not yet verified."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, LocationKind, ReviewState
from casetracker.audit import acting_as
from people.models import Consent, PersonName
from snapshots import writer
from snapshots.models import PublishedCase
from sources.models import Access, Source, SourceKind
from tests import partner_api
from tests.exports import export, files_of, json_cases
from tests.factories import (
    fresh,
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_incident,
    make_location,
    make_source,
    person_named,
)
from tests.partner_api import all_pages, get, get_json, references

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters


@pytest.fixture(autouse=True)
def snapshots_current():
    """As migrate leaves them: the rules the snapshots were written under are stored (a test
    that empties every table, elsewhere in the suite, takes that record away)."""
    if not writer.is_current():
        writer.rebuild()


SENTINEL = "UNVERIFIEDSENTINEL"
SENTINEL_NAME = SENTINEL.title()


@pytest.fixture
def charge():
    return make_charge("Inciting ethnic hatred", article="249")


@pytest.fixture
def case(data_entry, verifier, charge):
    """A published case: Kanat Yerezhep, detained in April 2024 in a prefecture, one charge,
    one public source."""
    person = person_named("Kanat Yerezhep", consent=Consent.GRANTED)
    case = make_case(
        person, created_by=data_entry, updated_by=data_entry, public_summary="Verified summary."
    )
    event = make_event(case, date="2024-04", location=make_location("Held Prefecture"))
    event.charges.add(charge)
    source = make_source(kind=SourceKind.TESTIMONY, title="A public testimony")
    make_citation(source, event=event)
    services.submit_for_review(case, data_entry, "Ready for review.")
    services.verify(case, verifier)
    services.publish(case, verifier)
    return fresh(case)


def document(client, key, case) -> dict:
    return get_json(client, f"cases/{case.reference}/", key)


def edit_summary(case, user, text=f"Corrected: {SENTINEL}."):
    case = fresh(case)
    case.public_summary = text
    with acting_as(user, "Correction."):
        case.save()
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def add_name(case, user, name=SENTINEL_NAME):
    with acting_as(user, "Another spelling."):
        PersonName.objects.create(person=case.person, name=name, language="en")
    assert fresh(case).review_state == ReviewState.IN_REVIEW


def withdrawn_references(client, key, since) -> list[str]:
    response = get(client, "cases/withdrawn/", key, {"since": since.isoformat()})
    assert response.status_code == 200
    return [entry["reference"] for entry in response.json()]


def snapshot(case) -> PublishedCase:
    return PublishedCase.objects.get(case=case)


# --- partners keep the last verified version ---------------------------------------------


def test_partners_keep_the_verified_version_while_the_correction_is_in_review(
    client, key, case, data_entry, tmp_path
):
    before = document(client, key, case)
    stored_before = snapshot(case).document
    edit_summary(case, data_entry)
    held = snapshot(case)
    assert held.held_since is not None
    assert held.document == stored_before  # byte for byte: nothing rendered from the edit
    assert document(client, key, case) == before
    assert case.reference in references(client, key)
    assert get(client, f"cases/{case.uid}/", key).status_code == 200
    # The published export writes the held version too.
    exported = json_cases(files_of(export(tmp_path))["cases.json"])
    assert [c["public_summary"] for c in exported] == ["Verified summary."]
    # Not withdrawn, and not changed as far as a partner syncing can tell.
    assert withdrawn_references(client, key, held.held_since) == []
    assert references(client, key, {"updated_since": held.held_since.isoformat()}) == []
    assert case.publication_records.filter(withdrawn_at__isnull=True).count() == 1


def test_the_correction_reaches_partners_when_it_is_verified(
    client, key, case, data_entry, second_verifier
):
    edit_summary(case, data_entry, "Corrected summary.")
    held_since = snapshot(case).held_since
    services.verify(fresh(case), second_verifier)
    stored = snapshot(case)
    assert stored.held_since is None and stored.filters_current
    assert document(client, key, case)["public_summary"] == "Corrected summary."
    assert references(client, key, {"updated_since": held_since.isoformat()}) == [case.reference]
    assert withdrawn_references(client, key, held_since) == []
    assert case.publication_records.count() == 1  # one stretch of publication, never broken


def test_changes_requested_on_the_correction_keep_the_verified_version(
    client, key, case, data_entry, verifier
):
    edit_summary(case, data_entry)
    services.request_changes(fresh(case), verifier, "Say where the summary comes from.")
    assert fresh(case).review_state == ReviewState.DRAFT
    assert document(client, key, case)["public_summary"] == "Verified summary."


def test_an_unpublished_case_is_not_held_by_an_edit(data_entry, verifier):
    """Only a published case has a version to keep: a verified, unpublished one edited back
    into review gets no snapshot."""
    person = person_named("Unpublished Person", consent=Consent.GRANTED)
    case = make_case(person, created_by=data_entry, updated_by=data_entry)
    make_citation(make_source(kind=SourceKind.TESTIMONY), event=make_event(case, date="2024"))
    services.submit_for_review(case, data_entry, "Ready.")
    services.verify(case, verifier)
    edit_summary(case, data_entry)
    assert not PublishedCase.objects.filter(case=case).exists()
    assert not case.publication_records.exists()


# --- what takes a case away still does so at once ----------------------------------------


def unpublish(case, user):
    services.unpublish(fresh(case), user, "The family asked us to take it down.")


def archive(case, user):
    services.archive(fresh(case), user, "A duplicate.")


def mark_sensitive(case, user):
    case = fresh(case)
    case.sensitive = True
    with acting_as(user, "Need to know from now on."):
        case.save()


def withdraw_consent(case, user):
    person = fresh(case).person
    person.consent = Consent.WITHDRAWN
    with acting_as(user, "Consent withdrawn by phone."):
        person.save()


def restrict_the_cited_source(case, user):
    source = case.events.get().citations.get().source
    source.access = Access.CONFIDENTIAL
    with acting_as(user, "The testifier is at risk."):
        source.save()


def archive_the_cited_source(case, user):
    source = case.events.get().citations.get().source
    with acting_as(user, "Retracted."):
        Source.objects.filter(pk=source.pk).update(archived_at=timezone.now())


TAKEN_AWAY = {
    "unpublished": unpublish,
    "archived": archive,
    "marked sensitive": mark_sensitive,
    "consent withdrawn": withdraw_consent,
    "its source made confidential": restrict_the_cited_source,
    "its source archived": archive_the_cited_source,
}


@pytest.mark.parametrize("how", TAKEN_AWAY)
def test_a_held_case_taken_away_leaves_partners_at_once(
    client, key, case, data_entry, verifier, how
):
    edit_summary(case, data_entry)
    since = snapshot(case).held_since
    TAKEN_AWAY[how](case, verifier)
    assert not PublishedCase.objects.filter(case=case).exists()
    assert get(client, f"cases/{case.reference}/", key).status_code == 404
    assert case.reference not in references(client, key)
    assert withdrawn_references(client, key, since) == [case.reference]
    assert not case.publication_records.filter(withdrawn_at__isnull=True).exists()


def test_a_source_the_held_version_does_not_cite_leaves_it_held(
    client, key, case, data_entry, verifier
):
    edit_summary(case, data_entry)
    other = make_source(title="Cited by nobody here")
    other.access = Access.CONFIDENTIAL
    with acting_as(verifier, "Staff only."):
        other.save()
    assert snapshot(case).held_since is not None
    assert document(client, key, case)["public_summary"] == "Verified summary."


def test_the_withdrawal_feed_then_the_verified_correction_bring_it_back(
    client, key, case, data_entry, verifier, second_verifier
):
    edit_summary(case, data_entry, "Corrected summary.")
    unpublish(case, verifier)
    assert get(client, f"cases/{case.reference}/", key).status_code == 404
    services.verify(fresh(case), second_verifier)
    services.publish(fresh(case), verifier, "Corrected and checked.")
    assert document(client, key, case)["public_summary"] == "Corrected summary."
    assert snapshot(case).held_since is None


# --- filters never answer from the correction -------------------------------------------------


def found(client, key, case, params) -> bool:
    return case.reference in references(client, key, params)


def filters(case, charge):
    return {
        "search": {"search": "Kanat Yerezhep"},
        "charge": {"charge": str(charge.uid)},
        "location": {"location": str(case.events.get().location.uid)},
        "event_kind": {"event_kind": "detained"},
        "dates": {"date_from": "2024", "date_to": "2024"},
    }


def test_filters_find_a_held_case_while_its_records_say_what_partners_see(
    client, key, case, charge, data_entry
):
    edit_summary(case, data_entry)  # the summary: nothing the filters read
    assert snapshot(case).filters_current
    for name, params in filters(case, charge).items():
        assert found(client, key, case, params), name
    assert found(client, key, case, {"status": "detained"})


def test_filters_leave_out_a_held_case_whose_names_or_events_changed(
    client, key, case, charge, data_entry
):
    add_name(case, data_entry)
    held = snapshot(case)
    assert held.held_since is not None and not held.filters_current
    for name, params in filters(case, charge).items():
        assert not found(client, key, case, params), name
    # Not by the unverified name either.
    assert not found(client, key, case, {"search": SENTINEL_NAME})
    # The snapshot's own columns, and the list itself, still show the verified version.
    assert found(client, key, case, {"status": "detained"})
    assert found(client, key, case, {"min_evidence_level": "2"})
    assert case.reference in references(client, key)


def test_an_event_edit_that_changes_a_charge_is_not_found_by_either_charge(
    client, key, case, charge, data_entry
):
    other = make_charge("Separatism", article="103")
    event = case.events.get()
    with acting_as(data_entry, "The charge was another."):
        event.charges.set([other])
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    assert not snapshot(case).filters_current
    assert not found(client, key, case, {"charge": str(charge.uid)})
    assert not found(client, key, case, {"charge": str(other.uid)})
    # Put back as it was verified: the filters read it again.
    with acting_as(data_entry, "Back as verified."):
        event.charges.set([charge])
    assert snapshot(case).filters_current
    assert found(client, key, case, {"charge": str(charge.uid)})


def test_nothing_of_the_correction_reaches_a_partner(client, key, case, charge, data_entry):
    edit_summary(case, data_entry)
    add_name(case, data_entry)
    event = case.events.get()
    event.description = f"Moved: {SENTINEL}."
    with acting_as(data_entry, "Correction."):
        event.save()
    pages = [
        get(client, f"cases/{case.reference}/", key).content,
        json.dumps(all_pages(client, "cases/", key)).encode(),
        *(
            json.dumps(all_pages(client, "cases/", key, params)).encode()
            for params in [*filters(case, charge).values(), {"search": SENTINEL}]
        ),
        json.dumps(all_pages(client, "people/", key)).encode(),
    ]
    for page in pages:
        assert SENTINEL.encode() not in page
        assert SENTINEL_NAME.encode() not in page


# --- rebuilding ------------------------------------------------------------------------------


def test_a_rebuild_keeps_the_held_version(case, data_entry):
    writer.rebuild()  # the fingerprint stored: the rules the documents were written under
    edit_summary(case, data_entry)
    held = snapshot(case)
    out = StringIO()
    call_command("rebuild_snapshots", stdout=out)
    kept = snapshot(case)
    assert (kept.document, kept.held_since, kept.updated_at) == (
        held.document,
        held.held_since,
        held.updated_at,
    )
    assert case.publication_records.filter(withdrawn_at__isnull=True).count() == 1


def test_a_held_version_written_under_other_rules_is_dropped(client, key, case, data_entry):
    """After the allow-list or the publication settings changed, the held document cannot be
    written again without the unverified correction: the case leaves partners until it is
    verified."""
    writer.rebuild()
    edit_summary(case, data_entry)
    since = snapshot(case).held_since
    writer.SnapshotState.objects.update(fingerprint="written under other rules")
    result = writer.rebuild()
    assert result["removed"] == 1
    assert not PublishedCase.objects.filter(case=case).exists()
    assert withdrawn_references(client, key, since) == [case.reference]


# --- staff are told ---------------------------------------------------------------------------


def test_the_case_page_says_partners_still_see_the_verified_version(admin_client, case, data_entry):
    url = reverse("admin:cases_case_change", args=[case.pk])
    assert "Partners still see the version verified on" not in admin_client.get(url).text
    edit_summary(case, data_entry)
    page = admin_client.get(url).text
    assert "A correction of this published case is in review" in page
    assert "Partners still see the version verified on" in page


def test_a_case_in_correction_is_counted_apart_from_the_published_set(case, data_entry):
    edit_summary(case, data_entry)
    assert not Case.objects.published().filter(pk=case.pk).exists()
    assert Case.objects.in_correction().filter(pk=case.pk).exists()


# --- what the held version shows is checked again, whatever the live records say ---------------


def test_a_source_the_correction_uncited_then_made_confidential_leaves_at_once(
    client, key, case, data_entry, verifier
):
    """The correction removes the citation: the live records no longer name the source, the
    held version still shows it. Made confidential, it must leave all the same."""
    citation = case.events.get().citations.get()
    source = citation.source
    with acting_as(data_entry, "Wrong source."):
        citation.delete()
    assert snapshot(case).held_since is not None
    assert source.title in get(client, f"cases/{case.reference}/", key).text
    source.access = Access.CONFIDENTIAL
    with acting_as(verifier, "The testifier is at risk."):
        source.save()
    assert not PublishedCase.objects.filter(case=case).exists()
    assert source.title not in json.dumps(all_pages(client, "cases/", key))


def test_a_case_moved_to_another_person_does_not_keep_the_first_ones_details(
    client, key, case, data_entry
):
    first = case.person
    other = person_named("Another Person", consent=Consent.GRANTED)
    moved = fresh(case)
    moved.person = other
    with acting_as(data_entry, "Linked to the wrong person."):
        moved.save()
    assert fresh(case).review_state == ReviewState.IN_REVIEW
    assert not PublishedCase.objects.filter(case=case).exists()
    assert get(client, f"cases/{case.reference}/", key).status_code == 404
    assert "Kanat" not in json.dumps(all_pages(client, "cases/", key))
    assert first.names.exists()  # nothing else changed


def test_a_renamed_charge_leaves_the_held_version_as_verified(client, key, case, charge):
    """A vocabulary edit does not reopen cases; the held document keeps the name it was
    verified with until the correction is verified (rendering it again would publish the
    correction)."""
    edit_summary(case, case.created_by)
    charge.name = "Renamed charge"
    with acting_as(case.created_by, "Renamed."):
        charge.save()
    events = document(client, key, case)["events"]
    assert events[0]["charges"][0]["name"] == "Inciting ethnic hatred"
    assert snapshot(case).filters_current  # the same charge: the filter still reads it
    assert found(client, key, case, {"charge": str(charge.uid)})


def test_incident_and_facility_filters_follow_the_held_version(client, key, case, data_entry):
    incident = make_incident("A mass detention")
    facility = make_location("Camp Nine", kind=LocationKind.FACILITY)
    event = case.events.get()
    with acting_as(data_entry, "More detail."):
        case.incidents.add(incident)
        event.facility = facility
        event.save()
    # Both added by the correction: not in the held version, so no filter finds them there.
    assert not snapshot(case).filters_current
    assert not found(client, key, case, {"incident": str(incident.uid)})
    assert not found(client, key, case, {"facility": str(facility.uid)})


# --- staff can take it away -----------------------------------------------------------------


def test_the_case_page_offers_unpublish_while_the_correction_is_in_review(
    client, case, data_entry, verifier
):
    edit_summary(case, data_entry)
    client.force_login(verifier)
    change = reverse("admin:cases_case_change", args=[case.pk])
    unpublish_page = reverse("admin:cases_case_workflow", args=[case.pk, "unpublish"])
    assert unpublish_page in client.get(change).text
    response = client.post(unpublish_page, {"reason": "A name in the summary is dangerous."})
    assert response.status_code == 302
    case = fresh(case)
    assert not case.is_published and case.review_state == ReviewState.IN_REVIEW
    assert not PublishedCase.objects.filter(case=case).exists()
    assert unpublish_page not in client.get(change).text
