"""People, their names in several scripts, and the organisations and people around them."""

import pytest
from django.core.exceptions import ValidationError

from people.models import (
    Affiliation,
    Person,
    PersonName,
    Relationship,
    RelationshipKind,
    validate_country_codes,
)
from tests.factories import make_organisation, make_person, raises_constraint

pytestmark = pytest.mark.django_db


def display_name_of(person):
    return Person.objects.values_list("display_name", flat=True).get(pk=person.pk)


def add_name(person, name, **kw):
    kw.setdefault("language", "kk")
    return PersonName.objects.create(person=person, name=name, **kw)


# --- preferred names -------------------------------------------------------------------------


def test_person_cannot_have_two_preferred_names_in_the_database():
    person = make_person("Kanat Yerezhep")
    with raises_constraint("people_personname_one_preferred_per_person"):
        add_name(person, "Қанат Ережеп", is_preferred=True)
    assert person.names.filter(is_preferred=True).count() == 1


def test_full_clean_refuses_a_second_preferred_name_with_the_constraint_message():
    person = make_person("Kanat Yerezhep")
    second = PersonName(person=person, name="Қанат Ережеп", language="kk", is_preferred=True)
    with pytest.raises(ValidationError) as excinfo:
        second.full_clean()
    assert "A person can have only one preferred name." in excinfo.value.messages


def test_validate_constraints_refuses_a_second_preferred_name():
    person = make_person("Kanat Yerezhep")
    second = PersonName(person=person, name="Қанат Ережеп", language="kk", is_preferred=True)
    with pytest.raises(ValidationError, match="only one preferred name"):
        second.validate_constraints()


def test_the_preferred_name_itself_passes_validation():
    person = make_person("Kanat Yerezhep")
    person.names.get().full_clean()


def test_two_people_may_each_have_a_preferred_name():
    first, second = make_person("Kanat Yerezhep"), make_person("Kanat Yerezhep")
    assert PersonName.objects.filter(is_preferred=True, person__in=[first, second]).count() == 2


def test_a_person_may_have_several_names_that_are_not_preferred():
    person = make_person("Kanat Yerezhep")
    add_name(person, "Қанат Ережеп")
    add_name(person, "قانات ەرەجەپ")
    add_name(person, "卡纳提", language="zh")
    assert person.names.filter(is_preferred=False).count() == 3


# --- scripts and search forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("Қанат Ережеп", "Cyrl"),
        ("قانات ەرەجەپ", "Arab"),
        ("卡纳提", "Hans"),
        ("Kanat", "Latn"),
    ],
)
def test_script_is_detected_when_left_empty(name, script):
    saved = add_name(make_person(), name)
    assert PersonName.objects.get(pk=saved.pk).script == script


def test_script_is_detected_by_full_clean_when_left_empty():
    name = PersonName(person=make_person(), name="Қанат Ережеп")
    name.full_clean()
    assert name.script == "Cyrl"


def test_script_given_by_staff_is_kept_when_it_matches():
    saved = add_name(make_person(), "卡纳提", script="Hant", language="zh")
    assert PersonName.objects.get(pk=saved.pk).script == "Hant"


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("Kanat Yerezhep", "Cyrl"),
        ("Қанат Ережеп", "Latn"),
        ("قانات ەرەجەپ", "Cyrl"),
        ("Kanat Yerezhep", "Hans"),
    ],
)
def test_clean_rejects_a_script_that_contradicts_the_letters(name, script):
    entry = PersonName(person=make_person(), name=name, script=script)
    with pytest.raises(ValidationError) as excinfo:
        entry.full_clean()
    assert "script" in excinfo.value.error_dict


def test_clean_rejects_latin_script_for_a_name_in_chinese_characters():
    entry = PersonName(person=make_person(), name="卡纳提", script="Latn", language="zh")
    with pytest.raises(ValidationError) as excinfo:
        entry.full_clean()
    assert "script" in excinfo.value.error_dict


def test_clean_rejects_a_name_of_only_spaces():
    entry = PersonName(person=make_person(), name="   ")
    with pytest.raises(ValidationError) as excinfo:
        entry.full_clean()
    assert "name" in excinfo.value.error_dict


def test_clean_collapses_runs_of_spaces_in_a_name():
    entry = PersonName(person=make_person(), name="  Қанат   Ережеп ")
    entry.full_clean()
    assert entry.name == "Қанат Ережеп"


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Қанат·Ережеп", "қанат ережеп"),
        ("ҚАНАТ  ЕРЕЖЕП", "қанат ережеп"),
        ("Kanat-Yerezhep", "kanat yerezhep"),
        ("Kanat_Yerezhep.", "kanat yerezhep"),
    ],
)
def test_search_name_folds_case_and_separators(name, folded):
    saved = add_name(make_person(), name)
    assert PersonName.objects.get(pk=saved.pk).search_name == folded


def test_search_name_follows_a_corrected_spelling():
    entry = add_name(make_person(), "Қанат Ережеп")
    entry.name = "Қанат Ержан"
    entry.save()
    assert PersonName.objects.get(pk=entry.pk).search_name == "қанат ержан"


# --- display name ----------------------------------------------------------------------------


def test_person_without_names_has_an_empty_display_name():
    assert display_name_of(Person.objects.create()) == ""


def test_display_name_is_the_first_name_entered_when_none_is_preferred():
    person = Person.objects.create()
    add_name(person, "Қанат Ережеп")
    add_name(person, "Kanat", language="en")
    assert display_name_of(person) == "Қанат Ережеп"


