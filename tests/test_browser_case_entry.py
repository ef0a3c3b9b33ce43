"""The workbench's acceptance walkthrough in a real browser (tests/browser.py): the demo case
(shared seed: Kanat Yerezhep, detained between 2019 and 2023, family told in April 2024) is
entered on one page, submitted, verified, held back from publication by its evidence level,
corroborated, verified again, published, and read by a partner through the API.

Page loads are counted from Chromium's own network log, in every window: each document the
browser received (a page, a popup's page, the answer to a popup's form) is one
``Network.responseReceived`` event of type ``Document``; a redirect and its target are one load,
since the browser reports only the response it shows. Every page visited is checked for
Content-Security-Policy violations and console errors; screenshots of each step are kept under
var/browser-artifacts/<test name>/ (README "Entering a case" shows three of them).
"""

import json
import urllib.request

import pytest
from django.urls import reverse

from api.models import Partner
from cases.models import Case, ReviewState
from casetracker.roles import DATA_ENTRY, VERIFIER
from tests.browser import PAGE_LOAD_TIMEOUT, PASSWORD, with_password
from tests.factories import staff_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]

# The issue's target: the whole case, person and source included, in at most six page loads.
MOST_PAGE_LOADS = 6

SPELLINGS = ("Kanat Yerezhep", "Қанат Ережеп", "卡纳提·叶热杰普")
REPORT = "Over thirty Kazakhs secretly arrested in Xinjiang, Atajurt says"
ATAJURT_LIST = "Atajurt list of Kazakh officials and intellectuals detained in Xinjiang"
LIST_CLAIM = "Atajurt's list names him among the detained."
FOUR_EYES_PASSED = "Four eyes, citations: nothing stands in the way."
PUBLISHABLE = "Verified, consent given, evidence level sufficient."
EVENTS = (
    (
        "detained",
        "2019/2023",
        "paragraph 3",
        "Atajurt's founder names him among Kazakh officials detained; detained between 2019 "
        "and 2023.",
    ),
    (
        "family_notified",
        "2024-04",
        "paragraph 4",
        "Families were told verbally by the authorities only in April 2024.",
    ),
)


# --- the browser, a step at a time ---------------------------------------------------------


def by_css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def wait_for(browser, condition, timeout=PAGE_LOAD_TIMEOUT):
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser.driver, timeout).until(condition)


def fill(browser, field_id, text):
    field = by_css(browser, f"#{field_id}")
    field.clear()
    field.send_keys(text)


def choose(browser, field_id, value):
    from selenium.webdriver.support.select import Select

    Select(by_css(browser, f"#{field_id}")).select_by_value(value)


def pick(browser, field_id, search, expected):
    """Pick ``expected`` in a search-as-you-type (select2) field, searching for ``search``."""
    from selenium.webdriver.common.by import By

    by_css(browser, f"#{field_id} + .select2 .select2-selection").click()
    box = wait_for(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, ".select2-container--open .select2-search__field"
        ),
    )
    box.send_keys(search)

    def option(driver):
        found = driver.find_elements(By.CSS_SELECTOR, ".select2-results__option")
        return next((o for o in found if expected in o.text and "loading" not in o.text), None)

    wait_for(browser, option).click()
    wait_for(browser, lambda d: expected in selected_text(browser, field_id))


def selected_text(browser, field_id):
    return by_css(browser, f"#{field_id} + .select2 .select2-selection__rendered").text


def words(element):
    """An element's text as written, not as styled (the object tools are upper case)."""
    return element.get_attribute("textContent").strip()


def add_row(browser, group):
    """Press an inline's "Add another …"; the new row's form index."""
    total = int(by_css(browser, f"#id_{group}-TOTAL_FORMS").get_attribute("value"))
    by_css(browser, f"#{group}-group .add-row a").click()
    wait_for(browser, lambda d: d.find_elements("id", f"id_{group}-{total}-id"))
    return total


def snapshot(browser, name, element):
    """A screenshot of what a page shows after typing, not after a load (``Browser.checked``
    keeps one of each load), with ``element`` near the top of the window."""
    browser.driver.execute_script("arguments[0].scrollIntoView(true); scrollBy(0, -40);", element)
    path = browser.artifacts / f"{len(browser.pages):02d}a-{name}.png"
    browser.driver.save_screenshot(str(path))
    return path


def submit(browser, selector, step, until):
    """Press a form's button; check the page the browser ends on."""
    from selenium.webdriver.support.expected_conditions import staleness_of

    left = staleness_of(by_css(browser, "html"))
    by_css(browser, selector).click()
    browser.wait_until(lambda d: left(d) and until(d))
    return browser.checked(step, expected_status=200)


