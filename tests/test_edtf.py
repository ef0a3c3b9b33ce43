"""Uncertain dates in EDTF: parsing into bounds, rejection, and keeping derived bounds in step."""

import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from edtf import parse_edtf

from cases.models import DetentionEvent
from casetracker import edtf as module
from casetracker.edtf import EDTF_FORM_HELP, EXAMPLES, EDTFBounds, edtf_bounds, edtf_window
from people.models import Person
from tests.factories import make_case, make_event, make_person

pytestmark = pytest.mark.django_db

D = datetime.date


def stored_bounds(event):
    return (
        DetentionEvent.objects.filter(pk=event.pk).values_list("date_earliest", "date_latest").get()
    )


# --- edtf_bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "earliest", "latest"),
    [
        ("2024-04-05", D(2024, 4, 5), D(2024, 4, 5)),
        ("2024-04", D(2024, 4, 1), D(2024, 4, 30)),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        ("2024", D(2024, 1, 1), D(2024, 12, 31)),
        ("2019/2023", D(2019, 1, 1), D(2023, 12, 31)),
        ("2024-04~", D(2024, 4, 1), D(2024, 4, 30)),
        ("2024-04?", D(2024, 4, 1), D(2024, 4, 30)),
        ("201X", D(2010, 1, 1), D(2019, 12, 31)),
        ("2019/..", D(2019, 1, 1), None),
        ("../2020", None, D(2020, 12, 31)),
    ],
)
def test_edtf_value_has_its_earliest_and_latest_day(value, earliest, latest):
    assert edtf_bounds(value) == EDTFBounds(earliest, latest)


@pytest.mark.parametrize(
    ("value", "earliest", "latest"),
    [("2019/", D(2019, 1, 1), None), ("/2020", None, D(2020, 12, 31))],
    ids=["unknown-end", "unknown-start"],
)
def test_unknown_interval_end_has_no_bound(value, earliest, latest):
    # EDTF "2019/" : the end is unknown, so no latest day can be claimed.
    assert edtf_bounds(value) == EDTFBounds(earliest, latest)


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_date_has_no_bounds(value):
    assert edtf_bounds(value) == EDTFBounds(None, None)


def test_surrounding_spaces_are_ignored():
    assert edtf_bounds(" 2024-04 ") == edtf_bounds("2024-04")


@pytest.mark.parametrize(
    "value",
    [
        "2024-13",  # no 13th month
        "yesterday",  # not EDTF
        "2023/2019",  # ends before it starts
        "2024-02-30",  # no such day
        "2023-02-29",  # not a leap year
        "..",  # both ends open
        "../..",  # both ends open
    ],
)
def test_invalid_edtf_is_rejected_with_accepted_examples(value):
    with pytest.raises(ValidationError) as excinfo:
        edtf_bounds(value)
    assert excinfo.value.code == "invalid_edtf"
    message = excinfo.value.messages[0]
    assert value in message
    assert "2019/2023" in message
    assert "2024-04~" in message


def test_interval_running_backwards_says_so():
    with pytest.raises(ValidationError) as excinfo:
        edtf_bounds("2023/2019")
    assert "ends before it starts" in excinfo.value.messages[0]


# --- model validation ------------------------------------------------------------------------


def test_full_clean_reports_invalid_date_on_the_date_field():
    event = DetentionEvent(case=make_case(), kind="detained", date="2024-13")
    with pytest.raises(ValidationError) as excinfo:
        event.full_clean()
    assert set(excinfo.value.error_dict) == {"date"}
    assert excinfo.value.error_dict["date"][0].code == "invalid_edtf"


def test_full_clean_reports_invalid_birth_date_on_the_birth_date_field():
    person = Person(birth_date="yesterday")
    with pytest.raises(ValidationError) as excinfo:
        person.full_clean()
    assert "birth_date" in excinfo.value.error_dict


def test_full_clean_accepts_a_valid_date():
    event = DetentionEvent(case=make_case(), kind="detained", date="2019/2023")
    event.full_clean()


def test_saving_an_invalid_date_without_full_clean_raises_and_saves_nothing():
    case = make_case()
    with pytest.raises(ValidationError):
        DetentionEvent.objects.create(case=case, kind="detained", date="2024-13")
    assert not DetentionEvent.objects.filter(case=case).exists()


def test_changing_to_an_invalid_date_without_full_clean_leaves_the_row_unchanged():
    event = make_event(date="2024-04")
    event.date = "2023/2019"
    with pytest.raises(ValidationError):
        event.save()
    event.refresh_from_db()
    assert event.date == "2024-04"
    assert stored_bounds(event) == (D(2024, 4, 1), D(2024, 4, 30))


def test_updating_to_an_invalid_date_raises_and_changes_nothing():
    event = make_event(date="2024-04")
    with pytest.raises(ValidationError):
        DetentionEvent.objects.filter(pk=event.pk).update(date="yesterday")
    event.refresh_from_db()
    assert event.date == "2024-04"


