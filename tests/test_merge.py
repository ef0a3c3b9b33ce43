"""Merging two records of one person: everything moves, nothing is lost, both histories stay,
the absorbed uid keeps resolving, and only those who may merge (and see both) can."""

import threading
import time
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import transaction

from cases.models import Case, ReviewState
from people import services
from people.matching import find_people
from people.models import (
    Affiliation,
    CandidateStatus,
    Consent,
    DuplicateCandidate,
    Person,
    PersonAlias,
    PersonName,
    Relationship,
)
from people.services import MergeRefused, dismiss_candidate, merge_people
from sources.models import Citation
from tests import partner_api
from tests.factories import (
    fresh,
    make_case,
    make_citation,
    make_location,
    make_organisation,
    make_person,
    make_user,
    person_named,
    publish,
    verified,
)
from tests.partner_api import API, get

pytestmark = pytest.mark.django_db

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters


@pytest.fixture
def kanat():
    return person_named("Kanat Yerezhep", "Қанат Ережеп", birth_date="1960")


@pytest.fixture
def qanat():
    return person_named("Qanat Erejep", "卡纳提·叶热杰普", "Қанат Ережеп")


def pair(first, second, **kw):
    a, b = sorted([first, second], key=lambda p: p.pk)
    kw.setdefault("score", 0.95)
    return DuplicateCandidate.objects.create(person_a=a, person_b=b, **kw)


def related_rows(*people):
    """Every row that hangs on these people, by kind."""
    ids = [p.pk for p in people]
    return {
        "names": set(PersonName.objects.filter(person__in=ids).values_list("name", "language")),
        "cases": set(Case.objects.filter(person__in=ids).values_list("pk", flat=True)),
        "citations": set(Citation.objects.filter(person__in=ids).values_list("pk", flat=True)),
        "affiliations": set(
            Affiliation.objects.filter(person__in=ids).values_list("organisation", "role")
        ),
    }


# --- what moves -----------------------------------------------------------------------------


@pytest.fixture
def two_records(kanat, qanat):
    """Two records of one person, each with cases, citations, affiliations, relationships."""
    newspaper, tv = make_organisation("Xinjiang Daily"), make_organisation("Xinjiang TV")
    Affiliation.objects.create(person=kanat, organisation=tv, role="Director")
    Affiliation.objects.create(person=qanat, organisation=newspaper, role="Journalist")
    for person in (kanat, qanat):
        make_citation(person=person)
        make_case(person)
    daughter, brother = make_person("Aigul Kanatqyzy"), make_person("Serik Yerezhep")
    Relationship.objects.create(from_person=daughter, kind="child_of", to_person=qanat)
    Relationship.objects.create(from_person=qanat, kind="sibling_of", to_person=brother)
    return kanat, qanat


def test_merge_moves_every_related_row_to_the_survivor_and_loses_nothing(two_records, verifier):
    kanat, qanat = two_records
    before = related_rows(kanat, qanat)
    merge_people(kanat, qanat, user=verifier, reason="Same person: court notice and list.")
    assert not Person.objects.filter(pk=qanat.pk).exists()
    assert related_rows(kanat) == before


def test_merge_moves_relationships_in_both_directions(two_records, verifier):
    kanat, qanat = two_records
    merge_people(kanat, qanat, user=verifier)
    kinds = set(Relationship.objects.values_list("from_person", "kind", "to_person"))
    daughter = Person.objects.get(display_name="Aigul Kanatqyzy")
    brother = Person.objects.get(display_name="Serik Yerezhep")
    assert kinds == {(daughter.pk, "child_of", kanat.pk), (kanat.pk, "sibling_of", brother.pk)}


def test_a_spelling_the_survivor_already_has_is_not_copied_twice(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier)
    names = list(kanat.names.values_list("name", flat=True))
    assert names.count("Қанат Ережеп") == 1
    assert {"Qanat Erejep", "卡纳提·叶热杰普", "Kanat Yerezhep"} <= set(names)


def test_the_survivors_preferred_name_stays_preferred(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier)
    assert list(kanat.names.filter(is_preferred=True).values_list("name", flat=True)) == [
        "Kanat Yerezhep"
    ]
    assert fresh_person(kanat).display_name == "Kanat Yerezhep"


def fresh_person(person):
    return Person.objects.get(pk=person.pk)


def test_moved_names_keep_their_match_keys(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier)
    chinese = PersonName.objects.get(name="卡纳提·叶热杰普")
    assert chinese.person == kanat
    assert chinese.match_keys.exists()


