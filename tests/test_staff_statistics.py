"""The staff's statistics (figures.staff, figures.breakdowns.compute_staff, figures.views): the
facts of every case whatever its state (figures.models.CaseFacts), which of them a reader may
count (need to know), how the write paths keep them current, the page at /admin/statistics/
with its CSV downloads and its links to the case list (figures.filters.CountedInFilter), its
cache, the backfill migration and ``rebuild_figures``, and in_row()/row_key() agreeing with the
counts.

The expected counts are worked out by hand from the cases each test writes (what each case's
dates, places, charges and state should make it count as), never read back through the code
under test. Browser tests of the page are in tests/test_browser_statistics.py.
"""

import csv
import datetime
import importlib
import io
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.models import Case, CaseStatus, EventKind, LocationKind, ReviewState
from casetracker.audit import acting_as
from casetracker.roles import DATA_ENTRY
from figures import breakdowns, cache, staff
from figures.models import CaseFactCharge, CaseFactPlace, CaseFacts
from people.models import Consent, Ethnicity, Gender
from snapshots.models import PublishedCase
from tests.admin_forms import AdminForm, assert_saved
from tests.factories import (
    cited_case,
    fresh,
    make_case,
    make_charge,
    make_event,
    make_location,
    make_person,
    make_user,
    set_case,
)
from tests.tallies import counts_kept  # noqa: F401 (a fixture)

# After each test, the counts the write paths kept are those of the facts (tests/tallies.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counts_kept")]

TODAY = datetime.date(2026, 12, 7)
STATISTICS = reverse("staff-statistics")
CASE_LIST = reverse("admin:cases_case_changelist")

NORTH_AND_SOUTH = "Staff statistics"  # the places' names begin so: none shipped is named so


# --- the cases counted ---------------------------------------------------------------------------


def moment(month: str) -> datetime.datetime:
    """Noon on the 15th of "YYYY-MM" (UTC, the tests' time zone)."""
    year, number = (int(part) for part in month.split("-"))
    return datetime.datetime(year, number, 15, 12, tzinfo=datetime.UTC)


def new_case(
    *,
    events=(),
    ethnicity=Ethnicity.KAZAKH,
    gender=Gender.MALE,
    birth="",
    origin=None,
    added="2024-01",
    **state,
):
    """A case of one person with these events ((kind, EDTF date, extra fields)), added in the
    month ``added``, its stored state then set directly (factories.set_case)."""
    person = make_person(
        consent=Consent.GRANTED,
        ethnicity=ethnicity,
        gender=gender,
        birth_date=birth,
        place_of_origin=origin,
    )
    case = make_case(person)
    for kind, date, extra in events:
        extra = dict(extra)
        charges = extra.pop("charges", ())
        event = make_event(case, kind=kind, date=date, **extra)
        if charges:
            event.charges.set(charges)
    return set_case(case, created_at=moment(added), **state)


def verified_state(level: int, verified: str) -> dict:
    return {
        "review_state": ReviewState.VERIFIED,
        "is_published": True,
        "evidence_level": level,
        "verified_at": moment(verified),
        "published_at": moment(verified),
    }


def make_places():
    """Places of their own (a transactional test at the end empties the shipped gazetteer):
    two prefectures of one region, a county in each, a prison straight under the north one."""
    country = make_location(f"{NORTH_AND_SOUTH} Country", LocationKind.COUNTRY)
    region = make_location(f"{NORTH_AND_SOUTH} Region", LocationKind.REGION, country)
    north = make_location(f"{NORTH_AND_SOUTH} North Prefecture", LocationKind.PREFECTURE, region)
    south = make_location(f"{NORTH_AND_SOUTH} South Prefecture", LocationKind.PREFECTURE, region)
    return SimpleNamespace(
        country=country,
        region=region,
        north=north,
        south=south,
        north_county=make_location(f"{NORTH_AND_SOUTH} North County", LocationKind.COUNTY, north),
        south_county=make_location(f"{NORTH_AND_SOUTH} South County", LocationKind.COUNTY, south),
        camp=make_location(
            f"{NORTH_AND_SOUTH} Camp", LocationKind.FACILITY, north, facility_type="prison"
        ),
    )


@pytest.fixture
def world(db):
    return make_world()


def make_world():
    """Cases in every state (the sensitive one comes with ``full``):

    - a: published (verified, level 3), added 2024-01, verified 2024-03; Kazakh man born 1980
      from North County; detained March 2018 in the camp (North Prefecture, no county) on
      charge x, family told July 2018, sentenced June 2019 to 15 years on x and y.
    - b: published (level 4), added 2024-01, verified 2024-05; Uyghur woman born 1990-92;
      detained some time 2019-2021 in North County.
    - c: draft, no level, added 2024-02; Kazakh woman born 1960-05-05 from South Prefecture;
      detained 2017-06-01 in South County, released January 2018, "no charges disclosed".
    - d: in review, level 1, added 2024-04; Kazakh man; disappeared May 2020 (in South
      County, which is not a place of detention): no date of detention, no place.
    - f: archived (verified 2023-02, added 2023-01): counted only when archived ones are.
    - g: synthetic (added 2025-01): never counted outside a database made for measuring.
    """
    p = make_places()
    charges = SimpleNamespace(
        x=make_charge("Staff statistics: inciting separatism", article="103"),
        y=make_charge("Staff statistics: extremism", article="120"),
        z=make_charge("Staff statistics: a charge only the sensitive case names", article="300"),
    )
    made = {
        "a": new_case(
            birth="1980",
            origin=p.north_county,
            events=[
                ("detained", "2018-03", {"facility": p.camp, "charges": [charges.x]}),
                ("family_notified", "2018-07", {}),
                (
                    "sentenced",
                    "2019-06",
                    {"sentence": "15 years", "charges": [charges.x, charges.y]},
                ),
            ],
            **verified_state(3, "2024-03"),
        ),
        "b": new_case(
            ethnicity=Ethnicity.UYGHUR,
            gender=Gender.FEMALE,
            birth="1990/1992",
            events=[("detained", "2019/2021", {"location": p.north_county})],
            **verified_state(4, "2024-05"),
        ),
        "c": new_case(
            gender=Gender.FEMALE,
            birth="1960-05-05",
            origin=p.south,
            added="2024-02",
            events=[
                ("detained", "2017-06-01", {"location": p.south_county}),
                ("released", "2018-01", {"charge_basis": "none"}),
            ],
        ),
        "d": new_case(
            added="2024-04",
            events=[("disappeared", "2020-05", {"location": p.south_county})],
            review_state=ReviewState.IN_REVIEW,
            evidence_level=1,
        ),
        "f": new_case(
            added="2023-01",
            events=[("detained", "2015", {"location": p.south_county})],
            archived_at=moment("2024-06"),
            review_state=ReviewState.VERIFIED,
            evidence_level=2,
            verified_at=moment("2023-02"),
        ),
        "g": new_case(
            ethnicity=Ethnicity.KYRGYZ,
            added="2025-01",
            events=[("detained", "2016", {"location": p.north_county})],
            synthetic=True,
        ),
    }
    return SimpleNamespace(places=p, charges=charges, cases=made)


