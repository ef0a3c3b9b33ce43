"""The duplicate scan at scale (people.scan): big blocks compared by sub-blocks and name
order, nobody left out; each person's best candidates; batches committed and a stopped
scan continued; later scans compare the people changed since; pairs written with their
history; the scan as a background job, continued after its worker stopped."""

import datetime
from io import StringIO
from itertools import combinations
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from jobs import services as jobs
from jobs.models import Kind, State
from people import matching, names
from people import scan as duplicate_scan
from people.models import (
    CandidateStatus,
    DuplicateCandidate,
    DuplicateScan,
    Person,
    PersonName,
    PersonNameKey,
    Relationship,
    RelationshipKind,
)
from people.tasks import scan_duplicates
from tests.factories import person_named
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db

MARGIN = duplicate_scan.SINCE_MARGIN


@pytest.fixture(autouse=True)
def no_margin(monkeypatch):
    """Here everyone is recorded a moment before the scans: no margin (but where tested)."""
    monkeypatch.setattr(duplicate_scan, "SINCE_MARGIN", datetime.timedelta(0))


def pairs() -> set[tuple[int, int]]:
    return set(DuplicateCandidate.objects.values_list("person_a_id", "person_b_id"))


def pair(first: Person, second: Person) -> tuple[int, int]:
    return DuplicateCandidate.ordered(first.pk, second.pk)


@pytest.fixture
def twins():
    return (
        person_named("Kanat Yerezhep", "Қанат Ережеп", birth_date="1960"),
        person_named("Qanat Erejep", "卡纳提·叶热杰普", birth_date="1960"),
    )


@pytest.fixture
def others():
    """Two more pairs and a loner, under other names."""
    return [
        person_named("Aigul Serikqyzy", birth_date="1985"),
        person_named("Айгүл Серікқызы", birth_date="1985"),
        person_named("Yerlan Nurlanov"),
        person_named("Ерлан Нұрланов"),
        person_named("Gulnar Tokhtarova", birth_date="1990"),
    ]


# --- who is compared ---------------------------------------------------------------------------


def test_a_pair_sharing_several_keys_is_compared_once(twins):
    assert len(PersonNameKey.objects.filter(name__person=twins[0]).values("key").distinct()) > 1
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] == 1
    assert pairs() == {pair(*twins)}


def test_a_block_too_big_for_every_pair_is_compared_not_skipped(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    # Six bearers of one name: four born decades apart, and one person recorded twice.
    for year in (1940, 1950, 1970, 1990):
        person_named("Kanat Yerezhep", birth_date=str(year))
    first = person_named("Kanat Yerezhep", birth_date="1962")
    second = person_named("Қанат Ережеп", birth_date="1962")
    counts = duplicate_scan.scan_duplicates()
    assert counts["big keys"] > 0
    assert pairs() == {pair(first, second)}


def test_in_a_big_block_a_shared_name_alone_is_no_evidence(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    bearers = [person_named("Kanat Yerezhep") for _ in range(4)]
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] == 6  # all compared (the order brings them together)
    assert pairs() == set()  # none listed: nothing but the common name agrees
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 300)
    duplicate_scan.scan_duplicates(everyone=True)
    assert len(pairs()) == 6  # a rarer name is evidence enough to list them
    assert pairs() == {pair(a, b) for a, b in combinations(bearers, 2)}


