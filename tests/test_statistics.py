"""The statistics (figures): the facts of each published document, the breakdowns counted
from them, small counts hidden for partners, and GET /api/v1/statistics/.

The expected counts are worked out by hand from the cases each test writes (what each case's
dates, places and sentence should make it count as), never read back through the code under
test.
"""

import datetime
import importlib
import json
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from cases.models import CaseStatus, ChargeBasis, EventKind, LocationKind
from casetracker.audit import acting_as
from figures import breakdowns, cache, facts
from figures.models import CaseFacts, PublishedFactCharge, PublishedFactPlace, PublishedFacts
from figures.sentences import Sentence, parse_sentence
from people.models import Consent, Ethnicity, Gender
from snapshots import writer
from snapshots.models import PublishedCase
from tests import partner_api
from tests.exports import csv_records, export, files_of, xlsx_sheets
from tests.factories import (
    make_case,
    make_charge,
    make_event,
    make_person,
    make_user,
    place,
    publish,
    seeded_place,
    set_case,
)
from tests.partner_api import get, get_json
from tests.tallies import counts_kept  # noqa: F401 (a fixture)

# After each test, the counts the write paths kept are those of the facts (tests/tallies.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counts_kept")]

api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

TODAY = datetime.date(2026, 12, 7)


# --- sentences as written -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("15 years", Sentence("term", 180)),
        ("Sentenced to 7 years in prison", Sentence("term", 84)),
        ("20-year sentence", Sentence("term", 240)),
        ("six months", Sentence("term", 6)),
        ("a year and a half", Sentence("term", 18)),
        ("10 лет 6 месяцев", Sentence("term", 126)),
        ("2 года", Sentence("term", 24)),
        ("15 жыл 6 ай", Sentence("term", 186)),
        ("有期徒刑十五年", Sentence("term", 180)),
        ("有期徒刑6个月", Sentence("term", 6)),
        ("二十年", Sentence("term", 240)),
        ("一年半", Sentence("term", 18)),
        ("life", Sentence("life")),
        ("пожизненное лишение свободы", Sentence("life")),
        ("өмір бойы бас бостандығынан айыру", Sentence("life")),
        ("无期徒刑", Sentence("life")),
        ("死刑", Sentence("death")),
        ("death penalty", Sentence("death")),
        ("死缓", Sentence("death_suspended")),
        ("death with a two-year reprieve", Sentence("death_suspended")),
        ("смертная казнь с отсрочкой исполнения", Sentence("death_suspended")),
        ("2019年判处有期徒刑十五年", Sentence("term", 180)),  # the year is not the term
        ("в 2019 году приговорён к 10 годам", Sentence("term", 120)),
        ("1 year and 6 months", Sentence("term", 18)),
        ("unknown term", Sentence("unread")),
        ("10 years, reduced to 8 years on appeal", Sentence("unread")),  # two: not guessed
        ("twenty-five years", Sentence("unread")),  # not "five years"
        ("", None),
    ],
)
def test_a_sentence_is_read_in_each_language_or_left_unread(text, expected):
    assert parse_sentence(text) == expected


# --- the facts of one document ----------------------------------------------------------------


def document(events=(), birth=None, **case):
    def date(earliest, latest):
        return {"edtf": "x", "earliest": earliest, "latest": latest}

    return {
        "status": case.get("status", "detained"),
        "evidence_level": 3,
        "person": {
            "gender": "male",
            "ethnicity": "kazakh",
            "birth_date": date(*birth) if birth else None,
            "place_of_origin": None,
        },
        "events": [
            {"kind": kind, "date": date(*bounds) if bounds else None, "charges": [], **extra}
            for kind, bounds, extra in events
        ],
    }


def test_the_first_detention_spans_from_the_earliest_start_to_the_earliest_end():
    values = facts.facts_of(
        document(
            [
                ("arrested", ("2019-01-01", "2023-12-31"), {}),
                ("detained", ("2018-03-01", "2018-03-31"), {}),
                ("sentenced", ("2017-01-01", "2017-01-01"), {}),  # not a detention's start
            ]
        )
    ).values
    assert values["detained_earliest"] == datetime.date(2018, 3, 1)
    assert values["detained_latest"] == datetime.date(2018, 3, 31)
    assert (values["detained_year_low"], values["detained_year_high"]) == (2018, 2018)