def test_a_relationship_between_the_two_records_is_not_turned_into_one_with_oneself(
    kanat, qanat, verifier
):
    Relationship.objects.create(from_person=qanat, kind="relative_of", to_person=kanat)
    merge_people(kanat, qanat, user=verifier)
    assert not Relationship.objects.exists()


def test_a_relationship_between_the_two_records_is_kept_in_the_survivors_notes(
    kanat, qanat, verifier
):
    Relationship.objects.create(
        from_person=qanat, kind="testifier_of", to_person=kanat, notes="Met him in Urumqi, 2019."
    )
    Person.objects.filter(pk=qanat.pk).update(birth_date="1961")
    result = merge_people(kanat, fresh_person(qanat), user=verifier)
    notes = fresh_person(kanat).internal_notes
    assert "“Qanat Erejep” testified about “Kanat Yerezhep”" in notes
    assert "Met him in Urumqi, 2019." in notes
    assert "date of birth: 1961" in notes  # the other conflicts, in the same list
    assert all(line in notes for line in result.conflicts)


def test_a_relationship_both_records_have_is_kept_once(kanat, qanat, verifier):
    father = make_person("Yerezhep Tursyn")
    Relationship.objects.create(from_person=kanat, kind="child_of", to_person=father)
    Relationship.objects.create(from_person=qanat, kind="child_of", to_person=father)
    merge_people(kanat, qanat, user=verifier)
    assert list(Relationship.objects.values_list("from_person", "to_person")) == [
        (kanat.pk, father.pk)
    ]


def test_empty_fields_of_the_survivor_are_filled_from_the_absorbed_record(kanat, qanat, verifier):
    place = make_location("Yining")
    Person.objects.filter(pk=qanat.pk).update(place_of_origin=place, occupation="Journalist")
    merge_people(kanat, fresh_person(qanat), user=verifier)
    kanat = fresh_person(kanat)
    assert (kanat.place_of_origin, kanat.occupation) == (place, "Journalist")


def test_a_conflicting_value_is_kept_in_the_survivors_internal_notes(kanat, qanat, verifier):
    Person.objects.filter(pk=qanat.pk).update(birth_date="1961")
    result = merge_people(kanat, fresh_person(qanat), user=verifier)
    kanat = fresh_person(kanat)
    assert kanat.birth_date == "1960"
    assert "date of birth: 1961" in kanat.internal_notes
    assert result.conflicts


def test_the_more_restrictive_consent_wins(kanat, qanat, verifier):
    Person.objects.filter(pk=kanat.pk).update(consent=Consent.GRANTED)
    Person.objects.filter(pk=qanat.pk).update(consent=Consent.WITHDRAWN)
    merge_people(fresh_person(kanat), fresh_person(qanat), user=verifier)
    assert fresh_person(kanat).consent == Consent.WITHDRAWN


def test_both_records_internal_notes_are_kept(kanat, qanat, verifier):
    Person.objects.filter(pk=kanat.pk).update(internal_notes="Met his sister in 2023.")
    Person.objects.filter(pk=qanat.pk).update(internal_notes="Listed by Atajurt.")
    merge_people(fresh_person(kanat), fresh_person(qanat), user=verifier)
    notes = fresh_person(kanat).internal_notes
    assert "Met his sister in 2023." in notes
    assert "Listed by Atajurt." in notes


# --- histories and the absorbed uid -----------------------------------------------------------


def test_both_histories_are_kept(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier, reason="Court notice matches.")
    absorbed = Person.history.filter(id=qanat.pk).order_by("history_date")
    assert absorbed.first().history_type == "+"
    assert absorbed.last().history_type == "-"
    assert absorbed.last().history_user == verifier
    assert "Court notice matches." in absorbed.last().history_change_reason
    assert Person.history.filter(id=kanat.pk, history_user=verifier).exists()


def test_moved_rows_record_the_merge_in_their_history(kanat, qanat, verifier):
    case = make_case(qanat)
    merge_people(kanat, qanat, user=verifier)
    latest = Case.history.filter(id=case.pk).order_by("-history_date").first()
    assert latest.person_id == kanat.pk
    assert latest.history_user == verifier
    assert "Merged" in latest.history_change_reason


def test_the_absorbed_uid_resolves_to_the_survivor(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier)
    assert PersonAlias.resolve(qanat.uid) == kanat


def test_the_absorbed_uid_still_resolves_when_the_survivor_is_merged_in_turn(
    kanat, qanat, verifier
):
    third = person_named("Kanat Erezhepuly")
    merge_people(kanat, qanat, user=verifier)
    merge_people(third, fresh_person(kanat), user=verifier)
    assert PersonAlias.resolve(qanat.uid) == third
    assert PersonAlias.resolve(kanat.uid) == third


