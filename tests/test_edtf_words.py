"""Dates shown to people read as words in their language; the stored value stays EDTF."""

import pytest
from django.urls import reverse
from django.utils import translation

from casetracker.edtf import edtf_in_words
from tests.factories import make_case, make_event, make_source, person_named


@pytest.mark.parametrize(
    "value, words",
    [
        ("2024-04-05", "April 5, 2024"),
        ("2024-04", "April 2024"),
        ("2024", "2024"),
        ("2024-21", "spring 2024"),
        ("2024-24", "winter 2024"),
        ("2024-34", "quarter 2 of 2024"),
        ("2019/2023", "between 2019 and 2023"),
        ("2024-04~", "about April 2024"),
        ("~2024-04", "about April 2024"),
        ("2024-04?", "April 2024 (uncertain)"),
        ("2024-04%", "about April 2024 (uncertain)"),
        ("201X", "between 2010 and 2019"),
        ("19XX", "between 1900 and 1999"),
        ("2019/..", "2019 or later"),
        ("../2020", "2020 or earlier"),
        ("2019/", "from 2019, end unknown"),
        ("/2020", "until 2020, start unknown"),
        ("2019-03~/2020-06", "between about March 2019 and June 2020"),
        ("201X/2020", "between 2010–2019 and 2020"),
        ("2024-04-XX", "April 2024"),
        ("2024-XX", "2024"),
        ("", ""),
        (None, ""),
    ],
)
def test_english_words(value, words):
    with translation.override("en"):
        assert edtf_in_words(value) == words


@pytest.mark.parametrize("value", ["[2019,2020]", "Y170000002", "2024-13-01", "2024-02-30"])
def test_forms_it_does_not_render_are_shown_as_written(value):
    with translation.override("en"):
        assert edtf_in_words(value) == value


@pytest.mark.parametrize(
    "language, value, words",
    [
        ("ru", "2024-04-05", "5 апреля 2024 г."),
        ("zh-hans", "2024-04-05", "2024年4月5日"),
        ("zh-hans", "2024-04", "2024年4月"),
        ("kk", "2024-04-05", "05.04.2024"),
        ("kk", "2024-04", "Сәуір 2024 ж."),
    ],
)
def test_days_and_months_follow_the_languages_calendar_words(language, value, words):
    with translation.override(language):
        assert edtf_in_words(value) == words


# --- where people read dates -----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_lists_and_the_case_print_show_dates_in_words(admin_client):
    person = person_named("Kanat Yerezhep", birth_date="1975~")
    case = make_case(person=person)
    make_event(case=case, date="2019/2023")
    make_source("Radio report", published="2024-04")
    pages = {
        "admin:cases_detentionevent_changelist": (),
        "admin:people_person_changelist": (),
        "admin:sources_source_changelist": (),
        "admin:cases_case_print": (case.pk,),
    }
    text = "".join(
        admin_client.get(reverse(name, args=args)).content.decode() for name, args in pages.items()
    )
    assert "between 2019 and 2023" in text
    assert "about 1975" in text
    assert "April 2024" in text
    with translation.override("ru"):
        russian = edtf_in_words("2019/2023")
    page = admin_client.get(
        reverse("admin:cases_detentionevent_changelist"), HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert russian in page.content.decode()
