import os

import pytest
from django.core import serializers
from django.core.cache import caches
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation
from pytest_django.live_server_helper import LiveServer

from api.models import Partner
from api.throttling import PartnerBurstThrottle, PartnerSustainedThrottle
from cases.models import Charge, Location
from casetracker import roles
from casetracker.roles import ADMINISTRATOR, DATA_ENTRY, VERIFIER
from tests.browser import Browser, artifacts_for, require_browser, start_chromium, stop_chromium
from tests.factories import make_user, staff_in


@pytest.fixture(autouse=True)
def site_language():
    """Every test starts in the site's language (English). A request in another language
    leaves it active in the thread, as a server's next request never sees (LocaleMiddleware
    activates each request's own), but a test's next command or service call would."""
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(autouse=True)
def statistics_cache_cleared():
    """The statistics are cached under a generation token that only a commit replaces
    (figures.cache); a test's rolled-back data would otherwise be answered in the next."""
    caches["statistics"].clear()
    # And the public website's rate limits (website.throttling), counted in the default cache.
    caches["default"].clear()
    yield
    caches["statistics"].clear()


@pytest.fixture
def superuser(db):
    return make_user("root", is_superuser=True, password="x" * 12)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


# --- personas: staff in each role, and nobody signed in --------------------------------------


@pytest.fixture
def anonymous():
    return None


@pytest.fixture
def data_entry():
    return staff_in(DATA_ENTRY, "data_entry")


@pytest.fixture
def verifier():
    return staff_in(VERIFIER, "verifier")


@pytest.fixture
def second_verifier():
    return staff_in(VERIFIER, "second_verifier")


@pytest.fixture
def administrator():
    return staff_in(ADMINISTRATOR, "administrator")


# Need to know: data entry staff assigned to a sensitive case, and one who is not.
@pytest.fixture
def assigned():
    return staff_in(DATA_ENTRY, "assigned_data_entry")


@pytest.fixture
def outsider():
    return staff_in(DATA_ENTRY, "unassigned_data_entry")


@pytest.fixture
def no_role():
    roles.setup_roles()
    return make_user("staff_without_role")


# --- partners of the API ---------------------------------------------------------------------


@pytest.fixture
def partner():
    return Partner.objects.create(name="Kazakh Rights Watch", contact_name="Desk")


@pytest.fixture
def key(partner):
    return partner.issue_token("sync server")[1]


@pytest.fixture
def no_throttling(monkeypatch):
    monkeypatch.setattr(PartnerBurstThrottle, "rate", "100000/min", raising=False)
    monkeypatch.setattr(PartnerSustainedThrottle, "rate", "100000/day", raising=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report kept on the test (``report_call``…), for fixtures that check more
    after a test that passed (tests/tallies.py)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_collection_modifyitems(config, items):
    # Tests marked "postgresql" run in the PostgreSQL pass of `make test` (CI runs both).
    for item in items:
        if item.get_closest_marker("postgresql") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only; runs in the PostgreSQL pass"))


@pytest.fixture(scope="module")
def vocabularies_kept(django_db_setup, django_db_blocker):
    """A transactional test ends by emptying every table, the migrated vocabularies too.

    Put them back as they were, same ids, so the tests after it, and later runs on a reused
    test database, still find them.
    """
    with django_db_blocker.unblock():
        rows = [*Charge.objects.order_by("pk"), *Location.objects.order_by("path")]
        saved = serializers.serialize("json", rows)
    yield
    with django_db_blocker.unblock(), transaction.atomic():
        for row in serializers.deserialize("json", saved):
            row.save()


# --- a real browser (tests/browser.py) -------------------------------------------------------


@pytest.fixture(scope="session")
def chromium(live_server):
    """One headless Chromium for every browser test of the session; skips (fails under CI)
    when none is installed. It quits before the live server stops: a request still open when
    the server goes would find its shared SQLite connection closed."""
    require_browser()
    driver = start_chromium()
    yield driver
    stop_chromium(driver)


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, started with a media address: Django's live server cannot
    start without one, and the project has none (evidence is never served as media)."""
    with override_settings(MEDIA_URL="/live-server-media/"):
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
    yield server
    server.stop()


@pytest.fixture
def browser(request, live_server, chromium):
    """The browser on the live server, signed out, keeping screenshots and its log under
    var/browser-artifacts/<test name>/. A test ends with ``browser.assert_clean()``."""
    session = Browser(chromium, live_server.url, artifacts_for(request.node))
    yield session
    session.close()