def add_sensitive(world):
    """e: a sensitive draft nobody is assigned to, added 2024-04; a Hui man from South County,
    detained from 2022 on (no end known) somewhere in the region, on charge z."""
    p = world.places
    e = new_case(
        ethnicity=Ethnicity.HUI,
        origin=p.south_county,
        added="2024-04",
        events=[("detained", "2022/..", {"location": p.region, "charges": [world.charges.z]})],
        sensitive=True,
    )
    world.cases["e"] = e
    return e


@pytest.fixture
def full(world):
    add_sensitive(world)
    return world


def rows(statistics, name) -> dict:
    return {r["value"]: r["count"] for r in statistics.breakdowns[name].rows}


def years(statistics) -> dict:
    return {
        (r["year"], r["certainty"]): r["count"]
        for r in statistics.breakdowns["detention_year"].rows
    }


def zeros(values) -> dict:
    return dict.fromkeys(values, 0)


# --- every breakdown, counted by hand ------------------------------------------------------------


def test_the_total_leaves_out_archived_and_synthetic_cases(full, superuser):
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    assert stats.total == 5  # a, b, c, d, e
    assert set(stats.breakdowns) == set(breakdowns.STAFF_NAMES)


def test_the_staff_breakdowns_count_levels_states_and_months(full, superuser):
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    # a: 3, b: 4, d: 1; c and e have none yet.
    assert rows(stats, "evidence_level") == {1: 1, 2: 0, 3: 1, 4: 1, "unknown": 2}
    unknown = stats.breakdowns["evidence_level"].rows[-1]
    assert (unknown["value"], unknown["label"]) == ("unknown", "Not recorded")
    assert rows(stats, "review_state") == {"draft": 2, "in_review": 1, "verified": 2}
    # Added: a, b in January; c in February; none in March (shown as 0); d, e in April. The
    # archived case (2023-01) and the synthetic one (2025-01) stretch no range.
    added = stats.breakdowns["added_month"].rows
    assert [(r["value"], r["count"]) for r in added] == [
        ("2024-01", 2),
        ("2024-02", 1),
        ("2024-03", 0),
        ("2024-04", 2),
    ]
    assert added[2]["label"] == "March 2024"
    # Verified: a in March, b in May; c, d and e never were (left out, not a row).
    verified = stats.breakdowns["verified_month"].rows
    assert [(r["value"], r["count"]) for r in verified] == [
        ("2024-03", 1),
        ("2024-04", 0),
        ("2024-05", 1),
    ]
    assert sum(r["count"] for r in verified) == 2


def test_uncertain_dates_count_as_ranges_and_undated_cases_apart(full, superuser):
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    expected = {}
    for year in range(2017, 2027):
        expected[year, "exact"] = expected[year, "range"] = 0
    expected[2017, "exact"] = 1  # c: 2017-06-01
    expected[2018, "exact"] = 1  # a: March 2018
    for year in (2019, 2020, 2021):  # b: 2019/2021, never known in any one year
        expected[year, "range"] = 1
    for year in range(2022, 2027):  # e: from 2022 on, up to this year
        expected[year, "range"] = 1
    expected[None, "undated"] = 1  # d: disappeared, no detention dated
    assert years(stats) == expected
    assert list(years(stats))[-1] == (None, "undated")
    undated = stats.breakdowns["detention_year"].rows[-1]
    assert undated["label"] == "No date of detention"


def test_a_dating_into_years_to_come_counts_up_to_this_year(world, superuser):
    new_case(events=[("detained", "202X", {})])  # 2020-2029: somewhere in 2020 to 2026
    new_case(events=[("detained", "2026/2028", {})])  # not before this year: known in 2026
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    expected = {}
    for year in range(2017, 2027):
        expected[year, "exact"] = expected[year, "range"] = 0
    expected[2017, "exact"] = expected[2018, "exact"] = 1  # c, a
    for year in (2019, 2020, 2021):  # b
        expected[year, "range"] = 1
    for year in range(2020, 2027):  # 202X
        expected[year, "range"] += 1
    expected[2026, "exact"] = 1  # 2026/2028
    expected[None, "undated"] = 1  # d
    assert years(stats) == expected
    counted = staff.counted_for(superuser)
    for row in stats.breakdowns["detention_year"].rows:
        key = breakdowns.row_key("detention_year", row)
        assert (
            breakdowns.in_row(counted, "detention_year", key, today=TODAY).count() == row["count"]
        ), key