def test_an_open_end_or_an_open_start_stays_open():
    open_end = facts.facts_of(document([("detained", ("2019-01-01", None), {})])).values
    assert (open_end["detained_year_low"], open_end["detained_year_high"]) == (2019, None)
    open_start = facts.facts_of(document([("detained", (None, "2020-12-31"), {})])).values
    assert open_start["detained_year_low"] is None
    assert open_start["detained_year_high"] is None
    undated = facts.facts_of(document([("detained", None, {})])).values
    assert undated["detained_earliest"] is None


def test_age_and_notification_take_every_possible_value_into_account():
    values = facts.facts_of(
        document(
            [
                ("detained", ("2018-03-01", "2018-03-31"), {}),
                ("family_notified", ("2018-05-01", "2018-05-31"), {}),
            ],
            birth=("1980-01-01", "1980-12-31"),
        )
    ).values
    # Born in 1980, detained in March 2018: 37 if born after March, else 38.
    assert (values["age_low"], values["age_high"]) == (37, 38)
    # From 31 March to 1 May (31 days) up to from 1 March to 31 May (91 days).
    assert (values["notified_low"], values["notified_high"]) == (31, 91)


def test_an_open_end_makes_a_band_uncertain_not_unknown():
    values = facts.facts_of(
        document(
            [
                ("detained", ("2019-01-01", None), {}),  # 2019/..
                ("family_notified", ("2019-03-01", "2019-03-31"), {}),
            ],
            birth=("1980-01-01", "1980-12-31"),
        )
    ).values
    # Told some day in March 2019: 0 to 89 days after a detention from 2019 on.
    assert (values["notified_low"], values["notified_high"]) == (0, 89)
    # 38 at the youngest; the oldest has no end.
    assert (values["age_low"], values["age_high"]) == (38, None)
    undated = facts.facts_of(
        document([("detained", ("2019-01-01", "2019-01-31"), {}), ("family_notified", None, {})])
    ).values
    assert (undated["notified_low"], undated["notified_high"]) == (0, None)


def test_the_last_sentence_passed_counts():
    values = facts.facts_of(
        document(
            [
                ("sentenced", ("2020-01-01", "2020-01-31"), {"sentence": "life"}),
                ("sentenced", ("2019-01-01", "2019-01-31"), {"sentence": "10 years"}),
            ]
        )
    ).values
    assert values["sentence_kind"] == "life"


# --- the breakdowns of published cases ----------------------------------------------------------


@pytest.fixture
def gazetteer(db):
    ili = seeded_place("Ili Kazakh Autonomous Prefecture")
    hotan = seeded_place("Hotan Prefecture")
    return {
        "ili": ili,
        "hotan": hotan,
        "tekes": place("Tekes County", LocationKind.COUNTY, ili),
        "hotan_county": place("Hotan County", LocationKind.COUNTY, hotan),
        "camp": place("Statistics Test Camp", LocationKind.FACILITY, ili, facility_type="prison"),
    }


def case_of(
    *,
    events,
    status=None,
    ethnicity=Ethnicity.KAZAKH,
    gender=Gender.MALE,
    birth="",
    origin=None,
    **state,
):
    person = make_person(
        consent=Consent.GRANTED,
        ethnicity=ethnicity,
        gender=gender,
        birth_date=birth,
        place_of_origin=origin,
    )
    case = make_case(person)
    for kind, date, extra in events:
        charges = extra.pop("charges", [])
        event = make_event(case, kind=kind, date=date, **extra)
        event.charges.set(charges)
    overrides = {"status": status} if status else {}
    return publish(case, **overrides, **state)


