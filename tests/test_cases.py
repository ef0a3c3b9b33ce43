"""Case files: references, derived status, places, events, and the loaded vocabularies."""

import re
import threading

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from cases.models import (
    Case,
    CaseReferenceCounter,
    CaseStatus,
    Charge,
    DetentionEvent,
    EventKind,
    FacilityType,
    Location,
    LocationKind,
)
from tests.factories import make_case, make_event, make_location, make_person, raises_constraint


def reference_number(reference):
    prefix = re.escape(settings.CASE_REFERENCE_PREFIX)
    year = timezone.localdate().year
    match = re.fullmatch(rf"{prefix}-{year}-(\d{{5}})", reference)
    assert match, f"{reference!r} is not {settings.CASE_REFERENCE_PREFIX}-{year}-NNNNN"
    return int(match[1])


def status_of(case):
    return Case.objects.values_list("status", flat=True).get(pk=case.pk)


def validation_error_keys(instance):
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return set(excinfo.value.error_dict)


# --- references ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_case_reference_is_prefix_year_and_five_digits():
    reference_number(make_case().reference)


@pytest.mark.django_db
def test_successive_cases_get_consecutive_references():
    first, second, third = make_case(), make_case(), make_case()
    numbers = [reference_number(c.reference) for c in (first, second, third)]
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]


@pytest.mark.django_db
def test_case_reference_never_changes_on_re_save():
    case = make_case()
    reference = case.reference
    case.public_summary = "Detained after returning from Kazakhstan."
    case.save()
    case.refresh_from_db()
    assert case.reference == reference
    assert Case.objects.get(pk=case.pk).reference == reference


@pytest.mark.django_db
def test_re_saving_a_case_takes_no_new_number():
    case = make_case()
    case.save()
    following = make_case()
    assert reference_number(following.reference) == reference_number(case.reference) + 1


# --- derived status --------------------------------------------------------------------------


@pytest.mark.django_db
def test_case_without_events_has_unknown_status():
    assert status_of(make_case()) == CaseStatus.UNKNOWN


@pytest.mark.django_db
def test_status_follows_the_latest_event_that_implies_one():
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2019/2023")
    make_event(case, kind=EventKind.FAMILY_NOTIFIED, date="2024-04")
    assert status_of(case) == CaseStatus.DETAINED


@pytest.mark.django_db
def test_later_release_makes_the_case_released():
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2019/2023")
    make_event(case, kind=EventKind.FAMILY_NOTIFIED, date="2024-04")
    make_event(case, kind=EventKind.RELEASED, date="2025-01")
    assert status_of(case) == CaseStatus.RELEASED


@pytest.mark.django_db
def test_deleting_the_release_returns_the_case_to_detained():
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2019/2023")
    make_event(case, kind=EventKind.FAMILY_NOTIFIED, date="2024-04")
    release = make_event(case, kind=EventKind.RELEASED, date="2025-01")
    DetentionEvent.objects.get(pk=release.pk).delete()
    assert status_of(case) == CaseStatus.DETAINED


@pytest.mark.django_db
def test_redating_an_event_changes_the_status():
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2023")
    release = make_event(case, kind=EventKind.RELEASED, date="2024")
    release.date = "2022"
    release.save()
    assert status_of(case) == CaseStatus.DETAINED


@pytest.mark.django_db
def test_status_override_wins_over_events():
    case = make_case(status_override=CaseStatus.DECEASED)
    make_event(case, kind=EventKind.DETAINED, date="2024")
    assert status_of(case) == CaseStatus.DECEASED


@pytest.mark.django_db
def test_clearing_the_override_returns_to_the_derived_status():
    case = make_case(status_override=CaseStatus.DECEASED)
    make_event(case, kind=EventKind.DETAINED, date="2024")
    case.refresh_from_db()
    case.status_override = ""
    case.save()
    assert status_of(case) == CaseStatus.DETAINED


@pytest.mark.django_db
def test_events_without_dates_are_ignored_by_the_status():
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2019")
    make_event(case, kind=EventKind.RELEASED, date="")
    assert status_of(case) == CaseStatus.DETAINED


@pytest.mark.django_db
def test_release_from_an_open_ended_date_is_later_than_an_earlier_detention():
    # "Released sometime from 2019 on" is after "detained in 2017".
    case = make_case()
    make_event(case, kind=EventKind.DETAINED, date="2017")
    make_event(case, kind=EventKind.RELEASED, date="2019/..")
    assert status_of(case) == CaseStatus.RELEASED


