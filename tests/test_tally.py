"""The counts the write paths keep (figures.tally, figures.models.Tally): the statistics of
every case are counted from them (figures.breakdowns.compute and compute_staff without a
filter), so they must be the counts of the facts after every kind of write, for every class
of case (sensitive, archived, synthetic), and give the statistics a query over the facts
gives. The write paths themselves are exercised in tests/test_staff_statistics.py and
tests/test_statistics.py, which check the kept counts after every test (tests/tallies.py).
"""

import datetime
import importlib
import io
import itertools
import json
import time

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from cases import services
from cases.models import Case, ReviewState
from casetracker.audit import acting_as
from figures import breakdowns, cache, facts, staff, tally
from figures.models import CaseFacts, PublishedFactPlace, Tally
from snapshots.models import PublishedCase
from tests.factories import make_location, make_user, publish, set_case
from tests.tallies import assert_counts_kept, counts_kept, kept_and_found  # noqa: F401
from tests.test_staff_statistics import TODAY, add_sensitive, make_world, new_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counts_kept")]


@pytest.fixture
def world(db):
    """The cases of tests/test_staff_statistics.py, in every state."""
    return make_world()


@pytest.fixture
def full(world):
    add_sensitive(world)
    return world


def kept_rows() -> list[tuple]:
    return sorted(
        Tally.objects.exclude(cases=0).values_list(
            "scope", "sensitive", "archived", "synthetic", "dimension", "key", "cases"
        )
    )


def test_the_counts_are_kept_for_every_class_of_case(full):
    compared = kept_and_found()
    # Cases of several classes, each with counts: published, sensitive, archived, synthetic.
    with_counts = {(scope, group) for scope, group, kept, _found in compared if kept}
    assert (cache.PUBLISHED, tally.PUBLIC_CLASS) in with_counts
    assert {
        (False, False, False),
        (True, False, False),
        (False, True, False),
        (False, False, True),
    } <= {group for scope, group in with_counts if scope == cache.STAFF}
    assert_counts_kept()


def test_recount_finds_what_the_writes_kept(full):
    before = kept_rows()
    assert before
    assert tally.recount(staff.MODELS) > 0
    assert tally.recount(facts.MODELS) > 0
    assert kept_rows() == before


def test_rebuild_figures_counts_again_what_went_stale(full):
    before = kept_rows()
    Tally.objects.filter(scope=cache.STAFF, dimension="status").update(cases=999)
    Tally.objects.filter(scope=cache.PUBLISHED, dimension="total").delete()
    out = io.StringIO()
    call_command("rebuild_figures", stdout=out)
    assert kept_rows() == before
    assert "Kept counts of" in out.getvalue()


def test_the_migration_counts_the_facts_written_before_it(full):
    from django.db.migrations.executor import MigrationExecutor

    name = "0005_tally"
    migration = importlib.import_module(f"figures.migrations.{name}")
    historical = MigrationExecutor(connection).loader.project_state(("figures", name)).apps
    before = kept_rows()
    Tally.objects.all().delete()
    migration.count(historical, None)
    assert kept_rows() == before


@pytest.mark.parametrize("archived", [False, True])
def test_kept_counts_give_the_statistics_a_query_gives(full, superuser, outsider, archived):
    """compute_staff() without cases reads the kept counts (and, for a data-entry member,
    the sensitive cases assigned to them by query); with every case, the facts by query."""
    assigned = full.cases["e"]
    assigned.assigned_staff.add(outsider)
    for user in (superuser, outsider):
        kept = breakdowns.compute_staff(user, today=TODAY, archived=archived).as_dict()
        found = breakdowns.compute_staff(
            user, Case.objects.all(), today=TODAY, archived=archived
        ).as_dict()
        assert kept == found, user
    # The assigned sensitive case counts for them, from the query part.
    assert breakdowns.compute_staff(outsider, today=TODAY).total == 5
    kept = breakdowns.compute(today=TODAY).as_dict()
    assert kept == breakdowns.compute(PublishedCase.objects.all(), today=TODAY).as_dict()
    assert kept["total"]["count"] == 2


def test_many_assigned_sensitive_cases_are_counted_by_subquery(full, outsider, monkeypatch):
    """Past SEEN_BY_KEY assigned sensitive cases, they are read by subquery: the same counts."""
    second = new_case(sensitive=True, events=[("detained", "2018", {})])
    for case in (full.cases["e"], second):
        case.assigned_staff.add(outsider)
    by_key = breakdowns.compute_staff(outsider, today=TODAY).as_dict()
    monkeypatch.setattr(staff, "SEEN_BY_KEY", 1)
    by_subquery = breakdowns.compute_staff(outsider, today=TODAY).as_dict()
    assert by_subquery == by_key
    assert by_key == breakdowns.compute_staff(outsider, Case.objects.all(), today=TODAY).as_dict()
    assert by_key["total"]["count"] == 6  # a, b, c, d, and the two assigned