@pytest.fixture
def cases(gazetteer):
    """Published cases of known facts, and others that must never be counted."""
    treason = make_charge("Statistics treason", article="102")
    split = make_charge("Statistics splitting", article="103")
    g = gazetteer
    made = {
        # Detained March 2018 in a camp in Ili (so Ili and no county), aged 37 or 38, the
        # family told in July (92 to 152 days: within six months), sentenced to 15 years.
        "a": case_of(
            status=CaseStatus.SENTENCED,
            birth="1980",
            origin=g["tekes"],
            events=[
                ("detained", "2018-03", {"facility": g["camp"], "charges": [treason]}),
                ("family_notified", "2018-07", {}),
                ("sentenced", "2019-06", {"sentence": "15 years", "charges": [treason, split]}),
            ],
        ),
        # Detained some time from 2019 to 2021 in Tekes County; born 1990-92, so 26 to 31.
        "b": case_of(
            status=CaseStatus.DETAINED,
            ethnicity=Ethnicity.UYGHUR,
            gender=Gender.FEMALE,
            birth="1990/1992",
            events=[("detained", "2019/2021", {"location": g["tekes"]})],
        ),
        # Detained in 2017 in Hotan County, no charges disclosed, released.
        "c": case_of(
            status=CaseStatus.RELEASED,
            gender=Gender.FEMALE,
            birth="1960-05-05",
            events=[
                ("detained", "2017-06-01", {"location": g["hotan_county"]}),
                ("released", "2018-01", {"charge_basis": ChargeBasis.NONE}),
            ],
        ),
        # Disappeared: no date, no place.
        "d": case_of(status=CaseStatus.DISAPPEARED, events=[("disappeared", "", {})]),
        # Detained from 2022 on, end open; life sentence.
        "e": case_of(
            status=CaseStatus.SENTENCED,
            origin=g["hotan_county"],
            events=[
                ("detained", "2022/..", {}),
                ("sentenced", "", {"sentence": "无期徒刑"}),
            ],
        ),
    }
    # Never counted: a sensitive case, a draft, an archived one.
    hidden = [
        case_of(events=[("detained", "2017", {"location": g["hotan_county"]})], sensitive=True),
        case_of(
            events=[("detained", "2017", {"location": g["hotan_county"]})],
            archived_at=timezone.now(),
        ),
    ]
    draft = make_case(make_person(consent=Consent.GRANTED, ethnicity=Ethnicity.HUI))
    make_event(draft, kind="detained", date="2017", location=g["hotan_county"])
    assert not PublishedCase.objects.filter(case__in=[*hidden, draft]).exists()
    return made


def rows(statistics, name, key="value"):
    return {r[key]: r["count"] for r in statistics.breakdowns[name].rows}


def test_the_breakdowns_count_each_published_case_as_its_facts_say(cases, gazetteer):
    stats = breakdowns.compute(today=TODAY)
    assert stats.total == 5

    years = {
        (r["year"], r["certainty"]): r["count"] for r in stats.breakdowns["detention_year"].rows
    }
    # a: 2018 exact; c: 2017 exact; b: somewhere in 2019-2021; e: from 2022 to now (2026).
    expected_years = {(2017, "exact"): 1, (2018, "exact"): 1, (None, "undated"): 1}
    for year in (2019, 2020, 2021):
        expected_years[year, "range"] = 1
    for year in range(2022, 2027):
        expected_years[year, "range"] = 1
    assert {k: v for k, v in years.items() if v} == expected_years

    status = rows(stats, "status")
    assert {k: v for k, v in status.items() if v} == {
        "sentenced": 2,
        "detained": 1,
        "released": 1,
        "disappeared": 1,
    }

    charges = {r["charge"]["article"]: r["count"] for r in stats.breakdowns["charges"].rows}
    assert charges == {"102": 1, "103": 1}
    assert rows(stats, "charges_disclosed") == {"named": 1, "none": 1, "not_stated": 3}

    ili, hotan = str(gazetteer["ili"].uid), str(gazetteer["hotan"].uid)
    tekes, hotan_county = str(gazetteer["tekes"].uid), str(gazetteer["hotan_county"].uid)
    assert {k: v for k, v in rows(stats, "detention_prefecture").items() if v} == {
        ili: 2,
        hotan: 1,
        "unknown": 2,
    }
    assert {k: v for k, v in rows(stats, "detention_county").items() if v} == {
        tekes: 1,
        hotan_county: 1,
        "uncertain": 1,  # a: a camp in Ili, no county
        "unknown": 2,
    }
    assert {k: v for k, v in rows(stats, "origin_county").items() if v} == {
        tekes: 1,
        hotan_county: 1,
        "unknown": 3,
    }
    assert {k: v for k, v in rows(stats, "ethnicity").items() if v} == {"kazakh": 4, "uyghur": 1}
    assert {k: v for k, v in rows(stats, "gender").items() if v} == {"male": 3, "female": 2}

    # a: 37-38 → 30-39; b: 26-31 → uncertain; c: 57 → 50-59; d, e: unknown.
    assert {k: v for k, v in rows(stats, "age_at_detention").items() if v} == {
        "30-39": 1,
        "50-59": 1,
        "uncertain": 1,
        "unknown": 2,
    }
    # a: 15 years (180 months); e: life.
    assert {k: v for k, v in rows(stats, "sentence").items() if v} == {"180-239": 1, "life": 1}
    # a: 92 to 152 days; the other dated ones (b, c, e) were never notified.
    assert {k: v for k, v in rows(stats, "family_notified").items() if v} == {
        "32-183": 1,
        "unknown": 3,
    }
    # Still held: a since March 2018 (8 years); b since 2019-2021 (4 to 7 years: two bands);
    # e since 2022 or later (0 to 4 years).
    assert {k: v for k, v in rows(stats, "time_held").items() if v} == {
        "8-": 1,
        "uncertain": 2,
    }