# --- places ----------------------------------------------------------------------------------


@pytest.fixture
def region(db):
    return make_location("Testland Region", LocationKind.REGION, parent=make_location("Testland"))


def test_prefecture_under_a_region_is_valid(region):
    Location(name_en="Test Prefecture", kind=LocationKind.PREFECTURE, parent=region).full_clean()


def test_region_under_a_prefecture_fails_clean(region):
    prefecture = make_location("Test Prefecture", LocationKind.PREFECTURE, parent=region)
    place = Location(name_en="Odd Region", kind=LocationKind.REGION, parent=prefecture)
    assert validation_error_keys(place) == {"parent"}


def test_place_under_a_facility_fails_clean(region):
    prison = make_location(
        "Test Prison", LocationKind.FACILITY, parent=region, facility_type=FacilityType.PRISON
    )
    place = Location(name_en="Cell block", kind=LocationKind.VILLAGE, parent=prison)
    assert validation_error_keys(place) == {"parent"}


@pytest.mark.django_db
def test_place_other_than_a_country_needs_a_parent():
    place = Location(name_en="Floating Prefecture", kind=LocationKind.PREFECTURE)
    assert validation_error_keys(place) == {"parent"}


@pytest.mark.django_db
def test_country_needs_no_parent():
    Location(name_en="Testland", kind=LocationKind.COUNTRY).full_clean()


def test_facility_without_facility_type_fails_clean(region):
    place = Location(name_en="Unnamed camp", kind=LocationKind.FACILITY, parent=region)
    assert validation_error_keys(place) == {"facility_type"}


def test_facility_type_on_a_place_that_is_not_a_facility_is_refused(region):
    with raises_constraint("cases_location_facility_type_only_for_facilities"):
        make_location(
            "Test Prefecture",
            LocationKind.PREFECTURE,
            parent=region,
            facility_type=FacilityType.PRISON,
        )


def test_latitude_without_longitude_is_refused(region):
    with raises_constraint("cases_location_coordinates_complete"):
        make_location("Half-mapped", LocationKind.PREFECTURE, parent=region, latitude=43.9)


def test_longitude_without_latitude_is_refused(region):
    with raises_constraint("cases_location_coordinates_complete"):
        make_location("Half-mapped", LocationKind.PREFECTURE, parent=region, longitude=81.3)


def test_place_with_both_coordinates_is_stored(region):
    place = make_location(
        "Yining", LocationKind.COUNTY, parent=region, latitude="43.9", longitude="81.3"
    )
    place.refresh_from_db()
    assert (float(place.latitude), float(place.longitude)) == (43.9, 81.3)


@pytest.fixture
def two_regions(db):
    """Country → two regions; under the first a prefecture → county → facility."""
    country = make_location("Testland")
    first = make_location("First Region", LocationKind.REGION, parent=country)
    second = make_location("Second Region", LocationKind.REGION, parent=country)
    prefecture = make_location("Test Prefecture", LocationKind.PREFECTURE, parent=first)
    county = make_location("Test County", LocationKind.COUNTY, parent=prefecture)
    facility = make_location(
        "Test Detention Centre",
        LocationKind.FACILITY,
        parent=county,
        facility_type=FacilityType.DETENTION_CENTRE,
    )
    other = make_location("Other Prefecture", LocationKind.PREFECTURE, parent=second)
    return {
        "country": country,
        "first": first,
        "second": second,
        "prefecture": prefecture,
        "county": county,
        "facility": facility,
        "other": other,
    }


def names_within(place):
    return set(Location.objects.within(place).values_list("name_en", flat=True))


def test_within_a_region_includes_it_and_everything_inside(two_regions):
    assert names_within(two_regions["first"]) == {
        "First Region",
        "Test Prefecture",
        "Test County",
        "Test Detention Centre",
    }


def test_within_a_region_excludes_its_sibling_region(two_regions):
    assert "Second Region" not in names_within(two_regions["first"])
    assert "Other Prefecture" not in names_within(two_regions["first"])


def test_moving_a_prefecture_carries_its_descendants_along(two_regions):
    prefecture = two_regions["prefecture"]
    prefecture.parent = two_regions["second"]
    prefecture.save()
    assert names_within(two_regions["second"]) == {
        "Second Region",
        "Other Prefecture",
        "Test Prefecture",
        "Test County",
        "Test Detention Centre",
    }
    assert names_within(two_regions["first"]) == {"First Region"}