def in_popup(browser, plus_id, step, fill_in, save_step):
    """Press a "+" beside a field, fill the form its popup opens, save it and come back: the
    admin's answer closes the popup and selects the new record in the field."""
    driver = browser.driver
    opener = driver.current_window_handle
    by_css(browser, f"#{plus_id}").click()
    wait_for(browser, lambda d: len(d.window_handles) == 2)
    driver.switch_to.window(next(h for h in driver.window_handles if h != opener))
    browser.wait_until(lambda d: "_popup=1" in d.current_url)
    browser.checked(step, expected_status=200)
    fill_in()
    by_css(browser, "input[name=_save]").click()
    wait_for(browser, lambda d: len(d.window_handles) == 1)
    driver.switch_to.window(opener)
    browser.checked(save_step, expected_status=200)  # the popup's answer, then the opener


class DocumentLoads:
    """Every document any window of the browser loads, in order (see the module docstring).

    The browser's network log is read by ``Browser.checked`` as each page is checked; this
    keeps the document responses it reads on the way."""

    def __init__(self, browser):
        self.urls = []
        drain = browser._drain

        def counting_drain():
            console, network = drain()
            self.urls += [e["response"]["url"] for e in network if e.get("type") == "Document"]
            return console, network

        browser._drain = counting_drain

    def paths(self, base_url):
        return [url.removeprefix(base_url) for url in self.urls]


# --- the walkthrough ---------------------------------------------------------------------


def add_person(browser):
    fill(browser, "id_names-0-name", SPELLINGS[0])
    choose(browser, "id_names-0-language", "en")  # Latin letters do not tell the language
    for spelling in SPELLINGS[1:]:
        row = add_row(browser, "names")
        fill(browser, f"id_names-{row}-name", spelling)  # script and language follow
    choose(browser, "id_consent", "public_record")  # Atajurt named him publicly


def add_report(browser):
    fill(browser, "id_title", REPORT)
    choose(browser, "id_kind", "news_report")
    choose(browser, "id_access", "public")


def add_atajurt_list(browser):
    fill(browser, "id_title", ATAJURT_LIST)
    choose(browser, "id_kind", "ngo_report")
    fill(browser, "id_author", "Atajurt Kazakh Human Rights")
    choose(browser, "id_access", "public")


def enter_case(browser, loads):
    """Data entry's one page: the person (popup), two events each cited, the report (popup)."""
    loads.urls.clear()
    browser.visit(reverse("admin:cases_case_add"), "case add page")
    in_popup(browser, "add_id_person", "person popup", lambda: add_person(browser), "person added")
    assert SPELLINGS[0] in selected_text(browser, "id_person")

    for kind, date, _, _ in EVENTS:
        row = add_row(browser, "events")
        choose(browser, f"id_events-{row}-kind", kind)
        fill(browser, f"id_events-{row}-date", date)
    in_popup(
        browser,
        "add_id_events-0-cite_source",
        "source popup",
        lambda: add_report(browser),
        "source added",
    )
    assert REPORT in selected_text(browser, "id_events-0-cite_source")
    pick(browser, "id_events-1-cite_source", "secretly arrested", REPORT)
    for row, (_, _, locator, claim) in enumerate(EVENTS):
        fill(browser, f"id_events-{row}-cite_locator", locator)
        fill(browser, f"id_events-{row}-cite_claim", claim)
    # The first event's citation, and the second event below it.
    snapshot(browser, "events-cited", by_css(browser, "#events-0 .field-cite_source"))
    submit(browser, "input[name=_continue]", "case saved", lambda d: "/change/" in d.current_url)

    case = Case.objects.get(person__names__name=SPELLINGS[0])
    expected = [
        reverse("admin:cases_case_add"),
        reverse("admin:people_person_add") + "?_to_field=id&_popup=1",
        reverse("admin:people_person_add") + "?_to_field=id&_popup=1",  # its answer
        reverse("admin:sources_source_add") + "?_to_field=id&_popup=1",
        reverse("admin:sources_source_add") + "?_to_field=id&_popup=1",  # its answer
        reverse("admin:cases_case_change", args=[case.pk]),
    ]
    assert len(loads.urls) <= MOST_PAGE_LOADS, loads.paths(browser.base_url)
    assert loads.paths(browser.base_url) == expected
    return case