def test_a_sensitive_case_never_changes_a_count(cases, gazetteer):
    before = breakdowns.compute(today=TODAY).as_dict()
    case_of(
        events=[("detained", "2017", {"location": gazetteer["hotan_county"]})],
        ethnicity=Ethnicity.HUI,
        sensitive=True,
    )
    assert breakdowns.compute(today=TODAY).as_dict() == before
    published = cases["d"]
    set_case(published, sensitive=True)
    assert breakdowns.compute(today=TODAY).total == 4


def test_facts_follow_the_snapshot_and_go_with_it(cases):
    case = cases["c"]
    assert PublishedFacts.objects.filter(snapshot_id=case.pk).exists()
    set_case(case, is_published=False)
    assert not PublishedFacts.objects.filter(snapshot_id=case.pk).exists()
    assert not PublishedFactPlace.objects.filter(facts_id=case.pk).exists()
    assert not PublishedFactCharge.objects.filter(facts_id=case.pk).exists()


def test_written_facts_are_those_of_the_stored_documents(cases):
    """What the writer stored is what facts_of reads off each stored document, so a
    backfill from the documents (the migration) gives the same rows."""
    before = facts_table()
    facts.remove(PublishedFacts.objects.values_list("pk", flat=True))
    assert facts_table() == ([], [], [])
    facts.write(PublishedCase.objects.values_list("pk", "document"))
    assert facts_table() == before
    writer.rebuild()
    assert facts_table() == before


def facts_table():
    return (
        sorted(PublishedFacts.objects.values_list()),
        sorted(PublishedFactCharge.objects.values_list("facts", "charge")),
        sorted(PublishedFactPlace.objects.values_list("facts", "role", "location")),
    )


# --- small counts -------------------------------------------------------------------------------


def statistics_of(*partitions):
    return breakdowns.Statistics(
        total=sum(partitions[0]),
        breakdowns={
            f"b{i}": breakdowns.Breakdown(
                f"b{i}",
                "B",
                partition,
                [breakdowns.row(str(n), str(n), count) for n, count in enumerate(counts)],
            )
            for i, (counts, partition) in enumerate(partitions)
        },
    )


def counts_after(stats, name):
    return [r["count"] for r in stats.breakdowns[name].rows]


def test_small_counts_are_hidden_and_zeros_shown():
    stats = breakdowns.suppress(
        breakdowns.Statistics(
            total=3,
            breakdowns={
                "x": breakdowns.Breakdown(
                    "x", "X", False, [breakdowns.row("a", "a", n) for n in (0, 1, 4, 5, 9)]
                )
            },
        ),
        5,
    )
    assert counts_after(stats, "x") == [0, None, None, 5, 9]
    assert [r["suppressed"] for r in stats.breakdowns["x"].rows] == [
        False,
        True,
        True,
        False,
        False,
    ]
    assert stats.as_dict()["total"] == {"count": None}


