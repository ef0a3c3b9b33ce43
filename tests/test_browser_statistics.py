"""The staff statistics page (/admin/statistics/) in a real browser (tests/browser.py):
its charts are inline SVG drawn on the server, each beside a table of the same numbers, every
bar a link to the case list of the cases it counts. In each interface language the page loads
without a Content-Security-Policy violation or a console error, counts the cases the reader
may see and draws one chart per breakdown, headed in that language; from the case list,
"Statistics of these cases" counts what the list shows, and a bar leads back to a list of
exactly as many cases as it counts; on a narrow screen the charts, and the maps the place
breakdowns draw (the places here have coordinates), shrink to fit.

The expected counts are worked out by hand from the cases written here. English the
translation missed fails the test, and is kept in
var/browser-artifacts/<test name>/english-left.txt. Screenshots of every step:
var/browser-artifacts/<test name>/."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from selenium.webdriver.common.by import By

from cases.models import CaseStatus, LocationKind
from casetracker.roles import DATA_ENTRY
from figures import breakdowns
from people.models import Consent, Ethnicity, Gender
from tests.browser import PASSWORD, with_password
from tests.factories import (
    make_case,
    make_charge,
    make_event,
    make_location,
    make_person,
    staff_in,
)
from tests.test_browser_languages import LANGUAGES, html_lang, press, switch_language
from tests.test_statistics import case_of
from tests.translated_pages import data_words, english_left

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]

USERNAME = "data_entry"
STATISTICS = reverse("staff-statistics")
CASE_LIST = reverse("admin:cases_case_changelist")

# What the reader (data entry: no sensitive case unless assigned) counts, by hand from the
# cases below: the six published cases and the draft; never the sensitive one nor the
# archived one.
TOTAL = 7
SENTENCED = {"a", "e", "f"}
SENTENCED_KAZAKH = {"a", "e"}
# Breakdown labels that the catalogues translated before the staff page existed (the partner
# API's statistics already used them): the page must show them in the reader's language.
TRANSLATED_LABELS = {
    "status": "Current situation",
    "ethnicity": "Ethnicity",
    "gender": "Gender",
}
NARROW = 480  # pixels: a phone held upright


# --- the cases counted ------------------------------------------------------------------------


@pytest.fixture
def staff():
    """Data entry staff: may see (and so count) every case but sensitive ones."""
    return with_password(staff_in(DATA_ENTRY, USERNAME))


def at(latitude, longitude) -> dict:
    return {"latitude": Decimal(str(latitude)), "longitude": Decimal(str(longitude))}


@pytest.fixture
def gazetteer():
    """Places of their own, with coordinates (for a map of places): the gazetteer's shipped
    places are gone after a browser test (a transactional test empties every table;
    vocabularies_kept puts them back only once the module is done)."""
    country = make_location("Dolqun", LocationKind.COUNTRY)
    region = make_location("Shinjang", LocationKind.REGION, country)
    north = make_location("Ile", LocationKind.PREFECTURE, region, **at(43.9, 81.3))
    south = make_location("Qumul", LocationKind.PREFECTURE, region, **at(42.8, 93.5))
    return {
        "north": north,
        "river": make_location("Tekes", LocationKind.COUNTY, north, **at(43.2, 81.8)),
        "lake": make_location("Barkol", LocationKind.COUNTY, south, **at(43.6, 93.0)),
        "camp": make_location("Qaramay", LocationKind.FACILITY, north, facility_type="prison"),
    }


@pytest.fixture
def cases(staff, gazetteer):
    """Published cases with dates, places, charges and sentences; a draft; and two cases
    the reader never counts (a sensitive one they are not assigned to, an archived one)."""
    treason = make_charge("Vatan", article="102")
    split = make_charge("Bolgunchi", article="103")
    g = gazetteer
    made = {
        "a": case_of(
            status=CaseStatus.SENTENCED,
            birth="1980",
            origin=g["river"],
            events=[
                ("detained", "2018-03", {"facility": g["camp"], "charges": [treason]}),
                ("family_notified", "2018-07", {}),
                ("sentenced", "2019-06", {"sentence": "15 years", "charges": [treason, split]}),
            ],
        ),
        "b": case_of(
            status=CaseStatus.DETAINED,
            ethnicity=Ethnicity.UYGHUR,
            gender=Gender.FEMALE,
            birth="1990/1992",
            events=[("detained", "2019/2021", {"location": g["river"]})],
        ),
        "c": case_of(
            status=CaseStatus.RELEASED,
            gender=Gender.FEMALE,
            birth="1960-05-05",
            events=[
                ("detained", "2017-06-01", {"location": g["lake"]}),
                ("released", "2018-01", {}),
            ],
        ),
        "d": case_of(status=CaseStatus.DISAPPEARED, events=[("disappeared", "", {})]),
        "e": case_of(
            status=CaseStatus.SENTENCED,
            origin=g["lake"],
            events=[("detained", "2022/..", {}), ("sentenced", "", {"sentence": "life"})],
        ),
        "f": case_of(
            status=CaseStatus.SENTENCED,
            ethnicity=Ethnicity.UYGHUR,
            events=[
                ("detained", "2020-02", {"location": g["north"], "charges": [split]}),
                ("sentenced", "2021", {"sentence": "10 years"}),
            ],
        ),
    }
    # Counted: a draft, not yet published.
    draft = make_case(make_person(consent=Consent.GRANTED, ethnicity=Ethnicity.HUI))
    make_event(draft, kind="detained", date="2017", location=g["lake"])
    made["draft"] = draft
    # Never counted by this reader: a sensitive sentenced case (not assigned to them) and an
    # archived one.
    case_of(
        status=CaseStatus.SENTENCED,
        events=[("sentenced", "2019", {"sentence": "5 years"})],
        sensitive=True,
    )
    case_of(events=[("detained", "2017", {"location": g["lake"]})], archived_at=timezone.now())
    return made


# --- reading the pages ----------------------------------------------------------------------


def find(browser, selector, within=None):
    return (within or browser.driver).find_element(By.CSS_SELECTOR, selector)


def find_all(browser, selector, within=None):
    return (within or browser.driver).find_elements(By.CSS_SELECTOR, selector)


def content(element) -> str:
    """The element's text as written, whatever the style does to it (capitals, hiding)."""
    return " ".join((element.get_attribute("textContent") or "").split())


