"""Initials (K. Yerezhep, Тохти А.): never proof of one person, but a pair whose initial could
stand for the other's name reaches the duplicate queue as a possible duplicate, with the
reason; one whose initial cannot stand for it does not; searches for "the same" name never
return them."""

import datetime

import pytest

from people import matching, names
from people import scan as duplicate_scan
from people.models import DuplicateCandidate, PersonNameKey
from tests.factories import person_named

pytestmark = pytest.mark.django_db

QUEUE = "/admin/people/duplicatecandidate/"


@pytest.fixture(autouse=True)
def no_margin(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "SINCE_MARGIN", datetime.timedelta(0))


def listed() -> dict[frozenset[int], DuplicateCandidate]:
    return {frozenset((c.person_a_id, c.person_b_id)): c for c in DuplicateCandidate.objects.all()}


def test_an_initial_that_could_stand_for_the_name_is_listed_as_possible_with_the_reason():
    short = person_named("K. Yerezhep", birth_date="1960")
    full = person_named("Kanat Yerezhep", birth_date="1960")
    duplicate_scan.scan_duplicates()
    candidate = listed()[frozenset((short.pk, full.pk))]
    assert candidate.possible
    assert names.POSSIBLE_DUPLICATE_THRESHOLD <= candidate.score < names.SAME_PERSON_THRESHOLD
    assert matching.INITIAL_ONLY in candidate.reasons["reasons"]
    assert candidate.reasons["names"][0]["initial"] is True


def test_facts_that_agree_never_make_an_initial_the_same_person():
    short = person_named("Тохти А.", birth_date="1962")
    full = person_named("Tokhti Abdulla", birth_date="1962")
    duplicate_scan.scan_duplicates()
    candidate = listed()[frozenset((short.pk, full.pk))]
    assert candidate.possible and candidate.score <= names.INITIAL_CEILING


@pytest.mark.parametrize(
    ("short", "full"),
    [("M. Yerezhep", "Kanat Yerezhep"), ("K. Yerezhep", "Kanat Nurlanov")],
)
def test_an_initial_that_cannot_stand_for_the_name_is_not_listed(short, full):
    person_named(short, birth_date="1960")
    person_named(full, birth_date="1960")
    duplicate_scan.scan_duplicates()
    assert listed() == {}


def test_full_names_that_share_only_an_initial_key_are_not_compared_there():
    first = person_named("Kanat Yerezhep", birth_date="1960")
    second = person_named("Karim Yerezhep", birth_date="1960")
    assert {"xK.LJP"} <= set(
        PersonNameKey.objects.filter(name__person=first).values_list("key", flat=True)
    )
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] == 0  # no initial among them: the block is not read
    assert frozenset((first.pk, second.pk)) not in listed()


def test_in_a_big_block_an_initial_needs_a_fact_that_agrees(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    short = person_named("K. Yerezhep", birth_date="1971")
    others = [person_named(name) for name in ("Karim Yerezhep", "Kairat Yerezhep")]
    born = person_named("Kanat Yerezhep", birth_date="1971")
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] >= 3  # the initial with each bearer of the block
    assert set(listed()) == {frozenset((short.pk, born.pk))}
    assert all(frozenset((short.pk, o.pk)) not in listed() for o in others)


def test_a_later_scan_of_the_people_changed_finds_a_new_initial():
    full = person_named("Kanat Yerezhep", birth_date="1960")
    duplicate_scan.scan_duplicates()
    short = person_named("K. Yerezhep", birth_date="1960")
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] >= 1
    assert listed()[frozenset((short.pk, full.pk))].possible


def test_a_search_for_the_same_name_never_returns_an_initial():
    person_named("K. Yerezhep", birth_date="1960")
    full = person_named("Kanat Yerezhep", birth_date="1960")
    found = matching.find_people(["Kanat Yerezhep"])
    assert [match.person.pk for match in found] == [full.pk]


def test_the_queue_shows_possible_and_likely_apart(admin_client):
    short = person_named("K. Yerezhep", birth_date="1960")
    full = person_named("Kanat Yerezhep", birth_date="1960")
    other = person_named("Қанат Ережеп", birth_date="1960")
    duplicate_scan.scan_duplicates()
    pairs = listed()
    assert not pairs[frozenset((full.pk, other.pk))].possible
    assert pairs[frozenset((short.pk, full.pk))].possible

    page = admin_client.get(QUEUE).content.decode()
    assert "Possible" in page and "Likely" in page
    assert "An initial could stand for the other" in page

    possible = admin_client.get(QUEUE, {"match": "possible"}).context["cl"].result_list
    likely = admin_client.get(QUEUE, {"match": "likely"}).context["cl"].result_list
    assert {c.pk for c in possible} == {
        pairs[frozenset((short.pk, full.pk))].pk,
        pairs[frozenset((short.pk, other.pk))].pk,
    }
    assert {c.pk for c in likely} == {pairs[frozenset((full.pk, other.pk))].pk}


def test_a_middle_initial_is_an_extra_word_to_search_and_scan_alike():
    first = person_named("Rahile D. Dawut", birth_date="1966")
    second = person_named("Rahile Dawut", birth_date="1966")
    found = matching.find_people(["Rahile Dawut"])
    assert {match.person.pk for match in found} == {first.pk, second.pk}
    duplicate_scan.scan_duplicates()
    assert not listed()[frozenset((first.pk, second.pk))].possible


def test_people_scored_in_either_order_score_the_same():
    one = matching.person_profile(person_named("K. Yerezhep", "Kanat Yerezhep"))
    other = matching.person_profile(person_named("Kanat Yerezhep", "K. Yerezhep"))
    assert matching.score_profiles(one, other)[0] == matching.score_profiles(other, one)[0]
    assert matching.alike(one, other) is not None and matching.alike(other, one) is not None
