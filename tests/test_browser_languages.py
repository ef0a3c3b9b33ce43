"""The four interface languages in a real browser (tests/browser.py): data entry staff choose a
language with the switcher on the login page, sign in through the form and walk their main
pages (home, a filtered case list, a case, a refused step, the import upload and its preview
of a list with errors), each in that language (``<html lang>``), with no English left in what
they read (tests/translated_pages.py), no Content-Security-Policy violation and no console
error. The choice stays with the account: it survives signing out and a browser without
cookies. English is the control.

tests/test_languages.py checks the same behaviour from the server's side; here it is the
browser's own cookie, redirects and forms that carry it. Screenshots of every step:
var/browser-artifacts/<test name>/."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from casetracker.roles import DATA_ENTRY
from tests.browser import PASSWORD, with_password
from tests.factories import make_case, make_organisation, person_named, staff_in
from tests.import_files import KANAT_ROWS, rows_to_csv
from tests.jobs import run_jobs
from tests.translated_pages import WORD, data_words, english_left

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("vocabularies_kept")]

LANGUAGES = ["en", "kk", "ru", "zh-hans"]
# One person, three spellings: Latin (preferred), Kazakh Cyrillic, Chinese.
NAMES = ("Kanat Yerezhep", "Қанат Ережеп", "哈那提·叶尔扎甫")
# The spelling a reader of each language sees first (Person.__str__): names are never
# translated, only which spelling leads.
NAME_FIRST = {"en": NAMES[0], "kk": NAMES[1], "ru": NAMES[1], "zh-hans": NAMES[2]}
# Words that legitimately stay in Latin letters on these pages, beyond the data (which holds
# NAMES) and translated_pages.NOT_TRANSLATED: the import upload page's hint for the Latin-letter
# column gives a second example spelling, "e.g. Kanat Yerezhep; Qanat Erejep", kept as written
# in every language (names are never translated).
KEPT_AS_WRITTEN = {"Qanat", "Erejep"}
USERNAME = "data_entry"


# --- the browser, a step at a time ---------------------------------------------------------


def by_css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def html_lang(browser) -> str:
    return by_css(browser, "html").get_attribute("lang")


def press(browser, selector, step, until=lambda driver: True):
    """Press a button that posts a form; check the page the browser ends on."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.expected_conditions import staleness_of

    stale = staleness_of(by_css(browser, "html"))

    def left(driver):
        try:
            return stale(driver)
        except WebDriverException:
            # Chromium may answer "node does not belong to the document" while the old page is
            # torn down: it has been left.
            return True

    by_css(browser, selector).click()
    browser.wait_until(lambda driver: left(driver) and until(driver))
    return browser.checked(step, expected_status=200)


def switch_language(browser, language, step):
    """Press the switcher's button for ``language``: back on the same page, in it."""
    before = browser.driver.current_url
    press(
        browser,
        f'.language-switcher button[name=language][value="{language}"]',
        step,
        until=lambda driver: driver.current_url == before,
    )
    assert html_lang(browser) == language, f"{step}: still in {html_lang(browser)}"


def sign_in_here(browser, username):
    """Sign in through the login form the browser is showing, keeping its cookies (the
    language chosen before signing in); Browser.sign_in starts without them."""
    assert "/admin/login/" in browser.driver.current_url, browser.driver.current_url
    by_css(browser, "#login-form [name=username]").send_keys(username)
    by_css(browser, "#login-form [name=password]").send_keys(PASSWORD)
    press(
        browser,
        "#login-form [type=submit]",
        f"signed in ({username})",
        until=lambda driver: "/admin/login/" not in driver.current_url,
    )
    assert browser.driver.current_url == browser.url(reverse("admin:index"))


def sign_out(browser):
    press(
        browser,
        "#logout-form [type=submit]",
        "signed out",
        until=lambda driver: driver.current_url.endswith(reverse("admin:logout")),
    )


class Walk:
    """The pages seen in one language: each must be in it; the English left in each is
    gathered and reported at the end, after every other check."""

    def __init__(self, browser, language, allowed):
        self.browser, self.language, self.allowed = browser, language, allowed
        self.english = []

    def check(self, step, allowed=None):
        page = self.browser.pages[-1]
        assert html_lang(self.browser) == self.language, (
            f"{step} ({page.url}) is in {html_lang(self.browser)!r}, not {self.language!r}"
        )
        if self.language != "en":
            allowed = self.allowed if allowed is None else allowed
            lines = english_left(self.browser.driver.page_source, allowed)
            self.english += [f"{page.number:02d} {step} ({page.url}): {line}" for line in lines]

    def visit(self, path, step, *, status=200):
        self.browser.visit(path, step, status=status)
        self.check(step)

    def assert_no_english_left(self):
        assert not self.english, (
            f"English left in the {self.language} pages (screenshots in "
            f"{self.browser.artifacts}):\n" + "\n".join(self.english)
        )


