"""A process serving the public website alone (PUBLIC_SITE_ONLY) on the PostgreSQL role that
website/public_role.sql makes: every page the site has answers as it does for the staff
side's role, and the role can read no restricted column and no row of a case that is not
published or withdrawn (README "Production")."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import ProgrammingError, connection, transaction

from people.models import PersonName
from snapshots.models import PublishedCase
from tests.test_website import crawl, leaks, planted_names, secret, world  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="roles and grants are PostgreSQL's"
    ),
]

# Roles belong to the whole server, not to one database: each parallel test process
# (pytest-xdist) makes its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
ROLE = f"casetracker_public_test_{WORKER}"
STAFF_ROLE = f"casetracker_staff_test_{WORKER}"
MEMBER_ROLE = f"casetracker_member_test_{WORKER}"
GRANTS = Path(django_settings.BASE_DIR) / "website" / "public_role.sql"


@pytest.fixture
def public_only(settings):
    settings.PUBLIC_SITE_ONLY = True
    settings.ROOT_URLCONF = "casetracker.public_urls"
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if name not in django_settings.STAFF_MIDDLEWARE
    ]


def become_public_role():
    """Make the role, grant it what the file grants, and act as it until the test's
    transaction ends (all of it is rolled back then, the role too)."""
    with connection.cursor() as cursor:
        # The test's rows are checked now, as a commit would: a table with checks pending
        # cannot be altered (row-level security).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"CREATE ROLE {ROLE} NOLOGIN")
        cursor.execute(
            GRANTS.read_text().replace(":'role'", f"'{ROLE}'").replace(':"role"', f'"{ROLE}"')
        )
        cursor.execute(f"SET LOCAL ROLE {ROLE}")


def refused(sql: str) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()
    except ProgrammingError as error:
        assert "permission denied" in str(error)
        return True
    return False


def visible(sql: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def starts(world) -> list[str]:  # noqa: F811
    """The home page, searches for published and hidden names, the withdrawn case and the
    hidden ones' references."""
    return [
        "/",
        "/search/?q=Kanat",
        "/search/?q=Aynur",
        f"/cases/{world.withdrawn.case.reference}/",
        *(f"/cases/{h.case.reference}/" for h in world.hidden.values()),
        *(f"/search/?q={name}" for name in planted_names(world)[:5]),
    ]


def answers(client, addresses) -> dict:
    pages = crawl(client, *addresses)
    return {address: (r.status_code, r.content) for address, r in pages.items()}


def test_every_page_answers_the_same_on_the_public_role(client, world, secret, public_only):  # noqa: F811
    addresses = starts(world)
    before = answers(client, addresses)
    assert {"/statistics/", "/methodology/", f"/cases/{world.case.reference}/"} <= set(before)
    assert any(address.startswith("/places/") for address in before)
    assert any(address.startswith("/charges/") for address in before)
    become_public_role()
    after = answers(client, addresses)
    assert after == before
    assert visible("SELECT current_user") == [ROLE]


def test_the_staff_side_is_not_served(client, world, public_only):  # noqa: F811
    for address in ["/admin/", "/admin/login/", "/api/v1/cases/", "/i18n/setlang/"]:
        response = client.get(address)
        assert response.status_code == 404, address
        assert b"website/site.css" in response.content  # the website's own page, no admin


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT internal_notes FROM cases_case",
        "SELECT public_summary FROM cases_case",
        "SELECT sensitive FROM cases_case",
        "SELECT consent FROM people_person",
        "SELECT internal_notes FROM people_person",
        "SELECT contact_details FROM people_person",
        "SELECT display_name FROM people_person",
        "SELECT description FROM cases_detentionevent",
        "SELECT id FROM sources_source",
        "SELECT id FROM sources_citation",
        "SELECT id FROM sources_evidencefile",
        "SELECT id FROM people_relationship",
        "SELECT published_at FROM cases_publicationrecord",
        "SELECT id FROM auth_user",
        "SELECT session_data FROM django_session",
        "SELECT id FROM api_partnertoken",
        "SELECT id FROM submissions_submission",
        "SELECT id FROM cases_historicalcase",
    ],
)
def test_the_public_role_reads_no_restricted_column(world, sql):  # noqa: F811
    become_public_role()
    assert refused(sql)


def test_the_public_role_sees_the_rows_of_published_cases_alone(world):  # noqa: F811
    published = set(PublishedCase.objects.values_list("case_id", flat=True))
    names = sorted(
        PersonName.objects.filter(person__cases__in=published)
        .distinct()
        .values_list("name", flat=True)
    )
    scopes = set(visible("SELECT DISTINCT scope FROM figures_tally"))
    assert "staff" in scopes  # the staff side counts every case: the role must not see it
    become_public_role()
    assert sorted(visible("SELECT name FROM people_personname")) == names
    assert set(visible("SELECT DISTINCT case_id FROM cases_detentionevent")) <= published
    assert set(visible("SELECT DISTINCT scope FROM figures_tally")) == {"published"}
    shown = set(visible("SELECT reference FROM cases_case"))
    assert world.case.reference in shown
    assert world.withdrawn.case.reference in shown  # its 410 needs the reference
    assert not shown & {h.case.reference for h in world.hidden.values() if h != world.withdrawn}


def test_another_role_than_the_owner_still_sees_every_row(world):  # noqa: F811
    everyone = PersonName.objects.count()
    become_public_role()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"CREATE ROLE {STAFF_ROLE} NOLOGIN")
        cursor.execute(f"GRANT SELECT ON people_personname TO {STAFF_ROLE}")
        cursor.execute(f"SET LOCAL ROLE {STAFF_ROLE}")
    assert len(visible("SELECT name FROM people_personname")) == everyone


def test_a_role_that_is_a_member_of_the_public_role_is_bound_like_it(world):  # noqa: F811
    published = set(PublishedCase.objects.values_list("case_id", flat=True))
    names = sorted(
        PersonName.objects.filter(person__cases__in=published)
        .distinct()
        .values_list("name", flat=True)
    )
    become_public_role()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"CREATE ROLE {MEMBER_ROLE} NOLOGIN")
        cursor.execute(f"GRANT {ROLE} TO {MEMBER_ROLE}")
        cursor.execute(f"SET LOCAL ROLE {MEMBER_ROLE}")
    assert sorted(visible("SELECT name FROM people_personname")) == names