def test_the_shared_breakdowns_count_every_case_the_reader_may_see(full, superuser):
    p, charges = full.places, full.charges
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    assert rows(stats, "status") == {
        **zeros(CaseStatus.values),
        "sentenced": 1,  # a
        "detained": 2,  # b, e
        "released": 1,  # c
        "disappeared": 1,  # d
    }
    assert {r["charge"]["article"]: r["count"] for r in stats.breakdowns["charges"].rows} == {
        "103": 1,  # x: a
        "120": 1,  # y: a
        "300": 1,  # z: e
    }
    assert {r["value"] for r in stats.breakdowns["charges"].rows} == {
        str(charges.x.uid),
        str(charges.y.uid),
        str(charges.z.uid),
    }
    assert rows(stats, "charges_disclosed") == {"named": 2, "none": 1, "not_stated": 2}
    uid = lambda place: str(place.uid)  # noqa: E731
    # a: the camp (North, no county); b: North County; c: South County; e: only the region.
    assert rows(stats, "detention_prefecture") == {
        uid(p.north): 2,
        uid(p.south): 1,
        "uncertain": 1,
        "unknown": 1,
    }
    assert rows(stats, "detention_county") == {
        uid(p.north_county): 1,
        uid(p.south_county): 1,
        "uncertain": 2,
        "unknown": 1,
    }
    # From: a North County, c South Prefecture, e South County; b and d not recorded.
    assert rows(stats, "origin_prefecture") == {
        uid(p.north): 1,
        uid(p.south): 2,
        "uncertain": 0,
        "unknown": 2,
    }
    assert rows(stats, "origin_county") == {
        uid(p.north_county): 1,
        uid(p.south_county): 1,
        "uncertain": 1,
        "unknown": 2,
    }
    assert rows(stats, "ethnicity") == {
        **zeros(Ethnicity.values),
        "kazakh": 3,
        "uyghur": 1,
        "hui": 1,
    }
    assert rows(stats, "gender") == {**zeros(Gender.values), "male": 3, "female": 2}
    # a 37-38; b 26-31 (two bands); c 57; d undated, e no birth date.
    assert rows(stats, "age_at_detention") == {
        **zeros(["0-17", "18-29", "40-49", "60-69", "70-"]),
        "30-39": 1,
        "50-59": 1,
        "uncertain": 1,
        "unknown": 2,
    }
    assert rows(stats, "sentence") == {
        **zeros(["0-11", "12-59", "60-119", "120-179", "240-"]),
        **zeros(["life", "death_suspended", "death", "unread"]),
        "180-239": 1,  # a: 15 years
    }
    # Of the dated a, b, c, e: a was told 92 to 152 days on; the others never were.
    assert rows(stats, "family_notified") == {
        **zeros(["0-7", "8-31", "184-366", "367-", "uncertain"]),
        "32-183": 1,
        "unknown": 3,
    }
    # Still held: a since March 2018 (8 years); b since 2019-2021 (4 to 7: two bands); e
    # since 2022 or later (0 to 4).
    assert rows(stats, "time_held") == {
        **zeros(["0-0", "1-1", "2-3", "4-5", "6-7", "unknown"]),
        "8-": 1,
        "uncertain": 2,
    }


def test_archived_cases_count_only_when_asked_for(full, superuser):
    stats = breakdowns.compute_staff(superuser, today=TODAY, archived=True)
    assert stats.total == 6  # and f
    assert years(stats)[2015, "exact"] == 1
    assert rows(stats, "evidence_level")[2] == 1
    assert stats.breakdowns["added_month"].rows[0]["value"] == "2023-01"
    assert rows(stats, "verified_month")["2023-02"] == 1


@override_settings(PUBLISH_SYNTHETIC_DATA=True)
def test_synthetic_cases_count_in_a_database_made_for_measuring(full, superuser):
    stats = breakdowns.compute_staff(superuser, today=TODAY)
    assert stats.total == 6  # and g
    assert rows(stats, "ethnicity")["kyrgyz"] == 1
    assert rows(stats, "added_month")["2025-01"] == 1


def test_the_cases_given_and_the_breakdowns_asked_for_are_counted(full, superuser, outsider):
    kazakh = Case.objects.filter(person__ethnicity=Ethnicity.KAZAKH)  # a, c, d (f, g not counted)
    stats = breakdowns.compute_staff(superuser, kazakh, only={"status", "review_state"})
    assert stats.total == 3
    assert set(stats.breakdowns) == {"status", "review_state"}
    assert rows(stats, "review_state") == {"draft": 1, "in_review": 1, "verified": 1}
    hui = Case.objects.filter(person__ethnicity=Ethnicity.HUI)  # e, sensitive
    assert breakdowns.compute_staff(superuser, hui).total == 1
    assert breakdowns.compute_staff(outsider, hui).total == 0


# --- need to know --------------------------------------------------------------------------------


def test_an_unassigned_sensitive_case_changes_nothing_a_data_entry_user_counts(world, outsider):
    before = breakdowns.compute_staff(outsider, today=TODAY).as_dict()
    assert before["total"] == {"count": 4}
    e = add_sensitive(world)
    assert breakdowns.compute_staff(outsider, today=TODAY).as_dict() == before
    assert breakdowns.compute_staff(outsider, today=TODAY, archived=True).as_dict()["total"] == {
        "count": 5  # a, b, c, d and the archived f: never e
    }
    e.assigned_staff.add(outsider)
    after = breakdowns.compute_staff(outsider, today=TODAY)
    assert after.total == 5
    assert rows(after, "ethnicity")["hui"] == 1
    assert {r["charge"]["article"] for r in after.breakdowns["charges"].rows} == {
        "103",
        "120",
        "300",
    }


def test_a_user_entitled_to_every_case_counts_a_sensitive_one(full, verifier, outsider):
    assert breakdowns.compute_staff(verifier, today=TODAY).total == 5
    assert breakdowns.compute_staff(outsider, today=TODAY).total == 4
    outsider.user_permissions.add(Permission.objects.get(codename="view_sensitive_case"))
    entitled = type(outsider).objects.get(pk=outsider.pk)  # permissions read afresh
    stats = breakdowns.compute_staff(entitled, today=TODAY)
    assert stats.total == 5
    assert rows(stats, "ethnicity")["hui"] == 1


def test_counted_for_selects_the_cases_the_user_may_see(
    full, superuser, verifier, outsider, assigned
):
    full.cases["e"].assigned_staff.add(assigned)
    # Another sensitive case, archived, assigned to nobody.
    archived_secret = new_case(
        events=[("detained", "2014", {})], sensitive=True, archived_at=moment("2024-07")
    )
    for user in (superuser, verifier, outsider, assigned):
        visible = Case.objects.visible_to(user).filter(synthetic=False)
        counted = set(staff.counted_for(user).values_list("case_id", flat=True))
        assert counted == set(
            visible.filter(archived_at__isnull=True).values_list("pk", flat=True)
        ), user
        with_archived = staff.counted_for(user, archived=True).values_list("case_id", flat=True)
        assert set(with_archived) == set(visible.values_list("pk", flat=True)), user
    names = {case.pk: name for name, case in full.cases.items()}
    names[archived_secret.pk] = "archived secret"

    def seen(user):
        return {names[pk] for pk in staff.counted_for(user).values_list("case_id", flat=True)}

    assert seen(outsider) == {"a", "b", "c", "d"}
    assert seen(assigned) == seen(verifier) == seen(superuser) == {"a", "b", "c", "d", "e"}