def test_big_blocks_of_the_same_people_are_compared_once(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    for _ in range(5):
        person_named("Kanat Yerezhep", birth_date="1960")
    keys = PersonNameKey.objects.exclude(key__startswith=names.INITIAL_KEY)
    assert keys.values("key").distinct().count() == 3  # one name's key variants: three blocks
    monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", 5)  # each block a batch of its own
    counts = duplicate_scan.scan_duplicates()
    # Big too: the two keys of initials (people.names.possible_keys), not read (no initial).
    assert counts["big keys"] == 5
    assert counts["pairs compared"] == 10
    assert len(pairs()) == 10


def test_a_pair_sharing_only_big_blocks_is_compared_in_each_that_brings_it_together(
    monkeypatch,
):
    """Two common names shared: whichever block's order brings the pair together counts."""
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    first = person_named("Kanat Yerezhep", "Serik Bekov", birth_date="1960")
    second = person_named("Қанат Ережеп", "Serik Bekov", birth_date="1960")
    for _ in range(3):
        person_named("Kanat Yerezhep")
    person_named("Serik Bekov")
    first_block = {first.pk, second.pk} | {
        p.pk for p in Person.objects.filter(names__name="Kanat Yerezhep")
    }
    brought = []

    def only_in_the_second_name(people, profiles):
        if set(people) == first_block:
            return set()  # the first name's block does not bring them together
        brought.append(set(people))
        return set(combinations(people, 2))

    monkeypatch.setattr(duplicate_scan, "_neighbour_pairs", only_in_the_second_name)
    duplicate_scan.scan_duplicates()
    assert brought and pair(first, second) in pairs()


def test_the_blocks_are_the_stored_keys_even_from_older_rules(twins):
    """Keys stored under earlier matching rules (before --rebuild-keys) still block."""
    names_ = PersonName.objects.filter(person__in=twins)
    PersonNameKey.objects.filter(name__in=names_).delete()
    PersonNameKey.objects.bulk_create(PersonNameKey(name=name, key="zOLDRULE") for name in names_)
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] == 1 and pairs() == {pair(*twins)}


def profile(name: str, year: int | None = None, place: str = "") -> matching.Profile:
    birth = None
    if year:
        birth = (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    return matching.Profile(names=matching.prepared([name]), birth=birth, place_path=place)


def test_a_big_block_compares_people_born_in_one_decade_however_far_apart_by_name(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 3)
    monkeypatch.setattr(duplicate_scan, "WINDOW", 1)
    profiles = {1: profile("Aa Bekov", 1961), 99: profile("Zz Bekov", 1963)}
    # Between them in name order, people of other decades and places.
    for pk in range(2, 12):
        profiles[pk] = profile(f"M{chr(96 + pk)} Bekov", 1800 + 10 * pk, f"/1/{pk}/{pk}/")
    found = duplicate_scan._neighbour_pairs(sorted(profiles), profiles)
    assert (1, 99) in found  # the decade's sub-block
    assert (1, 2) in found  # the neighbour in name order
    assert (1, 11) not in found  # nothing brings these two together


def test_a_big_block_compares_each_person_with_people_of_the_same_origin_or_name_form(
    monkeypatch,
):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 3)
    monkeypatch.setattr(duplicate_scan, "WINDOW", 1)
    profiles = {pk: profile(f"M{chr(96 + pk)} Bekov") for pk in range(1, 12)}
    profiles[1] = profile("Aa Bekov", place="/1/2/3/4/")
    profiles[50] = profile("Zz Bekov", place="/1/2/3/9/")  # the same prefecture
    profiles[60] = profile("Mb Bekov")  # spelled as 2 is
    found = duplicate_scan._neighbour_pairs(sorted(profiles), profiles)
    assert (1, 50) in found
    assert (2, 60) in found


def test_the_work_in_a_big_block_grows_with_its_people_not_their_square(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 20)
    monkeypatch.setattr(duplicate_scan, "WINDOW", 5)
    people = 400
    profiles = {
        pk: profile(f"Name{pk:04d} Bekov", 1930 + pk % 60, f"/1/{pk % 7}/{pk % 13}/")
        for pk in range(people)
    }
    found = duplicate_scan._neighbour_pairs(sorted(profiles), profiles)
    # Every person meets its neighbours in each ordering it belongs to, and nobody more.
    assert all(any(pk in p for p in found) for pk in profiles)
    assert len(found) <= people * 5 * 5
    assert len(found) < people * (people - 1) / 2 / 4


def test_each_person_keeps_its_best_candidates_from_a_block(monkeypatch):
    monkeypatch.setattr(duplicate_scan, "TOP_K", 2)
    bearers = [person_named("Kanat Yerezhep") for _ in range(6)]
    counts = duplicate_scan.scan_duplicates()
    assert counts["pairs compared"] == 15
    found = pairs()
    assert len(found) < 15
    assert len(found) <= len(bearers) * 2  # each keeps two; a pair stays if one side keeps it
    for person in bearers:
        assert any(person.pk in p for p in found)


# --- the next scan: the people changed since ---------------------------------------------------