def test_moved_facility_is_still_within_the_country(two_regions):
    prefecture = two_regions["prefecture"]
    prefecture.parent = two_regions["second"]
    prefecture.save()
    assert "Test Detention Centre" in names_within(two_regions["country"])


# --- events ----------------------------------------------------------------------------------


def test_event_facility_must_be_a_facility(two_regions):
    event = DetentionEvent(
        case=make_case(), kind=EventKind.DETAINED, facility=two_regions["county"]
    )
    assert "facility" in validation_error_keys(event)


def test_event_location_must_not_be_a_facility(two_regions):
    event = DetentionEvent(
        case=make_case(), kind=EventKind.DETAINED, location=two_regions["facility"]
    )
    assert "location" in validation_error_keys(event)


def test_event_with_a_facility_and_no_location_takes_the_facility_s_place(two_regions):
    event = DetentionEvent(
        case=make_case(), kind=EventKind.DETAINED, facility=two_regions["facility"]
    )
    event.full_clean()
    assert event.location == two_regions["county"]


def test_event_keeps_a_location_given_with_its_facility(two_regions):
    event = DetentionEvent(
        case=make_case(),
        kind=EventKind.DETAINED,
        facility=two_regions["facility"],
        location=two_regions["prefecture"],
    )
    event.full_clean()
    assert event.location == two_regions["prefecture"]


@pytest.mark.django_db
def test_only_a_sentencing_event_has_a_sentence():
    event = DetentionEvent(case=make_case(), kind=EventKind.TRIED, sentence="15 years")
    assert validation_error_keys(event) == {"sentence"}


@pytest.mark.django_db
def test_sentencing_event_may_have_a_sentence():
    DetentionEvent(case=make_case(), kind=EventKind.SENTENCED, sentence="15 years").full_clean()


# --- vocabularies loaded by migration --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "article"),
    [("Treason", "102"), ("Inciting splitting the state", "103(2)")],
)
def test_charges_are_loaded_with_their_criminal_law_article(name, article):
    assert Charge.objects.get(name=name).article == article


@pytest.mark.django_db
def test_ili_prefecture_is_loaded_with_its_chinese_name():
    ili = Location.objects.get(name_en="Ili Kazakh Autonomous Prefecture")
    assert ili.name_zh == "伊犁哈萨克自治州"
    assert ili.kind == LocationKind.PREFECTURE


@pytest.mark.django_db
def test_ili_lies_within_xinjiang_which_lies_within_china():
    china = Location.objects.get(name_en="China", parent=None)
    xinjiang = Location.objects.get(name_en="Xinjiang Uyghur Autonomous Region")
    ili = Location.objects.within(xinjiang).filter(name_en="Ili Kazakh Autonomous Prefecture")
    assert ili.exists()
    assert Location.objects.within(china).filter(pk=xinjiang.pk).exists()


@pytest.mark.django_db
def test_kazakhstan_is_not_within_china():
    china = Location.objects.get(name_en="China", parent=None)
    assert not Location.objects.within(china).filter(name_en="Kazakhstan").exists()


@pytest.mark.django_db
def test_xinjiang_has_at_least_fourteen_prefectures():
    xinjiang = Location.objects.get(name_en="Xinjiang Uyghur Autonomous Region")
    prefectures = Location.objects.within(xinjiang).filter(kind=LocationKind.PREFECTURE)
    assert prefectures.count() >= 14
    assert set(prefectures.values_list("parent", flat=True)) == {xinjiang.pk}


@pytest.mark.django_db
def test_loaded_places_are_valid():
    xinjiang = Location.objects.get(name_en="Xinjiang Uyghur Autonomous Region")
    for place in Location.objects.within(xinjiang):
        place.full_clean()


# --- concurrency -----------------------------------------------------------------------------

THREADS, CASES_PER_THREAD = 8, 5


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_cases_created_concurrently_get_unique_consecutive_references():
    year = timezone.localdate().year
    start = (
        CaseReferenceCounter.objects.filter(year=year).values_list("last_number", flat=True).first()
        or 0
    )
    people = [make_person() for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    references, errors = [], []

    def create_cases(person):
        try:
            barrier.wait(timeout=30)
            for _ in range(CASES_PER_THREAD):
                references.append(Case.objects.create(person=person).reference)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_cases, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    total = THREADS * CASES_PER_THREAD
    assert len(set(references)) == total
    numbers = sorted(reference_number(r) for r in references)
    assert numbers == list(range(start + 1, start + total + 1))
    assert CaseReferenceCounter.objects.get(year=year).last_number == start + total