# --- the facts kept current by every write path --------------------------------------------------


def stored(case) -> dict:
    return CaseFacts.objects.filter(case=case.pk).values().get()


def charges_of(case) -> set:
    return set(CaseFactCharge.objects.filter(facts=case.pk).values_list("charge", flat=True))


def places_of(case) -> set:
    return set(CaseFactPlace.objects.filter(facts=case.pk).values_list("role", "kind", "location"))


def detention_in(*places) -> set:
    return {("detention", place.kind, place.pk) for place in places}


def origin_in(*places) -> set:
    return {("origin", place.kind, place.pk) for place in places}


@pytest.fixture
def editor(db):
    return make_user("statistics_editor")


def test_a_new_case_has_the_facts_of_its_live_records(world):
    a, p, ch = world.cases["a"], world.places, world.charges
    assert stored(a) == {
        "case_id": a.pk,
        "status": "sentenced",
        "evidence_level": 3,
        "ethnicity": "kazakh",
        "gender": "male",
        "detained_earliest": datetime.date(2018, 3, 1),
        "detained_latest": datetime.date(2018, 3, 31),
        "detained_year_low": 2018,
        "detained_year_high": 2018,
        "age_low": 37,  # born at the latest 1980-12-31, detained at the earliest 2018-03-01
        "age_high": 38,
        "notified_low": 92,  # 31 March to 1 July
        "notified_high": 152,  # 1 March to 31 July
        "sentence_kind": "term",
        "sentence_months": 180,
        "charges_state": "named",
        "detention_precision": 2,  # the camp: prefecture, no county
        "origin_precision": 3,
        "review_state": "verified",
        "added_on": datetime.date(2024, 1, 15),
        "verified_on": datetime.date(2024, 3, 15),
        "sensitive": False,
        "archived": False,
        "synthetic": False,
    }
    assert charges_of(a) == {ch.x.pk, ch.y.pk}
    assert places_of(a) == detention_in(p.north) | origin_in(p.north, p.north_county)
    assert stored(world.cases["f"])["archived"] is True
    assert stored(world.cases["g"])["synthetic"] is True


def test_an_event_dated_again_moves_the_first_detention(world, editor):
    a = world.cases["a"]
    before = stored(a)
    with acting_as(editor):
        event = a.events.get(kind=EventKind.DETAINED)
        event.date = "2016/2017"
        event.save()
    assert stored(a) == {
        **before,
        "detained_earliest": datetime.date(2016, 1, 1),
        "detained_latest": datetime.date(2017, 12, 31),
        "detained_year_low": 2016,
        "detained_year_high": 2017,
        "age_low": 35,  # born 1980-12-31 at the latest, detained 2016-01-01 at the earliest
        "age_high": 37,
        "notified_low": (datetime.date(2018, 7, 1) - datetime.date(2017, 12, 31)).days,
        "notified_high": (datetime.date(2018, 7, 31) - datetime.date(2016, 1, 1)).days,
        "review_state": "in_review",  # the edit sent the verified case back to review
    }


def test_an_event_held_elsewhere_moves_the_case_between_places(world, editor):
    b, p = world.cases["b"], world.places
    before = stored(b)
    assert places_of(b) == detention_in(p.north, p.north_county)
    with acting_as(editor):
        event = b.events.get()
        event.location = p.south_county
        event.save()
    assert places_of(b) == detention_in(p.south, p.south_county)
    assert stored(b) == {**before, "review_state": "in_review"}


def test_charges_added_and_removed_from_the_events_side(world, editor):
    c = world.cases["c"]
    w = make_charge("Staff statistics: disturbing order", article="293")
    before = stored(c)
    assert before["charges_state"] == "none" and charges_of(c) == set()
    with acting_as(editor):
        event = c.events.get(kind=EventKind.DETAINED)
        event.charges.add(w)
    assert charges_of(c) == {w.pk}
    assert stored(c) == {**before, "charges_state": "named"}
    with acting_as(editor):
        event.charges.remove(w)
    assert charges_of(c) == set()
    assert stored(c) == before


def test_charges_added_and_removed_from_the_charges_side(world, editor):
    a, c, ch = world.cases["a"], world.cases["c"], world.charges
    w = make_charge("Staff statistics: disturbing order", article="293")
    before = stored(c)
    event = c.events.get(kind=EventKind.DETAINED)
    with acting_as(editor):
        w.events.add(event)
    assert charges_of(c) == {w.pk}
    assert stored(c) == {**before, "charges_state": "named"}
    with acting_as(editor):
        w.events.remove(event)
    assert charges_of(c) == set()
    assert stored(c) == before
    # x off every event: a keeps y, still named.
    with acting_as(editor):
        ch.x.events.clear()
    assert charges_of(a) == {ch.y.pk}
    assert stored(a)["charges_state"] == "named"


def test_a_deleted_charge_leaves_the_facts_of_its_cases(world, editor):
    c = world.cases["c"]
    w = make_charge("Staff statistics: a charge withdrawn", article="294")
    with acting_as(editor):
        c.events.get(kind=EventKind.DETAINED).charges.add(w)
    before = stored(c)
    assert before["charges_state"] == "named"
    with acting_as(editor):
        w.delete()
    assert charges_of(c) == set()
    # The released event says no charges were disclosed: that is what remains.
    assert stored(c) == {**before, "charges_state": "none"}


def test_a_deleted_event_takes_its_date_and_places_with_it(world, editor):
    a, c, p = world.cases["a"], world.cases["c"], world.places
    before = stored(c)
    with acting_as(editor):
        c.events.get(kind=EventKind.DETAINED).delete()
    assert stored(c) == {
        **before,
        "detained_earliest": None,
        "detained_latest": None,
        "detained_year_low": None,
        "detained_year_high": None,
        "age_low": None,
        "age_high": None,
        "detention_precision": 0,
    }
    assert places_of(c) == origin_in(p.south)
    before = stored(a)
    with acting_as(editor):
        a.events.get(kind=EventKind.FAMILY_NOTIFIED).delete()
    assert stored(a) == {
        **before,
        "notified_low": None,
        "notified_high": None,
        "review_state": "in_review",
    }


def move_event_of(case, to, editor):
    with acting_as(editor):
        event = case.events.get()
        event.case = to
        event.save()