def total_counted(browser) -> int:
    text = content(find(browser, ".statistics-total"))
    numbers = re.findall(r"\d+", text)
    assert len(numbers) == 1, f"the total reads {text!r}"
    return int(numbers[0])


def count_in(title: str) -> int:
    """The count a bar's tooltip gives: "label: count"."""
    return int(title.rsplit(": ", 1)[1])


def listed(browser) -> list[str]:
    """The references of the cases the case list shows (one page: these are few)."""
    return [content(cell) for cell in find_all(browser, "#result_list tbody tr th a")]


def translated(message: str, language: str) -> str:
    with translation.override(language):
        return gettext(message)


def sign_in_in(browser, language):
    """Sign in through the login form, then choose the language with the switcher, as staff
    do; the pages after it are in that language."""
    browser.sign_in(USERNAME, PASSWORD)
    switch_language(browser, language, f"home page in {language}")


# A name, the same in every language: the source of the map's country outlines.
NAMES_ALIKE = {"Natural", "Earth"}


def keep_english_left(browser, language, step, allowed) -> list[str]:
    """English the translation missed on the page shown: kept in the test's artifacts and
    returned."""
    if language == "en":
        return []
    lines = english_left(browser.driver.page_source, allowed)
    if not lines:
        return []
    with (browser.artifacts / "english-left.txt").open("a", encoding="utf-8") as out:
        out.writelines(f"{language} {step}: {line}\n" for line in lines)
    return lines


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_statistics_page_draws_every_breakdown_in_the_language_chosen(
    browser, staff, cases, language
):
    sign_in_in(browser, language)
    browser.visit(STATISTICS, "statistics page")
    assert html_lang(browser) == language

    # Every case the reader may see, and no other.
    assert total_counted(browser) == TOTAL

    # One chart per breakdown, each with at least one bar, beside a table of the same numbers.
    sections = find_all(browser, "section.statistics-breakdown")
    assert [s.get_attribute("id") for s in sections] == breakdowns.STAFF_NAMES
    for section in sections:
        name = section.get_attribute("id")
        charts = find_all(browser, "figure.statistics-chart svg", section)
        assert len(charts) == 1, f"{name}: {len(charts)} charts"
        bars = find_all(browser, "g.bar", charts[0])
        assert find_all(browser, "g.bar rect", charts[0]), f"{name}: no bar"
        # The same numbers (the chart may order its rows otherwise: "unknown" last).
        drawn = sorted(content(find(browser, "title", bar)) for bar in bars)
        tabled = sorted(
            f"{content(find(browser, 'th bdi', row))}: {content(find(browser, 'td', row))}"
            for row in find_all(browser, ".statistics-table tbody tr", section)
        )
        assert drawn == tabled, f"{name}: the chart draws {drawn}, the table says {tabled}"
        csv = find(browser, ".statistics-download a", section).get_attribute("href")
        assert "_export=csv" in csv and f"_breakdown={name}" in csv, csv

    # The headings in the reader's language: the page's title, and breakdown labels the
    # catalogues had before this page (a missing translation would leave them in English).
    title = translated("Statistics", language)
    if language != "en":
        assert title != "Statistics", f"no {language} translation of 'Statistics'"
    assert content(find(browser, "#content h1")) == title
    assert title in browser.driver.title
    for name, label in TRANSLATED_LABELS.items():
        expected = translated(label, language)
        if language != "en":
            assert expected != label, f"no {language} translation of {label!r}"
        assert content(find(browser, f"#{name}-heading")) == expected
        assert content(find(browser, f"#{name} .statistics-table caption")) == expected

    english = keep_english_left(browser, language, "statistics page", data_words() | NAMES_ALIKE)
    assert not english, f"English left on the {language} statistics page: {english}"
    browser.assert_clean()


