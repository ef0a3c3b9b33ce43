"""Data in the reader's language: places, organisations and charges named in the interface
language where the record has that name (English otherwise); people's names never translated,
but the spelling in the reader's script shown first."""

import pytest
from django.urls import reverse
from django.utils import translation

from cases.models import LocationKind, place_labels
from people.models import Person, PersonName
from tests.factories import (
    make_case,
    make_charge,
    make_event,
    make_organisation,
    person_named,
    seeded_place,
)

pytestmark = pytest.mark.django_db


def in_language(language, value):
    with translation.override(language):
        return str(value)


@pytest.fixture
def yining():
    # Shipped by the gazetteer with its names in four languages (cases 0008).
    return seeded_place("Ili Kazakh Autonomous Prefecture")


def test_a_place_is_named_in_the_interface_language(yining):
    assert in_language("en", yining) == "Ili Kazakh Autonomous Prefecture"
    assert in_language("kk", yining) == yining.name_kk != ""
    assert in_language("ru", yining) == yining.name_ru != ""
    assert in_language("zh-hans", yining) == yining.name_zh != ""


def test_a_place_without_a_name_in_the_language_falls_back_to_english(yining):
    yining.name_ru = ""
    assert in_language("ru", yining) == "Ili Kazakh Autonomous Prefecture"


def test_a_place_label_names_where_it_lies_in_the_same_language(yining):
    county = yining.children.filter(kind=LocationKind.COUNTY).exclude(name_ru="").first()
    with translation.override("ru"):
        label = place_labels([county])[county.pk]
    assert label == f"{county.name_ru} — {yining.name_ru}"


def test_an_organisation_is_named_in_the_interface_language():
    org = make_organisation(
        "Radio Free Asia", name_kk="Азат Азия радиосы", name_ru="Радио Свободная Азия"
    )
    org.abbreviation = "RFA"
    assert in_language("ru", org) == "Радио Свободная Азия (RFA)"
    assert in_language("kk", org) == "Азат Азия радиосы (RFA)"
    assert in_language("zh-hans", org) == "Radio Free Asia (RFA)"  # no Chinese name: English


def test_a_charge_has_its_chinese_name_for_chinese_readers():
    charge = make_charge("Inciting separatism", name_zh="煽动分裂国家罪", article="103(2)")
    assert in_language("zh-hans", charge).startswith("煽动分裂国家罪")
    assert in_language("ru", charge).startswith("Inciting separatism")


def test_a_persons_name_comes_in_the_readers_script_first():
    person = person_named("Kanat Yerezhep", "Қанат Ережеп", "哈那提·叶尔扎甫")
    assert person.names_by_script == {
        "Latn": "Kanat Yerezhep",
        "Cyrl": "Қанат Ережеп",
        "Hans": "哈那提·叶尔扎甫",
    }
    assert in_language("en", person) == "Kanat Yerezhep"
    assert in_language("kk", person) == "Қанат Ережеп"
    assert in_language("ru", person) == "Қанат Ережеп"
    assert in_language("zh-hans", person) == "哈那提·叶尔扎甫"


def test_a_person_without_a_spelling_in_the_readers_script_shows_the_preferred_one():
    person = person_named("Kanat Yerezhep")
    assert in_language("zh-hans", person) == "Kanat Yerezhep"


def test_the_spellings_follow_names_added_removed_and_preferred():
    person = person_named("Kanat Yerezhep")
    name = PersonName.objects.create(person=person, name="Қанат Ережеп", language="kk")
    person.refresh_from_db()
    assert person.names_by_script["Cyrl"] == "Қанат Ережеп"
    person.names.update(is_preferred=False)
    preferred = PersonName.objects.create(
        person=person, name="Канат Ережеп", language="ru", is_preferred=True
    )
    person.refresh_from_db()
    assert person.names_by_script["Cyrl"] == "Канат Ережеп"
    assert person.display_name == "Канат Ережеп"
    preferred.delete()
    name.delete()
    person.refresh_from_db()
    assert "Cyrl" not in person.names_by_script


def test_names_written_in_bulk_keep_the_spellings_too():
    person = Person.objects.create()
    PersonName.objects.bulk_create(
        [
            PersonName(person=person, name="Kanat Yerezhep", language="en", is_preferred=True),
            PersonName(person=person, name="Қанат Ережеп", language="kk"),
        ]
    )
    person.refresh_from_db()
    assert person.display_name == "Kanat Yerezhep"
    assert person.names_by_script == {"Latn": "Kanat Yerezhep", "Cyrl": "Қанат Ережеп"}


def test_admin_pages_show_the_readers_names(admin_client, yining):
    person = person_named("Kanat Yerezhep", "Қанат Ережеп")
    case = make_case(person=person)
    make_event(case=case, location=yining)
    page = admin_client.get(
        reverse("admin:cases_case_changelist"), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()
    assert "Қанат Ережеп" in page
    page = admin_client.get(
        reverse("admin:cases_case_change", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert yining.name_zh in page