def test_an_event_moved_to_another_case_leaves_one_and_joins_the_other(world, editor):
    b, d, p = world.cases["b"], world.cases["d"], world.places
    b_before, d_before = stored(b), stored(d)
    move_event_of(b, d, editor)
    # b has no event left: no detention, no place (its situation and review state are those
    # its record now has; see the next test).
    b_now = fresh(b)
    assert stored(b) == {
        **b_before,
        "status": b_now.status,
        "review_state": b_now.review_state,
        "detained_earliest": None,
        "detained_latest": None,
        "detained_year_low": None,
        "detained_year_high": None,
        "age_low": None,
        "age_high": None,
        "detention_precision": 0,
    }
    assert places_of(b) == set()
    # d: detained 2019/2021 in North County, its latest event now (after May 2020).
    assert stored(d) == {
        **d_before,
        "status": "detained",
        "detained_earliest": datetime.date(2019, 1, 1),
        "detained_latest": datetime.date(2021, 12, 31),
        "detained_year_low": 2019,
        "detained_year_high": 2021,
        "detention_precision": 3,
    }
    assert places_of(d) == detention_in(p.north, p.north_county)


def test_the_persons_ethnicity_and_birth_date_are_followed(world, editor):
    c = world.cases["c"]
    before = stored(c)
    with acting_as(editor):
        person = c.person
        person.ethnicity = Ethnicity.UYGHUR
        person.birth_date = "1970-05-05"
        person.save()
    # Detained 2017-06-01: 47 years old.
    assert stored(c) == {**before, "ethnicity": "uyghur", "age_low": 47, "age_high": 47}


def test_workflow_steps_write_the_review_state_level_and_days(data_entry, verifier):
    case = cited_case(data_entry)
    facts = stored(case)
    assert (facts["review_state"], facts["evidence_level"], facts["verified_on"]) == (
        "draft",
        None,
        None,
    )
    assert facts["added_on"] == timezone.localdate()
    services.submit_for_review(case, data_entry, "Ready.")
    assert stored(case)["review_state"] == "in_review"
    services.request_changes(fresh(case), verifier, "Name the source's date.")
    assert stored(case)["review_state"] == "draft"
    services.submit_for_review(fresh(case), data_entry, "Done.")
    services.verify(fresh(case), verifier)
    facts = stored(case)
    assert (facts["review_state"], facts["evidence_level"], facts["verified_on"]) == (
        "verified",
        2,  # one testimony
        timezone.localdate(),
    )
    services.publish(fresh(case), verifier)
    assert stored(case) == facts
    assert staff.counted_for(verifier).filter(case=case.pk).exists()
    services.archive(fresh(case), verifier, "A duplicate.")
    assert stored(case) == {**facts, "archived": True}
    assert not staff.counted_for(verifier).filter(case=case.pk).exists()
    assert staff.counted_for(verifier, archived=True).filter(case=case.pk).exists()


def test_a_case_marked_sensitive_is_counted_only_for_who_may_see_it(
    world, editor, outsider, verifier
):
    c = world.cases["c"]
    before = stored(c)
    with acting_as(editor):
        case = fresh(c)
        case.sensitive = True
        case.save()
    assert stored(c) == {**before, "sensitive": True}
    assert not staff.counted_for(outsider).filter(case=c.pk).exists()
    assert staff.counted_for(verifier).filter(case=c.pk).exists()
    assert breakdowns.compute_staff(outsider, today=TODAY).total == 3


def test_a_county_moved_to_another_prefecture_takes_its_cases_along(world):
    p = world.places
    county = make_location(f"{NORTH_AND_SOUTH} Moved County", LocationKind.COUNTY, p.north)
    village = make_location(f"{NORTH_AND_SOUTH} Village", LocationKind.VILLAGE, county)
    prison = make_location(
        f"{NORTH_AND_SOUTH} Village Prison", LocationKind.FACILITY, village, facility_type="prison"
    )
    h = new_case(origin=village, events=[("detained", "2020", {"facility": prison})])
    others = {name: places_of(case) for name, case in world.cases.items()}
    assert places_of(h) == detention_in(p.north, county) | origin_in(p.north, county)
    county.parent = p.south
    county.save()
    assert places_of(h) == detention_in(p.south, county) | origin_in(p.south, county)
    assert {name: places_of(case) for name, case in world.cases.items()} == others
    # A prison moved from straight under a prefecture into a county: a now counts there too.
    a = world.cases["a"]
    before = stored(a)
    p.camp.parent = p.south_county
    p.camp.save()
    assert places_of(a) == detention_in(p.south, p.south_county) | origin_in(
        p.north, p.north_county
    )
    assert stored(a) == {**before, "detention_precision": 3}


# --- the page's links agree with its counts ------------------------------------------------------


def linked_rows(response):
    """(breakdown, row) of every row of the page with a link; checks that exactly the rows
    counting a case have one."""
    linked = []
    for section in response.context["sections"]:
        for row in section["rows"]:
            assert bool(row["link"]) == bool(row["count"]), (section["name"], row)
            if row["link"]:
                assert row["link"].startswith(f"{CASE_LIST}?")
                linked.append((section["name"], row))
    return linked


def listed(client, link):
    response = client.get(link)
    assert response.status_code == 200, link
    return response.context["cl"]


def assert_links_agree(client, params=None) -> int:
    page = client.get(STATISTICS, params or {})
    assert page.status_code == 200
    linked = linked_rows(page)
    for name, row in linked:
        assert listed(client, row["link"]).result_count == row["count"], (name, row)
    return len(linked)


def test_every_link_lists_as_many_cases_as_its_row_counts(admin_client, full):
    assert assert_links_agree(admin_client) > 40


def test_links_agree_under_a_filter_of_the_case_list(admin_client, full):
    page = admin_client.get(STATISTICS, {"status__exact": "sentenced"})
    assert page.context["statistics"].total == 1  # a
    assert assert_links_agree(admin_client, {"status__exact": "sentenced"}) > 10
    for _name, row in linked_rows(page):
        assert "status__exact=sentenced" in row["link"]


def test_links_agree_when_archived_cases_are_counted(admin_client, full):
    page = admin_client.get(STATISTICS, {"archived_at__isempty": "0"})
    assert page.context["statistics"].total == 1  # f, the archived one
    assert assert_links_agree(admin_client, {"archived_at__isempty": "0"}) > 10