def test_the_next_scan_compares_only_the_people_changed_since(twins, others):
    first = duplicate_scan.scan_duplicates()
    assert "people changed" not in first
    assert len(pairs()) == 3
    newcomer = person_named("Kanat Yerezhep", birth_date="1960")
    second = duplicate_scan.scan_duplicates()
    assert second["people changed"] == 1
    assert second["pairs compared"] == 2  # the newcomer with each twin, nobody else
    assert {pair(newcomer, twins[0]), pair(newcomer, twins[1])} < pairs()
    assert len(pairs()) == 5  # the earlier pairs stay
    third = duplicate_scan.scan_duplicates()
    assert third["people changed"] == 0 and third["pairs compared"] == 0
    assert third["withdrawn"] == 0 and len(pairs()) == 5


def test_a_deleted_name_counts_as_a_change_and_withdraws_the_pair(twins):
    duplicate_scan.scan_duplicates()
    for name in twins[1].names.all():
        name.delete()
    PersonName.objects.create(person=twins[1], name="Gulnar Tokhtarova", language="en")
    counts = duplicate_scan.scan_duplicates()
    assert counts["people changed"] == 1
    assert counts["withdrawn"] == 1 and pairs() == set()


def test_a_relative_whose_record_changed_counts_as_changed():
    child = person_named("Kanat Yerezhep")
    father = person_named("Yerezhep Sarsenbay")
    Relationship.objects.create(from_person=child, to_person=father, kind=RelationshipKind.CHILD_OF)
    duplicate_scan.scan_duplicates()
    since = DuplicateScan.objects.get().started_at
    father.save()
    later = father.history.latest().history_date
    assert duplicate_scan.changed_people(since, later) == {child.pk, father.pk}


def test_changes_after_a_run_began_are_the_next_runs():
    person = person_named("Kanat Yerezhep")
    begun = person.history.latest().history_date
    later = person_named("Serik Bekov")
    assert later.pk not in duplicate_scan.changed_people(begun - datetime.timedelta(1), begun)
    assert person.pk in duplicate_scan.changed_people(begun - datetime.timedelta(1), begun)


def test_an_import_that_committed_after_the_last_scan_began_is_compared(monkeypatch, twins):
    """An import's history is dated when its transaction began, perhaps before the last
    scan started though committed after: the margin takes its people in."""
    duplicate_scan.scan_duplicates()
    begun = DuplicateScan.objects.get().started_at
    with mock.patch(
        "simple_history.models.timezone.now", return_value=begun - datetime.timedelta(minutes=30)
    ):  # the audit trail is append-only: the history is dated so as it is written
        imported = person_named("Kanat Yerezhep", birth_date="1960")
    assert imported.history.latest().history_date < begun
    monkeypatch.setattr(duplicate_scan, "SINCE_MARGIN", MARGIN)
    counts = duplicate_scan.scan_duplicates()
    assert counts["people changed"] >= 1
    assert pair(imported, twins[0]) in pairs()


def test_a_pair_not_listed_again_but_still_alike_stays(monkeypatch):
    """Listed by an import (or kept by neither side's TOP_K now): scored again, it stays."""
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 2)
    first, second, _third = (person_named("Kanat Yerezhep") for _ in range(3))
    profiles = matching.load_profiles([first.pk, second.pk])
    score, reasons, details = matching.score_profiles(profiles[first.pk][1], profiles[second.pk][1])
    assert matching.store_candidate(first.pk, second.pk, score, reasons, details) == "created"
    DuplicateCandidate.objects.update(scored_at=None)
    counts = duplicate_scan.scan_duplicates()
    assert counts["rechecked"] == 1 and counts["withdrawn"] == 0
    assert pairs() == {pair(first, second)}


def test_a_pair_staff_decide_while_it_is_rechecked_is_not_withdrawn(monkeypatch, twins):
    duplicate_scan.scan_duplicates()
    PersonName.objects.filter(person=twins[1]).delete()
    PersonName.objects.create(person=twins[1], name="Gulnar Tokhtarova", language="en")
    original = duplicate_scan._recheck_pairs

    def decided_meanwhile(run, rows):
        DuplicateCandidate.objects.update(status=CandidateStatus.DISMISSED)
        original(run, rows)

    monkeypatch.setattr(duplicate_scan, "_recheck_pairs", decided_meanwhile)
    counts = duplicate_scan.scan_duplicates()
    assert counts["rechecked"] == 1 and counts["withdrawn"] == 0
    assert DuplicateCandidate.objects.get().status == CandidateStatus.DISMISSED