@pytest.mark.parametrize(
    "today",
    [
        datetime.date(2018, 3, 15),
        datetime.date(2019, 6, 1),
        datetime.date(2020, 2, 29),
        datetime.date(2026, 12, 7),
        datetime.date(2040, 1, 1),
    ],
)
def test_what_depends_on_today_is_worked_out_when_read(full, superuser, today):
    """The time held so far and datings that run into years to come are kept as raw dates
    and years: the same kept counts give each day's statistics."""
    kept = breakdowns.compute_staff(superuser, today=today).as_dict()
    assert kept == breakdowns.compute_staff(superuser, Case.objects.all(), today=today).as_dict()


def test_the_bands_worked_out_in_python_are_those_of_sql(world):
    """band_index() and held_index() (the kept counts' bands) against band_of() and
    held_band() (in_row's): one facts row set to every pair of values near the bands' ends."""
    row = CaseFacts.objects.filter(case_id=world.cases["a"].pk)
    bandings = [
        ("age_low", "age_high", breakdowns.AGE_BANDS),
        ("notified_low", "notified_high", breakdowns.NOTIFIED_BANDS),
        ("sentence_months", "sentence_months", breakdowns.SENTENCE_BANDS),
    ]
    for low_column, high_column, bands in bandings:
        ends = {end for band in bands for end in band if end is not None}
        edges = [None, *sorted(ends | {end + 1 for end in ends} | {1000})]
        pairs = itertools.product(edges, repeat=2) if low_column != high_column else edges
        for pair in pairs:
            low, high = pair if isinstance(pair, tuple) else (pair, pair)
            row.update(**{low_column: low, high_column: high})
            sql = row.annotate(b=breakdowns.band_of(low_column, high_column, bands)).get().b
            assert sql == breakdowns.band_index(low, high, bands), (low_column, low, high)
    today = datetime.date(2026, 12, 7)
    days = [
        None,
        today,
        today - datetime.timedelta(days=364),
        today - datetime.timedelta(days=365),
        today - datetime.timedelta(days=366),
        datetime.date(2024, 12, 7),
        datetime.date(2024, 12, 8),
        datetime.date(2018, 12, 7),
        datetime.date(2018, 12, 8),
        datetime.date(2010, 1, 1),
    ]
    for earliest, latest in itertools.product(days, repeat=2):
        row.update(detained_earliest=earliest, detained_latest=latest)
        band = row.annotate(b=breakdowns.held_band(today)).get().b
        python = breakdowns.held_index(
            earliest and earliest.isoformat(), latest and latest.isoformat(), today
        )
        assert band == python, (earliest, latest)
    # The facts changed behind the write paths' back: count them again for counts_kept.
    tally.recount(staff.MODELS)


def test_a_withdrawn_case_leaves_the_published_counts(world, verifier):
    published = world.cases["a"]
    assert breakdowns.compute(today=TODAY).total == 2
    with acting_as(verifier):
        services.unpublish(Case.objects.get(pk=published.pk), verifier, "Family asked")
    assert not PublishedCase.objects.filter(case=published.pk).exists()
    assert breakdowns.compute(today=TODAY).total == 1
    assert breakdowns.compute(today=TODAY).as_dict() == (
        breakdowns.compute(PublishedCase.objects.all(), today=TODAY).as_dict()
    )


def test_a_case_published_and_marked_sensitive_moves_between_counts(world, superuser):
    draft = world.cases["c"]
    before = breakdowns.compute(today=TODAY)
    publish(draft)
    after = breakdowns.compute(today=TODAY)
    assert after.total == before.total + 1
    staff_rows = breakdowns.compute_staff(superuser, today=TODAY).breakdowns["review_state"]
    assert {r["value"]: r["count"] for r in staff_rows.rows}[ReviewState.VERIFIED] == 3
    outsider_before = breakdowns.compute_staff(make_user("tally_reader"), today=TODAY).total
    set_case(draft, sensitive=True)
    assert Tally.objects.filter(scope=cache.STAFF, sensitive=True).exclude(cases=0).exists()
    reader = make_user("tally_reader_2")
    assert breakdowns.compute_staff(reader, today=TODAY).total == outsider_before - 1