def test_a_data_entry_users_links_never_list_a_sensitive_case(client, full, outsider):
    e = full.cases["e"]
    client.force_login(outsider)
    page = client.get(STATISTICS)
    assert page.context["statistics"].total == 4
    linked = linked_rows(page)
    assert linked
    for name, row in linked:
        case_list = listed(client, row["link"])
        assert case_list.result_count == row["count"], (name, row)
        assert e.pk not in set(case_list.queryset.values_list("pk", flat=True))
    # Nor a link made by hand to the row only the sensitive case is in.
    own_row = f"{CASE_LIST}?counted_in=charges:{full.charges.z.uid}"
    assert listed(client, own_row).result_count == 0


# --- who may open the page -----------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(STATISTICS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_who_may_not_see_cases_are_refused(client, no_role):
    client.force_login(no_role)
    assert client.get(STATISTICS).status_code == 403
    assert client.get(STATISTICS, {"_export": "csv"}).status_code == 403
    assert f'href="{STATISTICS}"' not in client.get(reverse("admin:index")).content.decode()


def test_staff_who_may_see_cases_open_it_from_the_admin_home(client, world, data_entry):
    client.force_login(data_entry)
    response = client.get(STATISTICS)
    assert response.status_code == 200
    assert response.context["statistics"].total == 4
    home = client.get(reverse("admin:index")).content.decode()
    assert f'href="{STATISTICS}"' in home
    assert "Statistics" in home


@pytest.mark.parametrize(
    "value",
    [
        "charges:not-a-uuid",
        "charges:",
        "evidence_level:x",
        "evidence_level:²",
        "detention_county:not-a-uuid",
        "detention_year:²:exact",
        "detention_year:2019:sometimes",
        "added_month:0-01",
        "added_month:2024",
        "age_at_detention:1-2",
        "sentence:forever",
        "nonsense",
        ":",
    ],
)
def test_a_bad_counted_in_value_lists_nothing(admin_client, full, value):
    admin_client.raise_request_exception = False
    response = admin_client.get(CASE_LIST, {"counted_in": value})
    assert response.status_code == 200, value
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize(
    "params",
    [
        {"nonexistent_field": "1"},
        {"evidence_level__exact": "x"},
        {"charge": "999999"},
        {"charge": "not-a-charge"},
        {"counted_in": "nonsense"},
        {"counted_in": "charges:not-a-uuid"},
        {"place": "999999"},
        {"place": "not-a-place"},
    ],
    ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()),
)
def test_bad_list_parameters_never_break_the_page(admin_client, full, params):
    admin_client.raise_request_exception = False
    response = admin_client.get(STATISTICS, params)
    assert response.status_code in (200, 302), params
    if response.status_code == 302:
        assert response["Location"] == STATISTICS
        shown = admin_client.get(STATISTICS)
        assert shown.status_code == 200
        assert "These filters cannot be applied." in shown.content.decode()
    else:
        assert response.context["statistics"].total == 0


# --- the case list's gender and date window filters (the API's, on the page too) -----------------


def listed_references(client, params) -> set[str]:
    response = client.get(CASE_LIST, params)
    assert response.status_code == 200, params
    return {case.reference for case in response.context["cl"].result_list}


def references(world, *names) -> set[str]:
    return {world.cases[name].reference for name in names}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"person__gender__exact": "female"}, ("b", "c")),
        # Any event that may have happened in 2019: a sentenced in June, b some time 2019-2021.
        ({"date_from": "2019", "date_to": "2019"}, ("a", "b")),
        # From 2022 on: only e's detention (2022/.., open-ended) may have happened then.
        ({"date_from": "2022"}, ("e",)),
        # Up to the end of 2017: c in June 2017; the list shows the archived f (2015) and the
        # synthetic g (2016) too, which the statistics never count.
        ({"date_to": "2017"}, ("c", "f", "g")),
        ({"date_from": "2017-06-02", "date_to": "2017-12"}, ()),
        ({"date_from": "2018-01", "date_to": "2018-01", "person__gender__exact": "female"}, ("c",)),
    ],
    ids=lambda value: (
        "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None
    ),
)
def test_gender_and_a_date_window_filter_the_list_and_the_page(
    admin_client, full, params, expected
):
    assert listed_references(admin_client, params) == references(full, *expected)
    page = admin_client.get(STATISTICS, params)
    assert page.status_code == 200
    counted = set(expected) - {"f", "g"}  # neither archived nor synthetic cases count
    assert page.context["statistics"].total == len(counted)
    # The partner API's date filter reads the same rule: the published among them.
    if "date_from" in params or "date_to" in params:
        published = {"a", "b"} & set(expected)
        api = breakdowns.compute(
            PublishedCase.objects.filter(case__in=[full.cases[n].pk for n in published]),
            today=TODAY,
        )
        assert api.total == len(published)


def test_the_date_window_filter_offers_recent_years_and_any_window(admin_client, full):
    response = admin_client.get(CASE_LIST, {"status__exact": "sentenced"})
    html = response.content.decode()
    year = timezone.localdate().year
    assert f"date_from={year}&amp;date_to={year}" in html
    assert f"date_from={year - 11}&amp;date_to={year - 11}" in html
    # The window's own form keeps the list's other filters.
    assert 'name="date_from"' in html and 'name="date_to"' in html
    assert '<input type="hidden" name="status__exact" value="sentenced">' in html
    chosen = admin_client.get(CASE_LIST, {"date_from": "2019", "date_to": "2019"})
    assert 'value="2019"' in chosen.content.decode()
    # A parameter given twice (two rows of the statistics page) is kept twice.
    query = "counted_in=status%3Asentenced&counted_in=gender%3Amale"
    html = admin_client.get(f"{CASE_LIST}?{query}").content.decode()
    for value in ("status:sentenced", "gender:male"):
        assert f'<input type="hidden" name="counted_in" value="{value}">' in html


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not a date"},
        {"date_to": "2019-13"},
        {"date_from": "2020", "date_to": "2019"},
    ],
    ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()),
)
def test_a_window_that_is_no_window_is_refused_not_applied(admin_client, full, params):
    listed = admin_client.get(CASE_LIST, params)
    assert listed.status_code == 302 and "e=1" in listed["Location"]
    page = admin_client.get(STATISTICS, params)
    assert page.status_code == 302 and page["Location"] == STATISTICS
    assert "These filters cannot be applied." in admin_client.get(STATISTICS).content.decode()


