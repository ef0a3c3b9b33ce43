"""Real-browser tests: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by
selenium against pytest-django's ``live_server``.

The ``browser`` fixture (tests/conftest.py) gives a test a ``Browser``: it signs a persona in
through the real login form, visits pages, and after every page gathers what the browser's
console reported — Content-Security-Policy violations ("Refused to …", "… violates the
following Content Security Policy directive …"), JavaScript errors, console.error() calls and
failed loads such as a missing favicon — and the HTTP status the page itself was answered with.
``assert_clean()`` fails the test listing every problem of every page. Each page is kept as a
screenshot under ``var/browser-artifacts/<test name>/NN-step.png``, with the browser's log.

One Chromium serves the whole session (it starts in about half a second); each test starts
with no cookies. Without a browser installed the tests skip, saying what to install; under
``CI`` a missing browser fails them instead (.ci/run installs it).
"""

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--disable-background-networking",  # nothing but the live server: CI reaches no other site
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "browser-artifacts"
PAGE_LOAD_TIMEOUT = 30  # seconds
# axe-core, the accessibility engine (package.json; `npm ci` installs it, as .ci/run does).
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# What the audit checks: WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_axe() -> None:
    """Skip the accessibility audit, saying what to install, when axe-core is missing; under
    CI, fail."""
    if AXE.exists():
        return
    reason = f"no axe-core for the accessibility audit ({AXE.name} missing): npm ci"
    if under_ci():
        pytest.fail(f"CI is set but there is {reason}", pytrace=False)
    pytest.skip(reason)


def require_browser() -> None:
    """Skip, saying what to install, when this machine has no browser; under CI, fail."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return
    reason = (
        f"no browser for the browser tests ({', '.join(missing)} missing): "
        "apt-get install chromium chromium-driver"
    )
    if under_ci():
        pytest.fail(f"CI is set but there is {reason}", pytrace=False)
    pytest.skip(reason)


def start_chromium():
    """A headless Chromium with a fresh profile, logging its console and network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="casetracker-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    # "browser": the console (CSP violations, JavaScript errors, failed loads);
    # "performance": network events, for the status each page was answered with.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # Chromium's own driver, never one Selenium Manager would download.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    driver.casetracker_profile = profile
    return driver


def stop_chromium(driver) -> None:
    driver.quit()
    shutil.rmtree(driver.casetracker_profile, ignore_errors=True)


@dataclass
class Page:
    """One page visited: the step's name, where it ended up, the status it was answered with,
    and the problems the browser reported while showing it."""

    number: int
    step: str
    url: str
    status: int | None
    problems: list[str] = field(default_factory=list)


def is_problem(entry: dict) -> bool:
    """A console entry a clean page never produces: anything at error level (CSP violations
    are reported there, as are JavaScript errors, console.error() and failed loads)."""
    return entry.get("level") == "SEVERE"


def describe(entry: dict) -> str:
    return f"[{entry.get('source', '?')}] {entry.get('message', '')}"


def failed_load_of(url: str, status: int, entry: dict) -> bool:
    """Chromium reports the page itself as a failed load when it was answered with an error
    status: expected on a page visited for its 403 or 404."""
    message = entry.get("message", "")
    return (
        entry.get("source") == "network"
        and message.startswith(f"{url} - ")
        and f"status of {status}" in message
    )