# --- derived bounds stay in step -------------------------------------------------------------


def test_bounds_are_derived_on_create():
    event = DetentionEvent.objects.create(case=make_case(), kind="detained", date="2019/2023")
    assert stored_bounds(event) == (D(2019, 1, 1), D(2023, 12, 31))


def test_bounds_follow_the_date_when_it_is_changed_and_saved():
    event = make_event(date="2019/2023")
    event.date = "2024-04~"
    event.save()
    assert stored_bounds(event) == (D(2024, 4, 1), D(2024, 4, 30))


def test_bounds_are_cleared_when_the_date_is_emptied():
    event = make_event(date="2024")
    event.date = ""
    event.save()
    assert stored_bounds(event) == (None, None)


def test_bounds_follow_the_date_when_only_the_date_field_is_saved():
    event = make_event(date="2019")
    event.date = "2024-04"
    event.save(update_fields=["date"])
    assert stored_bounds(event) == (D(2024, 4, 1), D(2024, 4, 30))


def test_birth_date_bounds_are_derived_on_person_save():
    person = make_person(birth_date="196X")
    stored = Person.objects.filter(pk=person.pk)
    assert stored.values_list("birth_date_earliest", "birth_date_latest").get() == (
        D(1960, 1, 1),
        D(1969, 12, 31),
    )


def test_bounds_are_derived_on_bulk_create():
    case = make_case()
    DetentionEvent.objects.bulk_create(
        [
            DetentionEvent(case=case, kind="detained", date="2019/2023"),
            DetentionEvent(case=case, kind="released", date="2025-01"),
        ]
    )
    rows = DetentionEvent.objects.filter(case=case).order_by("kind")
    assert list(rows.values_list("kind", "date_earliest", "date_latest")) == [
        ("detained", D(2019, 1, 1), D(2023, 12, 31)),
        ("released", D(2025, 1, 1), D(2025, 1, 31)),
    ]


def test_bulk_update_of_the_date_recomputes_its_bounds():
    first, second = make_event(date="2019"), make_event(date="2020")
    first.date, second.date = "2024-04", "201X"
    DetentionEvent.objects.bulk_update([first, second], ["date"])
    assert stored_bounds(first) == (D(2024, 4, 1), D(2024, 4, 30))
    assert stored_bounds(second) == (D(2010, 1, 1), D(2019, 12, 31))


def test_bulk_update_of_other_fields_leaves_bounds_alone():
    event = make_event(date="2019")
    event.description = "Taken from home at night."
    DetentionEvent.objects.bulk_update([event], ["description"])
    assert stored_bounds(event) == (D(2019, 1, 1), D(2019, 12, 31))


def test_queryset_update_of_the_date_recomputes_its_bounds():
    event = make_event(date="2024-04")
    DetentionEvent.objects.filter(pk=event.pk).update(date="2020")
    assert stored_bounds(event) == (D(2020, 1, 1), D(2020, 12, 31))


def test_queryset_update_to_an_open_interval_clears_the_open_bound():
    event = make_event(date="2024-04")
    DetentionEvent.objects.filter(pk=event.pk).update(date="2019/..")
    assert stored_bounds(event) == (D(2019, 1, 1), None)


def test_queryset_update_of_a_derived_bound_is_refused():
    event = make_event(date="2024-04")
    with pytest.raises(ValueError, match="derived"):
        DetentionEvent.objects.filter(pk=event.pk).update(date_earliest=D(2000, 1, 1))
    assert stored_bounds(event) == (D(2024, 4, 1), D(2024, 4, 30))


def test_queryset_update_of_the_date_to_an_expression_is_refused():
    event = make_event(date="2024-04")
    with pytest.raises(ValueError):
        DetentionEvent.objects.filter(pk=event.pk).update(date=F("description"))


# --- the database refuses bounds out of order ------------------------------------------------


def raw_update(queryset, **values):
    """Write columns with the plain QuerySet.update, past DomainQuerySet's guard."""
    return models.QuerySet.update(queryset, **values)


def test_database_refuses_event_bounds_out_of_order():
    event = make_event(date="2024")
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        raw_update(
            DetentionEvent.objects.filter(pk=event.pk),
            date_earliest=D(2024, 12, 31),
            date_latest=D(2024, 1, 1),
        )
    assert "cases_detentionevent_date_bounds_ordered" in str(excinfo.value)


def test_database_refuses_birth_date_bounds_out_of_order():
    person = make_person(birth_date="1970")
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        raw_update(
            Person.objects.filter(pk=person.pk),
            birth_date_earliest=D(1971, 1, 1),
            birth_date_latest=D(1970, 1, 1),
        )
    assert "people_person_birth_date_bounds_ordered" in str(excinfo.value)


def test_database_accepts_bounds_with_one_open_end():
    event = make_event(date="2024")
    raw_update(
        DetentionEvent.objects.filter(pk=event.pk), date_earliest=D(2030, 1, 1), date_latest=None
    )
    assert stored_bounds(event) == (D(2030, 1, 1), None)