def test_display_name_follows_a_preferred_name_added_later():
    person = Person.objects.create()
    add_name(person, "Қанат Ережеп")
    add_name(person, "Kanat Yerezhep", language="en", is_preferred=True)
    assert display_name_of(person) == "Kanat Yerezhep"


def test_display_name_is_unchanged_by_adding_a_name_that_is_not_preferred():
    person = make_person("Kanat Yerezhep")
    add_name(person, "Қанат Ережеп")
    assert display_name_of(person) == "Kanat Yerezhep"


def test_display_name_follows_a_corrected_preferred_name():
    person = make_person("Kanat Yerezhep")
    preferred = person.names.get(is_preferred=True)
    preferred.name = "Kanat Yerezhepuly"
    preferred.save()
    assert display_name_of(person) == "Kanat Yerezhepuly"


def test_display_name_follows_when_another_name_becomes_preferred():
    person = make_person("Kanat Yerezhep")
    other = add_name(person, "Қанат Ережеп")
    old = person.names.get(is_preferred=True)
    old.is_preferred = False
    old.save()
    other.is_preferred = True
    other.save()
    assert display_name_of(person) == "Қанат Ережеп"


def test_display_name_falls_back_when_the_preferred_name_is_deleted():
    person = make_person("Kanat Yerezhep")
    add_name(person, "Қанат Ережеп")
    person.names.get(is_preferred=True).delete()
    assert display_name_of(person) == "Қанат Ережеп"


def test_display_name_is_emptied_when_the_last_name_is_deleted():
    person = make_person("Kanat Yerezhep")
    person.names.get().delete()
    assert display_name_of(person) == ""


# --- relationships ---------------------------------------------------------------------------


def test_person_cannot_be_related_to_themselves():
    person = make_person()
    with raises_constraint("people_relationship_not_with_self"):
        Relationship.objects.create(
            from_person=person, to_person=person, kind=RelationshipKind.SPOUSE_OF
        )


def test_relationship_between_two_people_is_recorded():
    parent, child = make_person(), make_person()
    Relationship.objects.create(
        from_person=parent, to_person=child, kind=RelationshipKind.PARENT_OF
    )
    assert parent.relationships.get().to_person == child


def test_full_clean_refuses_a_relationship_recorded_twice():
    # The kind is encrypted, so no unique constraint: clean() compares the decrypted kinds.
    parent, child = make_person(), make_person()
    Relationship.objects.create(
        from_person=parent, to_person=child, kind=RelationshipKind.PARENT_OF
    )
    twice = Relationship(from_person=parent, to_person=child, kind=RelationshipKind.PARENT_OF)
    with pytest.raises(ValidationError, match="already recorded"):
        twice.full_clean()
    Relationship(
        from_person=parent, to_person=child, kind=RelationshipKind.TESTIFIER_OF
    ).full_clean()


def test_full_clean_refuses_a_relationship_with_oneself():
    person = make_person()
    relationship = Relationship(
        from_person=person, to_person=person, kind=RelationshipKind.SIBLING_OF
    )
    with pytest.raises(ValidationError, match="cannot be related to themselves"):
        relationship.full_clean()


# --- affiliations ----------------------------------------------------------------------------


def make_affiliation(**kw):
    kw.setdefault("person", make_person())
    kw.setdefault("organisation", make_organisation())
    kw.setdefault("role", "Director")
    return Affiliation(**kw)


def test_affiliation_ending_before_it_starts_fails_clean():
    affiliation = make_affiliation(start="2020", end="2019")
    with pytest.raises(ValidationError) as excinfo:
        affiliation.full_clean()
    assert "end" in excinfo.value.error_dict


def test_affiliation_ending_before_it_starts_is_refused_by_the_database():
    affiliation = make_affiliation(start="2020", end="2019")
    with raises_constraint("people_affiliation_starts_before_it_ends"):
        affiliation.save()
    assert not Affiliation.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [("2015", "2019"), ("2019-03", "2019"), ("2015", ""), ("", "2019"), ("2015/..", "2018")],
)
def test_affiliation_that_may_have_run_forwards_is_accepted(start, end):
    affiliation = make_affiliation(start=start, end=end)
    affiliation.full_clean()
    affiliation.save()


# --- citizenship -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["CN", "KZ", "CN KZ"])
def test_citizenship_accepts_country_codes_separated_by_spaces(value):
    validate_country_codes(value)
    Person(citizenship=value).full_clean()


@pytest.mark.parametrize("value", ["china", "cn", "CN,KZ", "CN  KZ", "CHN", "CN "])
def test_citizenship_rejects_anything_but_country_codes(value):
    with pytest.raises(ValidationError) as excinfo:
        Person(citizenship=value).full_clean()
    assert "citizenship" in excinfo.value.error_dict


# --- organisations ---------------------------------------------------------------------------


def test_organisation_cannot_be_its_own_parent():
    organisation = make_organisation()
    organisation.parent = organisation
    with pytest.raises(ValidationError) as excinfo:
        organisation.clean()
    assert "parent" in excinfo.value.error_dict


def test_organisation_cannot_be_part_of_its_own_child():
    parent = make_organisation("Xinjiang Daily")
    child = make_organisation("Kazakh edition", parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as excinfo:
        parent.clean()
    assert "parent" in excinfo.value.error_dict


def test_organisation_may_be_part_of_another():
    parent = make_organisation("Xinjiang Daily")
    child = make_organisation("Kazakh edition", parent=parent)
    child.full_clean()


def test_database_refuses_an_organisation_that_is_its_own_parent():
    organisation = make_organisation()
    with raises_constraint("people_organisation_not_own_parent"):
        type(organisation).objects.filter(pk=organisation.pk).update(parent=organisation)