def test_statistics_of_a_filtered_case_list_and_a_bar_back_to_its_cases(browser, staff, cases):
    browser.sign_in(USERNAME, PASSWORD)
    browser.visit(f"{CASE_LIST}?status__exact=sentenced", "sentenced cases")
    sentenced = {cases[key].reference for key in SENTENCED}
    assert set(listed(browser)) == sentenced  # not the sensitive one: need to know

    # "Statistics of these cases" carries the list's filter to the statistics page.
    press(
        browser,
        f'.object-tools a[href^="{STATISTICS}"]',
        "statistics of the sentenced cases",
        until=lambda driver: STATISTICS in driver.current_url,
    )
    assert "status__exact=sentenced" in browser.driver.current_url
    assert total_counted(browser) == len(sentenced)

    # The Kazakh bar of the ethnicity chart counts two of them, as does its table row...
    kazakh = 'a[href*="counted_in=ethnicity%3Akazakh"]'
    (bar,) = [g for g in find_all(browser, "#ethnicity svg g.bar") if find_all(browser, kazakh, g)]
    count = count_in(content(find(browser, "title", bar)))  # "Kazakh: 2"
    assert count == len(SENTENCED_KAZAKH)
    row = find(browser, '#ethnicity .statistics-table a[href*="counted_in=ethnicity%3Akazakh"]')
    assert int(content(row)) == count
    # ...and leads to the case list of exactly those, the list's own filter kept.
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", bar)
    press(
        browser,
        f"#ethnicity svg g.bar {kazakh} rect",
        "the cases of the Kazakh bar",
        until=lambda driver: "counted_in=" in driver.current_url,
    )
    assert browser.driver.current_url.startswith(browser.url(CASE_LIST))
    assert "status__exact=sentenced" in browser.driver.current_url
    shown = listed(browser)
    assert len(shown) == count
    assert set(shown) == {cases[key].reference for key in SENTENCED_KAZAKH}

    browser.assert_clean()


def test_the_charts_fit_a_narrow_window(browser, staff, cases):
    browser.sign_in(USERNAME, PASSWORD)
    driver = browser.driver
    size = driver.get_window_size()
    try:
        driver.set_window_size(NARROW, size["height"])
        browser.visit(STATISTICS, "statistics page, narrow")
        width = driver.execute_script("return window.innerWidth")
        assert width <= NARROW, f"the window is {width} pixels wide"

        # Each chart (and map) is no wider than its box, and scaled down from its drawing
        # (640 units wide).
        boxes = driver.execute_script(
            """
            return Array.from(document.querySelectorAll('.statistics-breakdown figure svg'),
              svg => {
                const chart = svg.getBoundingClientRect();
                const box = svg.parentElement.getBoundingClientRect();
                return {name: svg.closest('section').id, kind: svg.parentElement.className,
                        left: chart.left,
                        right: chart.right, width: chart.width,
                        box_left: box.left, box_right: box.right, box_width: box.width};
              });
            """
        )
        charts = find_all(browser, "figure.statistics-chart svg")
        assert len(charts) == len(breakdowns.STAFF_NAMES)
        assert len(boxes) >= len(charts)  # the charts, and the maps of places if any
        # A look at one chart as drawn, for the artifacts.
        driver.execute_script("document.getElementById('ethnicity').scrollIntoView()")
        driver.save_screenshot(str(browser.artifacts / "ethnicity-chart-narrow.png"))
        too_wide = [
            f"{b['name']}: {b['kind']} {b['width']}px wide from {b['left']} to {b['right']}, "
            f"in a box {b['box_width']}px wide from {b['box_left']} to {b['box_right']}"
            for b in boxes
            if b["width"] > b["box_width"] + 0.5
            or b["left"] < b["box_left"] - 0.5
            or b["right"] > min(b["box_right"], width) + 0.5
            or b["width"] >= 640  # scaled to the window, not drawn at its own size
        ]
        # Nothing makes the page scroll sideways.
        *page, room = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.body.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        if max(page) > room:
            too_wide.append(f"the page is {max(page)}px wide in a window {room}px wide")
        assert not too_wide, "wider than the window allows:\n" + "\n".join(too_wide)
    finally:
        driver.set_window_size(size["width"], size["height"])

    browser.assert_clean()