def take_step(browser, case, label, action, step, says=()):
    """Press a workflow step's button on the case page, then confirm it on its page (which
    ``says`` these things first)."""
    workflow = reverse("admin:cases_case_workflow", args=[case.pk, action])
    by_css(browser, f'.object-tools a[href="{workflow}"]').click()
    browser.wait_until(lambda d: d.current_url.endswith(workflow))
    browser.checked(f"{step} page", expected_status=200)
    for text in says:
        assert text in browser.text()
    submit(
        browser,
        f'.submit-row input[value="{label}"]',
        f"{step} done",
        lambda d: d.current_url.endswith(reverse("admin:cases_case_change", args=[case.pk])),
    )
    assert f"{case.reference}: {label.lower()} — done." in browser.text()


def readiness_lines(browser, level):
    from selenium.webdriver.common.by import By

    return [
        item.text
        for item in browser.driver.find_elements(By.CSS_SELECTOR, f"#readiness li.{level}")
    ]


def open_case(browser, case, step):
    browser.visit(reverse("admin:cases_case_change", args=[case.pk]), step)


def test_a_case_is_entered_on_one_page_verified_published_and_read_by_a_partner(
    browser, live_server
):
    with_password(staff_in(DATA_ENTRY, "data_entry"))
    with_password(staff_in(VERIFIER, "verifier"))
    loads = DocumentLoads(browser)

    # 1. Data entry enters the case on one page.
    browser.sign_in("data_entry", PASSWORD)
    case = enter_case(browser, loads)
    assert sorted(case.person.names.values_list("name", flat=True)) == sorted(SPELLINGS)
    assert case.events.filter(citations__source__title=REPORT).count() == 2

    # 2. The panel shows both events cited; data entry submits.
    cited = [line for line in readiness_lines(browser, "success") if "1 citation(s)" in line]
    assert len(cited) == 2, readiness_lines(browser, "success")
    take_step(browser, case, "Submit for review", "submit", "submit")

    # 3. The verifier verifies: four eyes passed. A single news report is not enough to
    # publish, and the page says so before the step.
    browser.sign_in("verifier", PASSWORD)
    open_case(browser, case, "case in review")
    assert any(line.startswith("Four eyes:") for line in readiness_lines(browser, "success"))
    take_step(browser, case, "Verify", "verify", "verify", says=[FOUR_EYES_PASSED])
    assert "Publish is not possible yet:" in browser.text()
    assert "Its evidence level 1 is below the minimum 2." in browser.text()
    assert words(by_css(browser, ".object-tools .step-disabled")) == "Publish"
    browser.visit(reverse("admin:cases_case_workflow", args=[case.pk, "publish"]), "publish page")
    assert "Its evidence level 1 is below the minimum 2." in browser.text()
    assert words(by_css(browser, ".submit-row .step-disabled")) == "Publish"
    assert not browser.driver.find_elements("css selector", ".submit-row input[type=submit]")

    # As the panel says: a second independent source. Data entry cites Atajurt's own list
    # for the case as a whole; the edit sends the verified case back to review.
    browser.sign_in("data_entry", PASSWORD)
    open_case(browser, case, "verified case")
    row = add_row(browser, "citations")
    in_popup(
        browser,
        f"add_id_citations-{row}-source",
        "second source popup",
        lambda: add_atajurt_list(browser),
        "second source added",
    )
    fill(browser, f"id_citations-{row}-locator", "list of detainees")
    fill(browser, f"id_citations-{row}-claim", LIST_CLAIM)
    submit(browser, "input[name=_continue]", "case corroborated", lambda d: True)
    assert words(by_css(browser, ".field-review_state .readonly")) == "In review"
    assert Case.objects.get(pk=case.pk).review_state == ReviewState.IN_REVIEW

    browser.sign_in("verifier", PASSWORD)
    open_case(browser, case, "case back in review")
    take_step(browser, case, "Verify", "verify", "verify again", says=["3 — corroborated"])
    take_step(browser, case, "Publish", "publish", "publish", says=[PUBLISHABLE])
    assert Case.objects.published().filter(pk=case.pk).exists()

    # 4. A partner reads it through the API: every spelling and both events, no claim.
    key = Partner.objects.create(name="Walkthrough partner").issue_token("walkthrough")[1]
    request = urllib.request.Request(  # noqa: S310 (the live server's own http address)
        f"{live_server.url}/api/v1/cases/{case.reference}/",
        headers={"Authorization": f"Token {key}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=PAGE_LOAD_TIMEOUT) as response:  # noqa: S310
        body = response.read().decode()
    document = json.loads(body)
    assert {name["name"] for name in document["person"]["names"]} == set(SPELLINGS)
    assert sorted(event["kind"] for event in document["events"]) == [
        "detained",
        "family_notified",
    ]
    assert "claim" not in body
    assert not any(claim in body for claim in (LIST_CLAIM, *(e[3] for e in EVENTS)))

    # 5. No CSP violation, no console error, on any page.
    browser.assert_clean()