# --- the tests -----------------------------------------------------------------------------


@pytest.fixture
def staff():
    return with_password(staff_in(DATA_ENTRY, USERNAME))


@pytest.fixture
def case(staff):
    """A draft entered by the persona (so theirs to see and edit), of a person with a name in
    each script."""
    return make_case(person_named(*NAMES), created_by=staff, updated_by=staff)


# The codes the gender column accepts, named in the error.
PREVIEW_VALUES = {"male", "female", "other", "unknown"}


@pytest.fixture
def group():
    return make_organisation("Atajurt Kazakh Human Rights")


BAD_ROWS = [dict(KANAT_ROWS[0], event_date="sometime in spring", person_gender="unknown-x")]


def words_of(rows):
    """The words of a file's values: the preview quotes them as they are (place names…)."""
    return {word for row in rows for value in row.values() for word in WORD.findall(str(value))}


@pytest.fixture
def bad_list(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(rows_to_csv(BAD_ROWS))
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_data_entry_works_in_the_language_chosen_on_the_login_page(
    browser, staff, case, group, bad_list, language
):
    # The login page, in the browser's own language (headless Chromium asks for English);
    # the switcher turns it into the chosen one, with nothing left in English.
    browser.visit(reverse("admin:login") + "?next=/admin/", "login page")
    assert html_lang(browser) == "en"
    switch_language(browser, language, f"login page in {language}")
    walk = Walk(browser, language, data_words() | KEPT_AS_WRITTEN)
    walk.check("login page", allowed=set())  # it shows no data

    # Signing in keeps the language: the admin home page.
    sign_in_here(browser, USERNAME)
    walk.check("home page")

    walk.visit(reverse("admin:cases_case_changelist") + "?review_state__exact=draft", "drafts")
    assert browser.driver.current_url.endswith("?review_state__exact=draft"), "filter refused"
    assert case.reference in browser.text()
    assert NAME_FIRST[language] in browser.text()  # the list names the person the same way

    walk.visit(reverse("admin:cases_case_change", args=[case.pk]), "case page")
    assert NAME_FIRST[language] in browser.driver.title
    assert NAME_FIRST[language] in by_css(browser, "#content h2").text

    # Data entry may not verify: the refusal, in the same language, names the role needed.
    walk.visit(
        reverse("admin:cases_case_workflow", args=[case.pk, "verify"]), "verify refused", status=403
    )
    if language == "en":
        assert "Access refused" in browser.text()
        assert "This needs the Verifier role." in browser.text()

    walk.visit(reverse("admin:imports_importbatch_upload"), "import upload")

    # A list with a bad date and a bad gender: the preview says which row, column and why, in
    # the same language (the file's own values and the accepted codes stay as they are).
    from selenium.webdriver.support.select import Select

    by_css(browser, "input[type=file][name=file]").send_keys(str(bad_list))
    Select(by_css(browser, "select[name=group]")).select_by_value(str(group.pk))
    press(browser, "form[enctype='multipart/form-data'] [type=submit]", "import check queued")
    walk.check("import check queued")
    # The check runs in the background worker; its page follows it by itself, then leads to
    # the preview.
    run_jobs()
    browser.wait_until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "a.button[href*='/preview/']")
    )
    browser.checked("import check done", expected_status=200)
    walk.check("import check done")
    press(browser, "a.button[href*='/preview/']", "import preview")
    assert "sometime in spring" in browser.text()
    walk.check("import preview", allowed=walk.allowed | PREVIEW_VALUES | words_of(BAD_ROWS))

    browser.assert_clean()
    walk.assert_no_english_left()


def test_the_language_chosen_survives_signing_out_and_a_browser_without_cookies(browser, staff):
    browser.sign_in(USERNAME, PASSWORD)  # in English: no language chosen yet
    assert html_lang(browser) == "en"
    switch_language(browser, "ru", "home page in ru")

    sign_out(browser)  # the signed-out page still speaks Russian (the cookie)
    assert html_lang(browser) == "ru"

    # A new browser session: no cookie, no session. The login page is English again...
    browser.driver.delete_all_cookies()
    browser.visit(reverse("admin:login") + "?next=/admin/", "login page, no cookies")
    assert html_lang(browser) == "en"
    # ...and signing in brings the account's Russian back, on every page from then on.
    sign_in_here(browser, USERNAME)
    assert html_lang(browser) == "ru"
    browser.visit(reverse("admin:cases_case_changelist"), "case list")
    assert html_lang(browser) == "ru"

    browser.assert_clean()