# --- CSV downloads -------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_holds_the_total_and_every_row(admin_client, full):
    page = admin_client.get(STATISTICS)
    total = page.context["statistics"].total
    assert total == 5
    response = admin_client.get(STATISTICS, {"_export": "csv"})
    assert 'filename="statistics.csv"' in response["Content-Disposition"]
    table = csv_rows(response)
    assert table[0] == ["breakdown", "value", "detail", "label", "count", "suppressed"]
    assert table[1] == ["total", "", "", "Cases counted", str(total), "false"]
    by_breakdown = {}
    for name, value, detail, _label, count, suppressed in table[2:]:
        assert suppressed == "false"
        by_breakdown.setdefault(name, {})[value, detail] = int(count)
    assert set(by_breakdown) == set(breakdowns.STAFF_NAMES)
    assert by_breakdown["review_state"] == {
        ("draft", ""): 2,
        ("in_review", ""): 1,
        ("verified", ""): 2,
    }
    assert by_breakdown["detention_year"]["2019", "range"] == 1
    assert by_breakdown["detention_year"]["", "undated"] == 1
    assert by_breakdown["charges"][str(full.charges.z.uid), "300"] == 1


def test_the_csv_of_one_breakdown_holds_only_its_rows(admin_client, full):
    response = admin_client.get(STATISTICS, {"_export": "csv", "_breakdown": "status"})
    assert 'filename="statistics-status.csv"' in response["Content-Disposition"]
    table = csv_rows(response)
    assert table[0] == ["breakdown", "value", "detail", "label", "count", "suppressed"]
    assert {r[0] for r in table[1:]} == {"status"}
    assert {r[1]: int(r[4]) for r in table[1:]} == {
        **zeros(CaseStatus.values),
        "sentenced": 1,
        "detained": 2,
        "released": 1,
        "disappeared": 1,
    }


def test_the_csv_follows_the_case_lists_filters_and_need_to_know(client, full, outsider):
    client.force_login(outsider)
    table = csv_rows(client.get(STATISTICS, {"_export": "csv"}))
    assert table[1][4] == "4"
    assert str(full.charges.z.uid) not in {r[1] for r in table}
    uyghur = {"_export": "csv", "person__ethnicity__exact": "uyghur"}
    table = csv_rows(client.get(STATISTICS, uyghur))
    assert table[1][4] == "1"  # b


def test_names_that_look_like_formulas_are_defused_in_the_csv(admin_client, world):
    p = world.places
    charge = make_charge('=HYPERLINK("http://x")', article="+1")
    county = make_location("=cmd|' /C calc'!A0", LocationKind.COUNTY, p.north)
    new_case(events=[("detained", "2020", {"location": county, "charges": [charge]})])
    table = csv_rows(admin_client.get(STATISTICS, {"_export": "csv"}))
    charge_rows = [r for r in table if r[0] == "charges" and r[1] == str(charge.uid)]
    assert charge_rows == [
        ["charges", str(charge.uid), "'+1", '\'=HYPERLINK("http://x")', "1", "false"]
    ]
    county_rows = [r for r in table if r[0] == "detention_county" and r[1] == str(county.uid)]
    assert [r[3] for r in county_rows] == ["'=cmd|' /C calc'!A0"]
    assert not any(cell.startswith(("=", "+", "@")) for r in table for cell in r)


# --- the cache -----------------------------------------------------------------------------------


def total_on_page(client, params=None) -> int:
    response = client.get(STATISTICS, params or {})
    assert response.status_code == 200
    return response.context["statistics"].total


def test_the_page_is_cached_until_a_write_changes_the_facts(
    admin_client, superuser, full, django_capture_on_commit_callbacks
):
    c, d = full.cases["c"], full.cases["d"]
    generation = cache.generation(cache.STAFF)
    assert total_on_page(admin_client) == 5
    # Facts changed behind the write paths' back: the cached page does not see it.
    CaseFacts.objects.filter(case=c.pk).update(archived=True)
    assert total_on_page(admin_client) == 5
    CaseFacts.objects.filter(case=c.pk).update(archived=False)
    # A write through the write paths: the next request counts afresh.
    with django_capture_on_commit_callbacks(execute=True):
        services.archive(d, superuser, "Recorded twice.")
    assert cache.generation(cache.STAFF) != generation
    assert total_on_page(admin_client) == 4
    assert total_on_page(admin_client, {"status__exact": "sentenced"}) == 1
    assert total_on_page(admin_client) == 4


def test_users_with_different_need_to_know_never_share_cached_numbers(
    client, full, verifier, outsider
):
    client.force_login(verifier)
    assert total_on_page(client) == 5
    client.force_login(outsider)
    assert total_on_page(client) == 4
    table = csv_rows(client.get(STATISTICS, {"_export": "csv"}))
    assert table[1][4] == "4"
    client.force_login(verifier)
    assert total_on_page(client) == 5
    table = csv_rows(client.get(STATISTICS, {"_export": "csv"}))
    assert table[1][4] == "5"


