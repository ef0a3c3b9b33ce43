"""The person page in the admin: it starts with the names, a name's language follows its
script, and the possible-duplicates warning sits at the top with its checkbox."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from people.admin import CONFIRM_FIELD
from people.models import NameKind, Person, PersonName
from tests.admin_forms import AdminForm, assert_saved, errors_of
from tests.factories import person_named

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:people_person_add")

KANAT = "Қанат Ережеп"
KANAT_ZH = "卡纳提·叶热杰普"
KANAT_ARAB = "قانات ەرەجەپ"


def names_formset(response):
    (names,) = [
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is PersonName
    ]
    return names


def position(html, needle):
    assert needle in html, needle
    return html.index(needle)


def add_person(client, *rows, **fields):
    """POST the add page with these name rows (dicts of field → value) as a browser would."""
    page = AdminForm(client, ADD_URL)
    for row in rows:
        page.add_row(PersonName, **row)
    return page.post(**fields)


# --- the page starts with the names ----------------------------------------------------------


def test_the_add_page_shows_the_names_before_the_persons_fields(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    assert position(html, 'id="names-group"') < position(html, 'name="gender"')
    # The other inlines keep their place, below the person's fields.
    assert position(html, 'name="internal_notes"') < position(html, 'id="affiliations-group"')


def test_the_add_page_has_exactly_one_blank_name_row(admin_client):
    response = admin_client.get(ADD_URL)
    html = response.content.decode()
    assert len(names_formset(response).forms) == 1
    assert 'name="names-0-name"' in html
    assert 'name="names-1-name"' not in html


def test_the_blank_name_row_is_the_preferred_name(admin_client):
    (row,) = names_formset(admin_client.get(ADD_URL)).forms
    assert row["is_preferred"].value() is True


def test_a_new_name_row_presets_neither_language_nor_kind(admin_client):
    (row,) = names_formset(admin_client.get(ADD_URL)).forms
    assert not row["language"].value()
    assert not row["kind"].value()


def test_the_change_page_adds_no_blank_name_row(admin_client):
    person = person_named(KANAT, "Kanat Yerezhep")
    response = admin_client.get(reverse("admin:people_person_change", args=[person.pk]))
    html = response.content.decode()
    assert len(names_formset(response).forms) == 2
    assert 'name="names-2-name"' not in html
    assert 'id="names-empty"' in html  # the row "Add another name" copies


def test_the_change_page_shows_the_names_first_too(admin_client):
    person = person_named(KANAT)
    html = admin_client.get(reverse("admin:people_person_change", args=[person.pk])).content
    html = html.decode()
    assert position(html, 'id="names-group"') < position(html, 'name="gender"')


def test_the_confirmation_to_reopen_verified_cases_stays_above_the_names(admin_client):
    person = person_named(KANAT)
    page = AdminForm(admin_client, reverse("admin:people_person_change", args=[person.pk]))
    response = page.post(birth_date="not a date", confirm_reopen="on")
    assert response.status_code == 200
    html = response.content.decode()
    reopen = position(html, 'name="confirm_reopen"')
    assert reopen < position(html, 'id="names-group"') < position(html, 'name="gender"')


# --- a name's language follows its script ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "language"),
    [(KANAT, "kk"), (KANAT_ZH, "zh"), ("卡納提", "zh"), (KANAT_ARAB, "kk")],
)
def test_a_name_left_without_a_language_takes_the_language_of_its_script(name, language):
    entry = PersonName(person=person_named("Aigul"), name=name, language="")
    entry.full_clean()
    entry.save()
    entry.refresh_from_db()
    assert entry.language == language


@pytest.mark.parametrize(("name", "language"), [(KANAT, "kk"), (KANAT_ZH, "zh")])
def test_a_name_saved_without_clean_takes_the_language_of_its_script(name, language):
    entry = PersonName.objects.create(person=person_named("Aigul"), name=name, language="")
    entry.refresh_from_db()
    assert entry.language == language


def test_a_language_chosen_is_kept_whatever_the_script():
    entry = PersonName(person=person_named("Aigul"), name="Канат Ережепов", language="ru", kind="")
    entry.full_clean()
    assert (entry.language, entry.kind) == ("ru", NameKind.NATIVE)


@pytest.mark.parametrize(
    ("name", "language", "kind"),
    [
        (KANAT, "", NameKind.NATIVE),
        (KANAT_ARAB, "", NameKind.NATIVE),
        (KANAT_ZH, "", NameKind.OFFICIAL_CHINESE),
        ("Kanat Yerezhep", "en", NameKind.TRANSLITERATION),
    ],
)
def test_a_name_left_without_a_kind_takes_the_kind_its_script_has_in_imports(name, language, kind):
    entry = PersonName(person=person_named("Aigul"), name=name, language=language)
    entry.full_clean()
    assert entry.kind == kind


def test_a_latin_name_without_a_language_is_refused_on_the_language_field():
    entry = PersonName(person=person_named("Aigul"), name="Kanat Yerezhep", language="")
    with pytest.raises(ValidationError) as refused:
        entry.full_clean()
    assert list(refused.value.error_dict) == ["language"]
    assert "Latin" in str(refused.value.error_dict["language"])


def test_a_latin_name_without_a_language_is_refused_on_save_too():
    with pytest.raises(ValidationError):
        PersonName.objects.create(person=person_named("Aigul"), name="Kanat Yerezhep")
    assert not PersonName.objects.filter(name="Kanat Yerezhep").exists()


def test_the_admin_saves_names_left_without_a_language_in_the_language_of_their_script(
    admin_client,
):
    response = add_person(
        admin_client,
        {"name": KANAT, "is_preferred": "on"},
        {"name": KANAT_ZH},
        {"name": KANAT_ARAB},
    )
    assert_saved(response)
    names = Person.objects.get().names.all()
    assert {(n.name, n.language) for n in names} == {
        (KANAT, "kk"),
        (KANAT_ZH, "zh"),
        (KANAT_ARAB, "kk"),
    }


def test_a_spelling_the_person_has_is_refused_when_its_language_comes_from_the_script(
    admin_client,
):
    person = person_named(KANAT)
    page = AdminForm(admin_client, reverse("admin:people_person_change", args=[person.pk]))
    page.add_row(PersonName, name=KANAT, language="")
    response = page.post()
    assert response.status_code == 200
    assert any("name and language" in str(error) for error in errors_of(response))
    assert person.names.count() == 1


def test_the_admin_refuses_a_latin_name_without_a_language_on_its_language_field(admin_client):
    response = add_person(admin_client, {"name": "Kanat Yerezhep", "is_preferred": "on"})
    assert response.status_code == 200
    (row,) = names_formset(response).forms
    assert list(row.errors) == ["language"]
    assert not Person.objects.exists()


# --- the possible-duplicates warning ---------------------------------------------------------


@pytest.fixture
def kanat():
    return person_named("Kanat Yerezhep", KANAT, KANAT_ARAB, birth_date="1960")


def a_likely_duplicate(client, **fields):
    return add_person(
        client, {"name": "Qanat Erejep", "language": "kk", "is_preferred": "on"}, **fields
    )


def warning_of(html):
    """The text of the possible-duplicates fieldset's description."""
    match = re.search(
        r'class="module aligned likely-duplicates".*?<div class="description">'
        r"(.*?)</div>",
        html,
        re.S,
    )
    assert match, "no possible-duplicates warning"
    return match