def test_all_compares_everyone_again(twins, others):
    duplicate_scan.scan_duplicates()
    counts = duplicate_scan.scan_duplicates(everyone=True)
    assert "people changed" not in counts
    assert counts["pairs compared"] == 3 and counts["unchanged"] == 3


def test_a_pair_found_again_gets_no_new_history_row(twins):
    duplicate_scan.scan_duplicates()
    candidate = DuplicateCandidate.objects.get()
    assert candidate.history.count() == 1
    duplicate_scan.scan_duplicates(everyone=True)
    again = DuplicateCandidate.objects.get()
    assert again.history.count() == 1
    assert again.scored_at > candidate.scored_at


def test_a_pair_staff_decided_is_left_as_it_is(twins):
    duplicate_scan.scan_duplicates()
    DuplicateCandidate.objects.update(status=CandidateStatus.DISMISSED)
    counts = duplicate_scan.scan_duplicates(everyone=True)
    assert counts["kept"] == 1 and counts["withdrawn"] == 0
    assert DuplicateCandidate.objects.get().status == CandidateStatus.DISMISSED


# --- batches, stops and continuing -------------------------------------------------------------


class Stop(Exception):
    pass


def stopping_after(batches: int):
    seen = []

    def progress(total):
        def advance(n=1):
            seen.append(n)
            if len(seen) > batches:
                raise Stop

        return advance

    return progress


def test_a_scan_stopped_half_way_keeps_its_batches_and_is_continued(monkeypatch, twins, others):
    monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", 4)
    with pytest.raises(Stop):
        duplicate_scan.scan_duplicates(progress=stopping_after(2))
    stopped = DuplicateScan.objects.get()
    assert stopped.finished_at is None and stopped.done_through
    kept = pairs()
    assert 0 < len(kept) < 3  # some pairs found before the stop, not all
    counts = duplicate_scan.scan_duplicates()
    assert DuplicateScan.objects.get() == stopped  # the same scan, continued
    assert kept <= pairs() and len(pairs()) == 3
    assert counts["pairs compared"] == 3  # each pair once, across both runs
    assert "people changed" not in counts


def test_batches_of_any_size_find_the_same_pairs(monkeypatch, twins, others):
    duplicate_scan.scan_duplicates()
    whole = pairs()
    for size in (1, 3, 7):
        monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", size)
        counts = duplicate_scan.scan_duplicates(everyone=True)
        assert pairs() == whole and counts["pairs compared"] == 3


def another_run_moves_on(monkeypatch, at_claim: int = 1):
    """Another run of the scan commits a batch just before this one's ``at_claim``-th."""
    original, calls = duplicate_scan._claim, []

    def claim(scan):
        calls.append(scan)
        if len(calls) == at_claim:
            DuplicateScan.objects.filter(pk=scan.pk).update(done_through="zzz")
        original(scan)

    monkeypatch.setattr(duplicate_scan, "_claim", claim)


def test_a_scan_stops_when_another_run_of_it_moved_on(monkeypatch, twins):
    another_run_moves_on(monkeypatch)
    with pytest.raises(duplicate_scan.ScanMovedOn):
        duplicate_scan.scan_duplicates()
    assert pairs() == set()  # nothing written over the other run's work
    assert DuplicateScan.objects.get().finished_at is None