def test_a_snapshot_deleted_without_its_facts_fails_at_commit(world):
    """The facts are left to figures.facts.remove (which takes them out of the counts): a
    deletion of a snapshot that forgot them is refused, never a count silently wrong."""
    snapshot = PublishedCase.objects.get(case=world.cases["a"].pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        PublishedCase.objects.filter(pk=snapshot.pk).delete()
        connection.check_constraints()


def test_a_draft_deleted_leaves_the_staff_counts(world, superuser):
    draft = world.cases["c"]
    before = breakdowns.compute_staff(superuser, today=TODAY).total
    with acting_as(make_user("tally_deleter")):
        Case.objects.get(pk=draft.pk).delete()
    assert not CaseFacts.objects.filter(case=draft.pk).exists()
    assert breakdowns.compute_staff(superuser, today=TODAY).total == before - 1


# --- batches: one change of the counts a transaction, at its end ----------------------------------


def upserts(captured) -> int:
    return sum("INSERT INTO" in q["sql"] and "figures_tally" in q["sql"] for q in captured)


def test_a_batch_changes_the_counts_once_at_its_end(world, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(staff, "CHUNK", 2)  # several facts writes in one refresh
    ids = [case.pk for case in world.cases.values()]
    facts.remove(ids, models=staff.MODELS)
    assert_counts_kept()
    with CaptureQueriesContext(connection) as captured, tally.batched():
        staff.refresh(ids[:3])
        staff.refresh(ids[3:])
        # Nothing changed yet: the counts change when the outermost batch ends.
        assert upserts(captured) == 0
        assert not Tally.objects.filter(scope=cache.STAFF).exclude(cases=0).exists()
    assert upserts(captured) == 1  # under a hundred keys: one statement
    assert_counts_kept()


def test_a_failed_inner_batch_takes_its_changes_with_it(world):
    ids = [case.pk for case in world.cases.values()]
    facts.remove(ids, models=staff.MODELS)
    with tally.batched():
        staff.refresh(ids[:2])
        with pytest.raises(RuntimeError), tally.batched():
            staff.refresh(ids[2:])
            raise RuntimeError("rolled back with its savepoint")
    assert set(CaseFacts.objects.values_list("case_id", flat=True)) == set(ids[:2])
    assert_counts_kept()


@pytest.mark.parametrize("through", ["a batch", "a write"])
def test_a_savepoint_rolled_back_inside_a_batch_takes_its_changes_with_it(world, through):
    """Code inside a batch that opens a savepoint of its own, writes facts (through another
    batch, or directly) and is rolled back alone: its changes to the counts go with it."""
    ids = [case.pk for case in world.cases.values()]
    facts.remove(ids, models=staff.MODELS)
    with tally.batched():
        staff.refresh(ids[:2])
        try:
            with transaction.atomic():
                if through == "a batch":
                    staff.refresh(ids[2:])
                else:
                    read, extra = staff.documents(ids[2:])
                    facts.write(read.items(), models=staff.MODELS, extra=extra)
                raise RuntimeError("this savepoint alone is rolled back")
        except RuntimeError:
            pass
    assert set(CaseFacts.objects.values_list("case_id", flat=True)) == set(ids[:2])
    assert_counts_kept()


def test_deleting_a_charge_or_a_place_leaves_no_count_behind(world):
    """The facts' rows naming a charge or a place go before it does, out of the counts."""
    from cases.models import Charge, Location, LocationKind

    x = world.charges.x
    named = Tally.objects.filter(dimension=tally.CHARGE, key=tally.encode((x.pk,)))
    assert named.exclude(cases=0).exists()
    Charge.objects.get(pk=x.pk).delete()
    assert not named.exclude(cases=0).exists()
    assert_counts_kept()
    # A county that only a published document's facts name (a held document can name a
    # place no live record does any more): deleted, its rows go first, out of the counts.
    county = make_location("Tally county", LocationKind.COUNTY, world.places.north)
    snapshot = PublishedCase.objects.get(case=world.cases["b"].pk)
    document = json.loads(snapshot.document)
    document["events"][0]["location"] = {"uid": str(county.uid)}
    facts.write([(snapshot.pk, document)])
    assert PublishedFactPlace.objects.filter(location=county).exists()
    with acting_as(make_user("tally_gazetteer")):
        Location.objects.get(pk=county.pk).delete()
    assert not PublishedFactPlace.objects.filter(location=county.pk).exists()
    assert_counts_kept()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_two_writers_at_once_lose_no_count(monkeypatch):
    """Two processes writing the facts of different cases at once (the synthetic generator's
    workers, say), each in chunks, both changing the same counts (the total, the
    situation…): the second waits for the first's commit, and both changes count. (That
    each changes its counts in one statement list, keys in one order, which rules out two
    writers each holding a row the other wants, is test_a_batch_changes_the_counts_once_at_
    its_end's.)"""
    import threading

    from django.db import connections

    monkeypatch.setattr(staff, "CHUNK", 2)
    made = make_world()
    add_sensitive(made)
    ids = sorted(case.pk for case in made.cases.values())
    facts.remove(ids, models=staff.MODELS)
    halves = [ids[::2], ids[1::2]]
    start, errors = threading.Barrier(2), []

    def write(half):
        try:
            start.wait()
            with transaction.atomic():
                staff.refresh(half)
                time.sleep(0.3)  # holding the rows of counts it changed until commit
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert set(CaseFacts.objects.values_list("case_id", flat=True)) == set(ids)
    assert_counts_kept()