def test_an_unknown_uid_resolves_to_nothing():
    assert PersonAlias.resolve("not-a-uuid") is None


# --- atomic ---------------------------------------------------------------------------------


def test_a_failure_mid_merge_leaves_both_people_untouched(two_records, verifier, monkeypatch):
    kanat, qanat = two_records
    before = (related_rows(kanat), related_rows(qanat))

    def fail(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_move_citations", fail)
    with pytest.raises(RuntimeError):
        merge_people(kanat, qanat, user=verifier)
    assert Person.objects.filter(pk__in=[kanat.pk, qanat.pk]).count() == 2
    assert (related_rows(kanat), related_rows(qanat)) == before
    assert not PersonAlias.objects.exists()


# --- refused --------------------------------------------------------------------------------


def test_a_person_cannot_be_merged_into_themselves(kanat, verifier):
    with pytest.raises(MergeRefused, match="cannot be merged into themselves"):
        merge_people(kanat, kanat, user=verifier)


def test_a_merged_record_cannot_be_merged_again(kanat, qanat, verifier):
    merge_people(kanat, qanat, user=verifier)
    other = person_named("Kanat Yerezhepov")
    with pytest.raises(MergeRefused, match="already merged into Kanat Yerezhep"):
        merge_people(qanat, other, user=verifier)


def test_a_record_merged_away_while_waiting_for_the_lock_is_refused_cleanly(
    kanat, qanat, verifier, monkeypatch
):
    """A second merge of the same record, loaded before the first one committed: it must be
    refused with a message, not crash (a 500), once it holds the lock."""
    third = person_named("Kanat Yerezhepov")
    stale = Person.objects.get(pk=qanat.pk)
    real, raced = Person.objects.select_for_update, []

    def the_other_merge_commits_meanwhile(*args, **kwargs):
        if not raced:
            raced.append(True)
            merge_people(third, Person.objects.get(pk=qanat.pk), user=verifier)
        return real(*args, **kwargs)

    monkeypatch.setattr(Person.objects, "select_for_update", the_other_merge_commits_meanwhile)
    with pytest.raises(MergeRefused, match="already merged into Kanat Yerezhepov"):
        merge_people(kanat, stale, user=verifier)
    assert raced
    assert Person.objects.filter(pk=kanat.pk).exists()
    assert not PersonAlias.objects.filter(person=kanat).exists()


def test_a_deleted_record_is_refused_as_no_longer_existing(kanat, qanat, verifier):
    stale = Person.objects.get(pk=qanat.pk)
    Person.objects.filter(pk=qanat.pk).delete()
    with pytest.raises(MergeRefused, match="no longer exists"):
        merge_people(kanat, stale, user=verifier)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_two_merges_of_one_record_at_once_refuse_the_second_cleanly(verifier):
    from django.db import connections

    kanat, qanat = person_named("Kanat Yerezhep"), person_named("Qanat Erejep")
    third = person_named("Kanat Yerezhepov")
    locked, errors = threading.Event(), []

    def run(step):
        try:
            step()
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connections.close_all()

    def first():
        with transaction.atomic():
            list(Person.objects.select_for_update().filter(pk__in=[kanat.pk, qanat.pk]))
            locked.set()
            time.sleep(0.5)  # the second merge now waits for the row of qanat
            merge_people(kanat, qanat, user=verifier)

    def second():
        locked.wait(10)
        merge_people(third, qanat, user=verifier)

    threads = [threading.Thread(target=run, args=(step,)) for step in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [str(e) for e in errors] == [
        "Qanat Erejep was already merged into Kanat Yerezhep: use that record instead."
    ]
    assert set(Person.objects.values_list("pk", flat=True)) == {kanat.pk, third.pk}


def test_data_entry_may_not_merge(kanat, qanat, data_entry):
    with pytest.raises(MergeRefused, match="permission to merge"):
        merge_people(kanat, qanat, user=data_entry)
    assert Person.objects.filter(pk=qanat.pk).exists()


def test_nobody_merges_a_person_they_may_not_see(kanat, qanat, data_entry):
    data_entry.user_permissions.add(Permission.objects.get(codename="merge_person"))
    make_case(qanat, sensitive=True)
    with pytest.raises(MergeRefused, match="may not see both records"):
        merge_people(kanat, qanat, user=fresh_user(data_entry))
    assert Person.objects.filter(pk=qanat.pk).exists()


def fresh_user(user):
    return type(user).objects.get(pk=user.pk)  # permission caches start empty


# --- cases go back to review; candidates --------------------------------------------------------


def test_merging_sends_verified_cases_of_both_records_back_to_review(data_entry, verifier):
    second = make_user("another_verifier")
    second.groups.set(verifier.groups.all())
    kept_case, absorbed_case = verified(data_entry, second), verified(data_entry, second)
    merge_people(kept_case.person, absorbed_case.person, user=verifier)
    assert fresh(kept_case).review_state == ReviewState.IN_REVIEW
    assert fresh(absorbed_case).review_state == ReviewState.IN_REVIEW
    assert fresh(absorbed_case).person == kept_case.person


def test_the_merged_pair_is_marked_merged(kanat, qanat, verifier):
    candidate = pair(kanat, qanat)
    merge_people(kanat, qanat, user=verifier, reason="Same birth date and employer.")
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED
    assert candidate.absorbed_uid == qanat.uid
    assert (candidate.decided_by, candidate.decision_reason) == (
        verifier,
        "Same birth date and employer.",
    )


def test_a_different_person_decision_about_the_absorbed_record_carries_to_the_survivor(
    kanat, qanat, verifier
):
    other = person_named("Kanat Yerezhanov")
    pair(qanat, other, status=CandidateStatus.DISMISSED)
    merge_people(kanat, qanat, user=verifier)
    moved = DuplicateCandidate.objects.get(status=CandidateStatus.DISMISSED)
    assert {moved.person_a, moved.person_b} == {kanat, other}


def test_dismissing_a_pair_records_who_and_why(kanat, qanat, data_entry):
    candidate = dismiss_candidate(pair(kanat, qanat), user=data_entry, reason="Different fathers.")
    assert candidate.status == CandidateStatus.DISMISSED
    assert (candidate.decided_by, candidate.decision_reason) == (data_entry, "Different fathers.")


def test_a_decided_pair_cannot_be_dismissed_again(kanat, qanat, data_entry):
    candidate = pair(kanat, qanat, status=CandidateStatus.DISMISSED)
    with pytest.raises(MergeRefused, match="already decided"):
        dismiss_candidate(candidate, user=data_entry)


def test_staff_without_a_role_may_not_dismiss_a_pair(kanat, qanat, no_role):
    with pytest.raises(MergeRefused, match="permission"):
        dismiss_candidate(pair(kanat, qanat), user=no_role)


# --- the partner API -------------------------------------------------------------------------


def published_person(name):
    person = person_named(name, consent=Consent.GRANTED)
    publish(make_case(person))
    return person


def test_the_api_redirects_a_merged_uid_to_the_published_survivor(client, key, verifier):
    kanat, qanat = published_person("Kanat Yerezhep"), published_person("Qanat Erejep")
    merge_people(kanat, qanat, user=verifier)
    for case in kanat.cases.all():  # back in review after the merge: verified again
        publish(case)
    response = get(client, f"{API}people/{qanat.uid}/", key)
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/people/{kanat.uid}/")
    assert response.json()["uid"] == str(kanat.uid)


def test_the_api_answers_a_merged_uid_like_an_unknown_one_when_the_survivor_is_unpublished(
    client, key, verifier, kanat, qanat
):
    publish(make_case(qanat))
    merge_people(kanat, qanat, user=verifier)  # the survivor's cases go back to review
    merged = get(client, f"{API}people/{qanat.uid}/", key)
    unknown = get(client, f"{API}people/{Person().uid}/", key)
    assert merged.status_code == unknown.status_code == 404
    assert merged.json() == unknown.json()


# --- the demo's seed person ------------------------------------------------------------------


def test_two_more_records_of_the_demo_person_merge_into_one_with_every_spelling_and_case(
    settings, tmp_path, verifier
):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    seed = Person.objects.get(display_name="Kanat Yerezhep")
    spellings = ["Qanat Erejep", "卡纳提·叶热杰普"]
    others = [person_named(name) for name in spellings]
    cases = {case.pk for person in (seed, *others) for case in [make_case(person)]}
    cases |= set(seed.cases.values_list("pk", flat=True))
    for name, person in zip(spellings, others, strict=True):
        (match,) = find_people([name], exclude_ids=[o.pk for o in others])
        assert match.person == seed
        merge_people(seed, person, user=verifier, reason="Same person: list and court notice.")
    assert set(seed.names.values_list("name", flat=True)) >= {"Қанат Ережеп", *spellings}
    assert set(seed.cases.values_list("pk", flat=True)) == cases
    assert all(Person.history.filter(id=o.pk, history_type="-").exists() for o in others)