# --- the approximate window ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "earliest", "latest"),
    [
        ("2018-03~", "2018-02-01", "2018-04-30"),  # about March: February to April
        ("~2018-03", "2018-02-01", "2018-04-30"),
        ("2018-03?", "2018-02-01", "2018-04-30"),
        ("2024-04%", "2024-03-01", "2024-05-31"),
        ("2024-04-05?", "2024-04-04", "2024-04-06"),  # a day either side
        ("2024~", "2023-01-01", "2025-12-31"),  # a year either side
        ("2024-02~", "2024-01-01", "2024-03-31"),
        ("2024-01~", "2023-12-01", "2024-02-29"),  # across the year, into a leap February
        ("2019~/2023", "2018-01-01", "2023-12-31"),  # only the qualified end moves
        ("2019/2023?", "2019-01-01", "2024-12-31"),
        ("2019-XX~", "2018-01-01", "2020-12-31"),  # unspecified digits are not precision
        ("2019-05-XX~", "2019-04-01", "2019-06-30"),
    ],
)
def test_a_qualified_date_has_a_window_one_unit_wider(value, earliest, latest):
    window = edtf_window(value)
    assert (str(window.earliest), str(window.latest)) == (earliest, latest)


@pytest.mark.parametrize("value", ["2018-03", "2024", "2019/2023", "201X", "2019/..", ""])
def test_an_unqualified_date_has_its_bounds_as_its_window(value):
    assert edtf_window(value) == edtf_bounds(value)


def test_the_strict_bounds_of_a_qualified_date_stay_strict():
    assert (str(edtf_bounds("2018-03~").earliest), str(edtf_bounds("2018-03~").latest)) == (
        "2018-03-01",
        "2018-03-31",
    )


@pytest.mark.parametrize("value", EXAMPLES.split(", "))
def test_every_example_the_help_text_and_errors_give_is_accepted(value):
    edtf_bounds(value)
    assert value in str(EDTF_FORM_HELP)


def test_an_events_approximate_window_is_stored_and_follows_the_date(db):
    from cases.models import DetentionEvent
    from tests.factories import make_event

    event = make_event(date="2018-03~")
    stored = DetentionEvent.objects.values_list(
        "date_window_earliest", "date_window_latest", "date_earliest", "date_latest"
    ).get(pk=event.pk)
    assert [str(day) for day in stored] == ["2018-02-01", "2018-04-30", "2018-03-01", "2018-03-31"]
    DetentionEvent.objects.filter(pk=event.pk).update(date="2020")
    stored = DetentionEvent.objects.values_list("date_window_earliest", "date_window_latest")
    assert [str(day) for day in stored.get(pk=event.pk)] == ["2020-01-01", "2020-12-31"]


def test_the_migration_fills_the_window_of_events_already_stored(db):
    import importlib

    from django.db.migrations.loader import MigrationLoader

    from tests.factories import make_event

    event = make_event(date="2024-04-05?")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_detentionevent SET date_window_earliest = NULL")
    name = "0009_approximate_windows_and_charge_basis"
    migration = importlib.import_module(f"cases.migrations.{name}")
    # The migration's own models, as it runs them (plain managers, no history).
    state = MigrationLoader(connection).project_state(("cases", name))
    migration.fill_windows(state.apps, None)
    event.refresh_from_db()
    assert str(event.date_window_earliest) == "2024-04-04"


def test_plain_dates_are_bounded_as_the_edtf_grammar_bounds_them():
    """edtf_bounds() computes years, months, days, whole-date qualifiers and intervals between
    them without the grammar: the bounds must be the grammar's, for every such form."""
    rng = random.Random(7)
    values = ["2020-02", "2019-02", "1900-02", "2000-02-29", "0001", "9999-12-31"]
    for _ in range(1500):
        day = datetime.date(1800, 1, 1) + datetime.timedelta(days=rng.randrange(90_000))
        value = day.strftime(rng.choice(["%Y", "%Y-%m", "%Y-%m-%d"])) + rng.choice("~?% ")
        if rng.random() < 0.3:
            other = day + datetime.timedelta(days=rng.randrange(-50, 3000))
            value = value.strip() + "/" + other.strftime(rng.choice(["%Y", "%Y-%m", "%Y-%m-%d"]))
        values.append(value.strip())
    compared = 0
    for value in values:
        fast = module._calendar_bounds(value)
        if fast is None:
            continue
        parsed = parse_edtf(value)
        grammar = (module._bound(parsed, "lower"), module._bound(parsed, "upper"))
        assert (fast.earliest, fast.latest) == grammar, value
        compared += 1
    assert compared > 1400


@pytest.mark.parametrize("value", ["2019-02-30", "2019-13", "2019-21", "0000", "2020/2019", "201X"])
def test_other_forms_are_left_to_the_grammar(value):
    assert module._calendar_bounds(value) is None