def test_a_stopped_scan_of_the_people_changed_is_continued_whole(monkeypatch, twins, others):
    duplicate_scan.scan_duplicates()
    newcomers = [
        person_named("Kanat Yerezhep", birth_date="1960"),
        person_named("Yerlan Nurlanov"),
        person_named("Gulnar Tokhtarova", birth_date="1990"),
    ]
    monkeypatch.setattr(duplicate_scan, "KEY_CHUNK", 2)
    monkeypatch.setattr(duplicate_scan, "BLOCK_PAIRWISE", 3)  # the twins' name is big now
    with pytest.raises(Stop):
        duplicate_scan.scan_duplicates(progress=stopping_after(1))
    stopped = DuplicateScan.objects.get(finished_at__isnull=True)
    assert stopped.done_through
    counts = duplicate_scan.scan_duplicates()
    stopped.refresh_from_db()
    assert stopped.finished_at is not None
    # Every big key of the people changed counted, not only those after the stop (three
    # match keys and two keys of initials, people.names.possible_keys).
    assert counts["big keys"] == 5
    assert counts["people changed"] == 3
    assert {pair(newcomers[0], twins[0]), pair(newcomers[0], twins[1])} <= pairs()
    assert {pair(newcomers[1], others[2]), pair(newcomers[1], others[3])} <= pairs()
    assert pair(newcomers[2], others[4]) in pairs()


def test_rebuilding_the_keys_starts_the_scan_afresh(monkeypatch, twins, others):
    monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", 4)
    with pytest.raises(Stop):
        duplicate_scan.scan_duplicates(progress=stopping_after(1))
    stopped = DuplicateScan.objects.get()
    call_command("find_duplicates", "--rebuild-keys", stdout=StringIO())
    assert not DuplicateScan.objects.filter(pk=stopped.pk).exists()
    fresh = DuplicateScan.objects.get()
    assert fresh.finished_at is not None and fresh.counts["pairs compared"] == 3
    assert len(pairs()) == 3


def test_the_command_continues_a_stopped_scan_and_says_whom_it_compared(monkeypatch, twins, others):
    monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", 4)
    with pytest.raises(Stop):
        duplicate_scan.scan_duplicates(progress=stopping_after(1))
    stopped = DuplicateScan.objects.get()
    out = StringIO()
    call_command("find_duplicates", stdout=out)
    assert DuplicateScan.objects.get() == stopped
    assert "Compared 3 pairs" in out.getvalue()
    assert len(pairs()) == 3
    person_named("Kanat Yerezhep", birth_date="1960")
    out = StringIO()
    call_command("find_duplicates", stdout=out)
    assert "Compared the 1 people added or changed since the last scan." in out.getvalue()
    out = StringIO()
    call_command("find_duplicates", "--all", stdout=out)
    assert "added or changed" not in out.getvalue()
    assert "Compared 5 pairs" in out.getvalue()


def test_the_command_refuses_while_a_scan_job_is_waiting(twins):
    jobs.start(scan_duplicates, Kind.DUPLICATES)
    with pytest.raises(CommandError, match="background job"):
        call_command("find_duplicates", stdout=StringIO())


# --- as a background job ----------------------------------------------------------------------


def test_a_scan_job_continues_the_scan_its_stopped_run_left(monkeypatch, twins, others):
    monkeypatch.setattr(duplicate_scan, "BATCH_ROWS", 4)
    with pytest.raises(Stop):
        duplicate_scan.scan_duplicates(progress=stopping_after(1))
    job = jobs.start(scan_duplicates, Kind.DUPLICATES)
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error
    assert job.outcome["pairs compared"] == 3 and len(pairs()) == 3
    assert DuplicateScan.objects.get().finished_at is not None


def test_a_scan_job_that_lost_to_another_run_says_so(monkeypatch, twins):
    another_run_moves_on(monkeypatch)
    job = jobs.start(scan_duplicates, Kind.DUPLICATES)
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert "Another run of the duplicate scan" in job.error


@pytest.mark.parametrize("gap", [0, 1, 2, 3, 10])
def test_births_rule_a_pair_out_only_when_no_other_fact_could_lift_it(gap):
    first = profile("Kanat Yerezhep", 1960, "/1/2/3/")
    second = profile("Қанат Ережеп", 1960 + gap, "/1/2/3/")
    second.fathers = first.fathers = ["Yerezhep Sarsenbay"]
    score, _reasons, _details = matching.score_profiles(first, second)
    ruled_out = matching.births_rule_out(first, second)
    assert ruled_out == (gap > matching.BIRTH_TOLERANCE_YEARS)
    if ruled_out:
        assert score < names.SAME_PERSON_THRESHOLD  # every other fact agreeing
    else:
        assert score >= names.SAME_PERSON_THRESHOLD