def test_the_duplicates_warning_and_its_checkbox_come_first(admin_client, kanat):
    response = a_likely_duplicate(admin_client)
    html = response.content.decode()
    warning = warning_of(html)
    checkbox = position(html, f'name="{CONFIRM_FIELD}"')
    assert position(html, 'class="errornote"') < warning.start() < checkbox
    assert checkbox < position(html, 'id="names-group"') < position(html, 'name="gender"')


def test_the_duplicates_warning_lists_the_matches(admin_client, kanat):
    html = a_likely_duplicate(admin_client).content.decode()
    assert reverse("admin:people_person_change", args=[kanat.pk]) in warning_of(html).group(1)


def test_the_duplicates_warning_says_below_only_if_the_checkbox_is_below(admin_client, kanat):
    html = a_likely_duplicate(admin_client).content.decode()
    warning = warning_of(html)
    if "below" in warning.group(1):
        assert warning.end() < position(html, f'name="{CONFIRM_FIELD}"')
    names_error = errors_of(a_likely_duplicate(admin_client))
    assert not any("below" in str(error) for error in names_error)


def test_no_duplicates_checkbox_without_matches(admin_client):
    assert f'name="{CONFIRM_FIELD}"' not in admin_client.get(ADD_URL).content.decode()


def test_a_ticked_box_stays_with_the_matches_when_another_error_shows_the_page_again(
    admin_client, kanat
):
    response = add_person(
        admin_client,
        {"name": "Qanat Erejep", "language": "kk", "is_preferred": "on"},
        {"name": "Kanat Y."},
        **{CONFIRM_FIELD: "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    warning = warning_of(html)
    checkbox = re.search(rf'<input[^>]*name="{CONFIRM_FIELD}"[^>]*>', html).group(0)
    assert warning.end() < html.index(checkbox) < position(html, 'id="names-group"')
    assert "checked" in checkbox