class Browser:
    def __init__(self, driver, base_url: str, artifacts: Path):
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.artifacts = artifacts
        self.pages: list[Page] = []
        self.late: list[str] = []  # reported after the last page was checked
        self.driver.delete_all_cookies()  # signed out: the previous test's session ends here
        shutil.rmtree(artifacts, ignore_errors=True)
        artifacts.mkdir(parents=True)
        self._log = (artifacts / "browser-log.txt").open("w", encoding="utf-8")
        self._drain()  # nothing left over from an earlier test

    # --- navigation ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def visit(self, path: str, step: str, *, status: int = 200) -> Page:
        """Open ``path``; record its problems, its status (``status`` is the one expected) and
        a screenshot."""
        url = self.url(path)
        self.driver.get(url)
        return self.checked(step, expected_status=status)

    def sign_in(self, username: str, password: str) -> Page:
        """Sign in through the admin's login form, as staff do (REQUIRE_2FA is off in tests)."""
        from selenium.webdriver.common.by import By

        self.driver.delete_all_cookies()
        self.visit("/admin/login/?next=/admin/", f"sign-in form ({username})")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
        self.wait_until(lambda driver: "/admin/login/" not in driver.current_url)
        page = self.checked(f"signed in ({username})", expected_status=200)
        assert self.driver.current_url == self.url("/admin/"), (
            f"signing in as {username} ended on {self.driver.current_url}"
        )
        return page

    def wait_until(self, condition, timeout: float = PAGE_LOAD_TIMEOUT) -> None:
        """Wait for ``condition``; an element it read going stale or missing (the page
        reloaded meanwhile, as the jobs page does by itself) means "not yet"."""
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.wait import WebDriverWait

        WebDriverWait(
            self.driver,
            timeout,
            ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
        ).until(condition)
        self.wait_until_loaded(timeout)

    def wait_until_loaded(self, timeout: float = PAGE_LOAD_TIMEOUT) -> None:
        from selenium.webdriver.support.wait import WebDriverWait

        WebDriverWait(self.driver, timeout).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )

    def audit(self) -> list[str]:
        """Run axe-core over the page on screen (WCAG 2.2 AA); its violations become the
        last visited page's problems, and are returned."""
        require_axe()
        if not self.driver.execute_script("return typeof window.axe !== 'undefined'"):
            # Injected by the driver, not by the page: the page's CSP is not loosened for it.
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        result = self.driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})
              .then(r => done(r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))))
              .catch(e => done([{id: "axe-error", impact: "", help: String(e), targets: []}]));""",
            WCAG_AA,
        )
        found = [
            f"accessibility: {v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}"
            for v in result
        ]
        if self.pages:
            self.pages[-1].problems.extend(found)
            self._log.writelines(f"    {line}\n" for line in found)
            self._log.flush()
        return found

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    # --- what the browser reported ------------------------------------------------------

    def checked(self, step: str, *, expected_status: int) -> Page:
        """Wait for the page to be loaded, then gather what the browser reported about it."""
        self.wait_until_loaded()
        url = self.driver.current_url
        console, network = self._drain()
        status = self._document_status(network)
        problems = [
            describe(entry)
            for entry in console
            if is_problem(entry) and not failed_load_of(url, expected_status, entry)
        ]
        if status != expected_status:
            problems.insert(0, f"answered {status}, not {expected_status}")
        page = Page(len(self.pages) + 1, step, url, status, problems)
        self.pages.append(page)
        self._screenshot(page)
        self._write_log(page, console)
        return page

    def _drain(self) -> tuple[list[dict], list[dict]]:
        """The console entries and network events since the last call."""
        console = self.driver.get_log("browser")
        network = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.responseReceived":
                network.append(message["params"])
        return console, network

    @staticmethod
    def _document_status(network: list[dict]) -> int | None:
        """The status of the last page (document) response: after a redirect, the page the
        browser ended up on."""
        documents = [event["response"] for event in network if event.get("type") == "Document"]
        if not documents:
            return None
        return documents[-1]["status"]

    def _screenshot(self, page: Page) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", page.step.lower()).strip("-")
        self.driver.save_screenshot(str(self.artifacts / f"{page.number:02d}-{name}.png"))

    def _write_log(self, page: Page, console: list[dict]) -> None:
        self._log.write(f"{page.number:02d} {page.step}: {page.url} (HTTP {page.status})\n")
        for entry in console:
            self._log.write(f"    {entry.get('level')} {describe(entry)}\n")
        self._log.flush()

    def gather_late(self) -> None:
        """What came in after the last page was checked (a favicon is fetched late)."""
        console, _ = self._drain()
        late = [describe(entry) for entry in console if is_problem(entry)]
        if late:
            self._log.write("after the last page:\n")
            self._log.writelines(f"    {line}\n" for line in late)
            self._log.flush()
        self.late += late

    def close(self) -> None:
        self._log.close()

    # --- the verdict --------------------------------------------------------------------

    def problems(self) -> list[str]:
        lines = []
        for page in self.pages:
            lines += [f"{page.number:02d} {page.step} ({page.url}): {p}" for p in page.problems]
        return lines + [f"after the last page: {problem}" for problem in self.late]

    def assert_clean(self) -> None:
        """No page had a CSP violation, a console error or an unexpected status."""
        self.gather_late()
        problems = self.problems()
        assert not problems, (
            f"{len(problems)} problem(s) in the browser (screenshots and log in "
            f"{self.artifacts}):\n" + "\n".join(problems)
        )


PASSWORD = "browser-tests-only-password"


def with_password(user, password: str = PASSWORD):
    """The persona, able to sign in through the login form."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def artifacts_for(node) -> Path:
    """var/browser-artifacts/<test name>, the test's parameters included."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name).strip("-")
    return ARTIFACTS / name