def test_a_lone_hidden_count_in_a_partition_takes_the_next_smallest_with_it():
    stats = breakdowns.Statistics(
        total=40,
        breakdowns={
            "part": breakdowns.Breakdown(
                "part", "P", True, [breakdowns.row(str(n), "", n) for n in (20, 3, 0, 9, 8)]
            ),
            "overlap": breakdowns.Breakdown(
                "overlap", "O", False, [breakdowns.row(str(n), "", n) for n in (20, 3, 9, 8)]
            ),
        },
    )
    breakdowns.suppress(stats, 5)
    # 3 alone could be read off 40 - 20 - 9 - 8: the 8 goes too.
    assert counts_after(stats, "part") == [20, None, 0, 9, None]
    assert counts_after(stats, "overlap") == [20, None, 9, 8]


def test_the_minimum_cell_size_cannot_be_set_below_two(monkeypatch):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import casetracker.settings"],
        env={"STATISTICS_MIN_CELL": "1", "DEBUG": "true", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "STATISTICS_MIN_CELL" in result.stderr


# --- GET /api/v1/statistics/ ------------------------------------------------------------


def keys_in(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


@pytest.fixture
def many(gazetteer, cases):
    """Each of the five cases four times more (five of each), so counts reach the minimum."""
    for _ in range(4):
        for name in "abcde":
            source = cases[name]
            case_of(
                status=source.status,
                birth=source.person.birth_date,
                ethnicity=source.person.ethnicity,
                gender=source.person.gender,
                origin=source.person.place_of_origin,
                events=[
                    (
                        e.kind,
                        e.date,
                        {
                            "location": e.location,
                            "facility": e.facility,
                            "charge_basis": e.charge_basis,
                            "sentence": e.sentence,
                            "charges": list(e.charges.all()),
                        },
                    )
                    for e in source.events.order_by("pk")
                ],
            )
    return cases


def test_partners_get_the_statistics_with_small_counts_hidden(client, key, many):
    data = get_json(client, "statistics/", key)
    assert data["min_cell"] == 5
    assert data["total"] == {"count": 25}
    status = {r["value"]: r["count"] for r in data["breakdowns"]["status"]["rows"]}
    assert status["sentenced"] == 10 and status["detained"] == 5
    charges = {r["charge"]["article"]: r["count"] for r in data["breakdowns"]["charges"]["rows"]}
    assert charges == {"102": 5, "103": 5}
    # Places and charges by uid and address, never by database id.
    assert not {k for k in keys_in(data) if k == "id" or k.endswith("_id")}
    place_row = next(r for r in data["breakdowns"]["detention_county"]["rows"] if "place" in r)
    assert place_row["place"]["url"].startswith("http://testserver/api/v1/locations/")
    assert set(data["breakdowns"]) == set(breakdowns.NAMES)


def test_filters_apply_and_one_case_is_never_a_count(client, key, many, gazetteer):
    data = get_json(client, "statistics/", key, {"ethnicity": "uyghur"})
    assert data["total"] == {"count": 5}
    data = get_json(client, "statistics/", key, {"location": str(gazetteer["hotan"].uid)})
    assert data["total"] == {"count": 5}  # c's five; e comes from Hotan but was held nowhere
    one = make_case(make_person(consent=Consent.GRANTED))
    make_event(one, kind="detained", date="2015", location=gazetteer["hotan"])
    publish(one)
    data = get_json(client, "statistics/", key, {"date_to": "2015"})
    assert data["total"] == {"count": None}
    years = [r for r in data["breakdowns"]["detention_year"]["rows"] if r["year"] == 2015]
    assert [r["count"] for r in years] == [None, 0]
    assert years[0]["suppressed"] is True


def test_bad_filters_and_parameters_are_refused(client, key, many):
    response = get(client, "statistics/", key, {"status": "locked_up"})
    assert response.status_code == 400
    assert "status" in response.json()
    response = get(client, "statistics/", key, {"page_size": "10"})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_statistics_need_a_token(client, many):
    assert client.get("/api/v1/statistics/").status_code == 401
    assert client.post("/api/v1/statistics/").status_code == 401


def test_the_cache_is_dropped_when_the_published_set_changes(
    client, key, many, django_capture_on_commit_callbacks
):
    first = get_json(client, "statistics/", key)
    generation = cache.generation()
    # Served from the cache: a count changed behind the writer's back is not seen.
    PublishedFacts.objects.filter(status="detained").update(status="deceased")
    assert get_json(client, "statistics/", key) == first
    PublishedFacts.objects.filter(status="deceased").update(status="detained")
    with django_capture_on_commit_callbacks(execute=True):
        set_case(many["d"], is_published=False)
    assert cache.generation() != generation
    assert get_json(client, "statistics/", key)["total"] == {"count": 24}


def test_labels_follow_the_language_asked_for(client, key, many):
    data = json.loads(get(client, "statistics/", key, HTTP_ACCEPT_LANGUAGE="ru").content.decode())
    labels = {r["value"]: r["label"] for r in data["breakdowns"]["status"]["rows"]}
    english = get_json(client, "statistics/", key)
    assert labels["detained"] != "Detained"
    assert {r["value"]: r["label"] for r in english["breakdowns"]["status"]["rows"]}[
        "detained"
    ] == "Detained"


@override_settings(STATISTICS_MIN_CELL=2)
def test_the_minimum_is_a_setting(client, key, cases):
    data = get_json(client, "statistics/", key)
    assert data["min_cell"] == 2
    status = {r["value"]: r["count"] for r in data["breakdowns"]["status"]["rows"]}
    assert status == {
        "sentenced": 2,
        "detained": None,
        "released": None,
        "disappeared": None,
        "released_under_restrictions": 0,
        "deceased": 0,
        "unknown": 0,
    }


def test_a_place_or_charge_only_unpublished_cases_name_never_shows(client, key, many, gazetteer):
    secret_place = place("SENTINEL-PLACE", LocationKind.COUNTY, gazetteer["hotan"])
    secret_charge = make_charge("SENTINEL-CHARGE", article="999")
    for _ in range(6):
        case = case_of(
            events=[("detained", "2016", {"location": secret_place, "charges": [secret_charge]})],
            sensitive=True,
        )
        assert not PublishedCase.objects.filter(case=case).exists()
    draft = make_case(make_person(consent=Consent.GRANTED))
    event = make_event(draft, kind=EventKind.DETAINED, date="2016", location=secret_place)
    event.charges.set([secret_charge])
    text = get(client, "statistics/", key).content.decode()
    assert "SENTINEL" not in text and str(secret_place.uid) not in text
    assert str(secret_charge.uid) not in text
    assert CaseStatus.DETAINED in text


# --- in the export bundles --------------------------------------------------------------------


def test_the_bundle_holds_the_same_statistics_as_the_api(client, key, many, tmp_path):
    api = get_json(client, "statistics/", key, {"ethnicity": "kazakh"})
    files = files_of(export(tmp_path, "b", "--filter", "ethnicity=kazakh"))
    records = csv_records(files["statistics.csv"])
    assert records[0] == {
        "breakdown": "total",
        "value": "",
        "detail": "",
        "label": "Cases counted",
        "count": "20",
        "suppressed": "false",
    }
    from_api = [
        (name, r["value"] or "", str(r["count"]) if r["count"] is not None else "")
        for name, b in api["breakdowns"].items()
        for r in b["rows"]
    ]
    assert [(r["breakdown"], r["value"], r["count"]) for r in records[1:]] == from_api
    # Hidden counts stay hidden in the file: b's ethnicity is not in this export at all, and
    # a count below the minimum is an empty cell.
    sheet = xlsx_sheets(files["cases.xlsx"])["Statistics"]
    assert sheet[0] == breakdowns.TABLE_HEADER
    assert [[str(v) for v in row[:5]] for row in sheet[1:]] == [
        [r["breakdown"], r["value"], r["detail"], r["label"], r["count"]] for r in records
    ]
    assert len(sheet) == len(records) + 1


@override_settings(STATISTICS_MIN_CELL=6)
def test_the_minimum_holds_in_the_bundle(many, tmp_path):
    records = csv_records(files_of(export(tmp_path, "b"))["statistics.csv"])
    counts = [r["count"] for r in records]
    assert all(count == "" or count == "0" or int(count) >= 6 for count in counts)
    hidden = [r for r in records if r["suppressed"] == "true"]
    assert hidden and all(r["count"] == "" for r in hidden)


def test_the_backfill_migration_writes_the_facts_of_every_snapshot(cases):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module("figures.migrations.0002_backfill")
    historical = (
        MigrationExecutor(connection).loader.project_state(("figures", "0002_backfill")).apps
    )
    before = facts_table()
    assert len(before[0]) == 5 and before[1] and before[2]
    PublishedFacts.objects.all().delete()
    migration.backfill(historical, None)
    assert facts_table() == before


def test_a_place_moved_in_the_gazetteer_moves_its_cases_in_the_statistics(cases, gazetteer):
    """b was held in Tekes County, in Ili: moved to Hotan (a correction of the gazetteer),
    the county takes b with it, though b's document names the county, not the prefecture."""
    county = gazetteer["tekes"]
    b = cases["b"].pk

    def prefectures():
        return set(
            PublishedFactPlace.objects.filter(facts=b, kind="prefecture").values_list(
                "location", flat=True
            )
        )

    assert prefectures() == {gazetteer["ili"].pk}
    county.parent = gazetteer["hotan"]
    county.save()
    assert prefectures() == {gazetteer["hotan"].pk}


def test_a_village_moved_takes_the_cases_held_inside_it(cases, gazetteer):
    village = place("Statistics Village", LocationKind.VILLAGE, gazetteer["tekes"])
    prison = place("Village Prison", LocationKind.FACILITY, village, facility_type="prison")
    held = case_of(events=[("detained", "2020", {"facility": prison})])

    def counties():
        return set(
            PublishedFactPlace.objects.filter(facts=held.pk, kind="county").values_list(
                "location", flat=True
            )
        )

    assert counties() == {gazetteer["tekes"].pk}
    village.parent = gazetteer["hotan_county"]
    village.save()
    assert counties() == {gazetteer["hotan_county"].pk}


def test_a_correction_in_review_counts_as_its_last_verified_version(cases, gazetteer):
    from cases.models import Case

    case = cases["c"]  # Kazakh, held in Hotan County
    before = breakdowns.compute(today=TODAY)
    with acting_as(make_user()):
        person = case.person
        person.ethnicity = Ethnicity.UYGHUR
        person.save()
        event = case.events.get(kind="detained")
        event.location = gazetteer["tekes"]
        event.save()
    assert Case.objects.in_correction().filter(pk=case.pk).exists()
    assert PublishedCase.objects.get(case=case).held_since is not None
    after = breakdowns.compute(today=TODAY)
    for name in ("ethnicity", "detention_county", "detention_prefecture"):
        assert rows(after, name) == rows(before, name), name


@pytest.mark.parametrize(
    "detained, band",
    [
        ("2018-12-07", "8-"),  # eight years today
        ("2018-12-08", "6-7"),  # eight years tomorrow
        ("2025-12-08", "0-0"),
        ("2025-12-07", "1-1"),
        ("2019-12", "6-7"),  # six or seven years: one band
        ("2019/2020", "uncertain"),  # five to seven years: two bands
    ],
)
def test_time_held_counts_whole_years_to_the_day(db, detained, band):
    case_of(status=CaseStatus.DETAINED, events=[("detained", detained, {})])
    held = rows(breakdowns.compute(today=TODAY), "time_held")
    assert {k: v for k, v in held.items() if v} == {band: 1}


def test_origin_counts_add_up_so_a_second_one_is_hidden(client, key, many, gazetteer):
    lone = place("Statistics Lone County", LocationKind.COUNTY, gazetteer["hotan"])
    case_of(origin=lone, events=[("detained", "2018", {})])
    data = get_json(client, "statistics/", key)
    origin = {r["value"]: r for r in data["breakdowns"]["origin_county"]["rows"]}
    assert origin[str(lone.uid)]["suppressed"] is True
    # The next smallest count (Tekes or Hotan County, five each) is hidden with it.
    hidden = [value for value, r in origin.items() if r["suppressed"]]
    assert len(hidden) == 2
    assert data["total"] == {"count": 26}


@pytest.mark.parametrize(
    "dated, years",
    [
        ("202X", {(year, "range") for year in range(2020, 2027)}),  # not 2027-2029
        ("2026/2028", {(2026, "exact")}),  # all that can have been is this year
        ("2025/..", {(2025, "range"), (2026, "range")}),
        ("2019", {(2019, "exact")}),
    ],
)
def test_a_dating_into_years_to_come_counts_up_to_this_year(gazetteer, dated, years):
    case_of(status=CaseStatus.DETAINED, events=[("detained", dated, {})])
    stats = breakdowns.compute(today=TODAY)
    rows_of = stats.breakdowns["detention_year"].rows
    assert {(r["year"], r["certainty"]) for r in rows_of if r["count"]} == years
    # The staff's count of every case, and the case list a row leads to, say the same.
    superuser = make_user(is_superuser=True)
    staff_rows = breakdowns.compute_staff(superuser, today=TODAY).breakdowns["detention_year"]
    counted = CaseFacts.objects.all()
    for r in staff_rows.rows:
        key = breakdowns.row_key("detention_year", r)
        assert breakdowns.in_row(counted, "detention_year", key, TODAY).count() == r["count"]
        if r["year"] is not None:
            assert ((r["year"], r["certainty"]) in years) == bool(r["count"])


@contextmanager
def read_only_connection():
    """A read-only stretch of the test's transaction, as an export's consistent read is on
    PostgreSQL (exports.services.consistent_reads): a savepoint, rolled back after, takes
    the mode with it."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL transaction_read_only = on")
            else:
                cursor.execute("PRAGMA query_only = ON")
        try:
            yield
        finally:
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA query_only = OFF")
            transaction.set_rollback(True)


def test_a_filter_is_counted_in_a_read_only_transaction_too(cases, gazetteer):
    """A filtered count makes a temporary table of the keys selected, which a read-only
    transaction refuses: there, the filter is read as it is."""
    ili = gazetteer["ili"]
    selected = PublishedCase.objects.filter(case__events__facility__parent=ili).distinct()
    expected = breakdowns.compute(selected, today=TODAY).as_dict()
    assert expected["total"]["count"] == 1  # a, held in a camp in Ili
    with read_only_connection():
        assert breakdowns.read_only()
        assert breakdowns.compute(selected, today=TODAY).as_dict() == expected
    assert not breakdowns.read_only()


def test_a_staff_bundle_holds_the_staff_statistics_of_its_cases(cases, gazetteer, tmp_path):
    """A staff export's statistics.csv counts every case it holds (the draft, the sensitive
    case its verifier is assigned to, the archived one: the export holds them), exactly,
    with the staff's own breakdowns; the sensitive case the exporter may not see is in
    neither the cases nor the counts."""
    # Allowed to export unpublished cases, not to see every sensitive one (Verifiers may).
    exporter = make_user("statistics-exporter")
    exporter.user_permissions.add(
        *Permission.objects.filter(
            Q(content_type__app_label="cases", codename="view_case")
            | Q(content_type__app_label="exports", codename="export_unpublished")
        )
    )
    seen = case_of(events=[("detained", "2016", {})], sensitive=True)
    seen.assigned_staff.add(exporter)
    files = files_of(export(tmp_path, "b", "--include-unpublished", "--as", exporter.username))
    records = csv_records(files["statistics.csv"])
    exported = len(csv_records(files["cases.csv"]))
    # 5 published, the assigned sensitive one, the archived one, the draft; not the
    # sensitive one of the fixture, which the verifier is not assigned to.
    assert exported == 8
    assert records[0]["count"] == str(exported)
    by = {(r["breakdown"], r["value"], r["detail"]): r["count"] for r in records}
    assert by["detention_year", "2016", "exact"] == "1"
    assert by["review_state", "draft", ""] == "1"
    assert by["ethnicity", "hui", ""] == "1"  # the draft's person
    assert {r["suppressed"] for r in records} == {"false"}  # exact: 1s shown
    assert {r["breakdown"] for r in records} >= set(breakdowns.STAFF_BREAKDOWNS)
    dictionary = files["DATA-DICTIONARY.md"].decode()
    assert "as the staff's statistics page counts them" in dictionary