def test_assigning_a_case_through_its_form_counts_it_on_the_next_request(
    admin_client, full, outsider, django_capture_on_commit_callbacks
):
    e = full.cases["e"]
    reader = Client()
    reader.force_login(outsider)
    assert total_on_page(reader) == 4
    form = AdminForm(admin_client, reverse("admin:cases_case_change", args=[e.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        assert_saved(form.post(assigned_staff=[str(outsider.pk)]))
    assert outsider in fresh(e).assigned_staff.all()
    assert total_on_page(reader) == 5


def test_a_role_taken_away_stops_counting_sensitive_cases_at_once(client, full, verifier):
    client.force_login(verifier)
    assert total_on_page(client) == 5
    # No longer a verifier: data entry, assigned to no sensitive case.
    verifier.groups.set([Group.objects.get(name=DATA_ENTRY)])
    assert total_on_page(client) == 4


# --- backfill and rebuild ------------------------------------------------------------------------


def facts_table():
    return (
        sorted(CaseFacts.objects.values_list(), key=str),
        sorted(CaseFactCharge.objects.values_list("facts", "charge")),
        sorted(CaseFactPlace.objects.values_list("facts", "role", "kind", "location")),
    )


def test_the_backfill_migration_writes_what_the_write_paths_wrote(full):
    from django.db.migrations.executor import MigrationExecutor

    name = "0004_backfill_case_facts"
    migration = importlib.import_module(f"figures.migrations.{name}")
    historical = MigrationExecutor(connection).loader.project_state(("figures", name)).apps
    before = facts_table()
    # Every case has facts, the archived and the synthetic ones too.
    assert {case.pk for case in full.cases.values()} <= set(
        CaseFacts.objects.values_list("case_id", flat=True)
    )
    assert before[1] and before[2]
    CaseFacts.objects.all().delete()
    assert facts_table() == ([], [], [])
    migration.backfill(historical, None)
    assert facts_table() == before


def test_rebuild_figures_writes_what_the_write_paths_wrote(full):
    before = facts_table()
    CaseFacts.objects.all().delete()
    out = io.StringIO()
    call_command("rebuild_figures", stdout=out)
    assert facts_table() == before
    # Rows gone stale behind the write paths' back: the command writes them right again.
    CaseFacts.objects.filter(case=full.cases["a"].pk).update(status="deceased", sensitive=True)
    CaseFactPlace.objects.filter(facts=full.cases["b"].pk).delete()
    call_command("rebuild_figures", stdout=out)
    assert facts_table() == before
    assert f"Facts of {Case.objects.count()} cases written." in out.getvalue()


# --- in_row and row_key agree with the counts ----------------------------------------------------


@pytest.mark.parametrize("archived", [False, True])
def test_in_row_selects_as_many_cases_as_each_row_counts(full, superuser, outsider, archived):
    for user in (superuser, outsider):
        stats = breakdowns.compute_staff(user, today=TODAY, archived=archived)
        counted = staff.counted_for(user, archived=archived)
        checked = 0
        for name in breakdowns.STAFF_NAMES:
            for row in stats.breakdowns[name].rows:
                key = breakdowns.row_key(name, row)
                selected = breakdowns.in_row(counted, name, key, today=TODAY)
                assert selected is not None, (name, key)
                assert selected.count() == row["count"], (user, name, key)
                checked += 1
        assert checked > 100


def test_in_row_knows_no_row_it_was_not_given(full, superuser):
    counted = staff.counted_for(superuser)
    for name, key in [
        ("nonsense", ""),
        ("evidence_level", "x"),
        ("detention_county", "not-a-uuid"),
        ("detention_year", "x:exact"),
        ("detention_year", "2019:sometimes"),
        ("added_month", "2024"),
        ("age_at_detention", "1-2"),
    ]:
        assert breakdowns.in_row(counted, name, key, today=TODAY) is None, (name, key)


# --- a case deleted (committed: foreign keys are checked at commit) ------------------------------
# Last in the module: a transactional test empties every table when it ends.


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
@pytest.mark.parametrize("from_somewhere", [False, True], ids=["no-origin", "with-origin"])
def test_a_deleted_draft_leaves_no_facts_and_commits(from_somewhere):
    """The deletion deletes the draft's events first, whose signals write its facts again
    (the person's place of origin among them): none may be left once it commits."""
    p = make_places()
    charge = make_charge("Staff statistics: deleted with its case", article="301")
    kept = new_case(events=[("detained", "2019", {"location": p.north_county})])
    draft = new_case(
        origin=p.south_county if from_somewhere else None,
        events=[("detained", "2020", {"location": p.north_county, "charges": [charge]})],
    )
    assert charges_of(draft) == {charge.pk}
    assert places_of(draft)
    kept_before = (stored(kept), places_of(kept))
    pk = draft.pk
    with acting_as(make_user("statistics_deleter")):
        Case.objects.get(pk=pk).delete()  # its own transaction, committed here
    assert not Case.objects.filter(pk=pk).exists()
    assert not CaseFacts.objects.filter(case=pk).exists()
    assert not CaseFactCharge.objects.filter(facts=pk).exists()
    assert not CaseFactPlace.objects.filter(facts=pk).exists()
    assert (stored(kept), places_of(kept)) == kept_before


# --- after review: what the case list takes beyond its sidebar, rows within rows ----------------


def test_any_lookup_the_case_list_takes_restricts_the_count(admin_client, full):
    """A lookup that is no sidebar filter (the case list takes it all the same) counts only
    the cases the list shows, and the bars agree with it."""
    a = full.cases["a"]
    params = {"person": str(a.person_id)}
    page = admin_client.get(STATISTICS, params)
    assert page.context["statistics"].total == 1
    assert assert_links_agree(admin_client, params) > 5


def test_a_bar_of_a_page_one_row_restricts_lists_the_cases_in_both(admin_client, full):
    """From a page opened with one row's cases (counted_in), a bar lists the cases in that row
    and its own, as many as it counts."""
    params = {"counted_in": "gender:female"}
    page = admin_client.get(STATISTICS, params)
    assert page.context["statistics"].total == 2  # b and c
    for _name, row in linked_rows(page):
        assert row["link"].count("counted_in=") == 2
    assert assert_links_agree(admin_client, params) > 5


@pytest.mark.parametrize("value", ["status:\x00", "ethnicity:kaz\x00akh", "gender:\x07"])
def test_a_control_character_in_a_row_lists_nothing(admin_client, full, value):
    assert listed(admin_client, f"{CASE_LIST}?{urlencode({'counted_in': value})}").result_count == 0
    assert admin_client.get(STATISTICS, {"counted_in": value}).status_code == 200


def test_the_counts_of_a_search_are_never_kept(admin_client, full, monkeypatch):
    """A search can pick out one person: its counts are made afresh and not written to the
    cache (files outside the database's protection); the page of every case is."""
    kept = []
    store = cache.store()
    original = store.set

    def spy(key, value, *args, **kwargs):
        kept.append(value)
        return original(key, value, *args, **kwargs)

    monkeypatch.setattr(store, "set", spy)

    def statistics_kept():
        return [value for value in kept if isinstance(value, breakdowns.Statistics)]

    admin_client.get(STATISTICS, {"q": "no such name at all"})
    admin_client.get(STATISTICS, {"status__exact": "sentenced"})
    assert statistics_kept() == []
    admin_client.get(STATISTICS)  # every case the reader may see
    assert [s.total for s in statistics_kept()] == [5]
