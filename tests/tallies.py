"""The check that the counts the write paths keep (figures.tally, figures.models.Tally) are
the counts of the facts as they are: for every scope and class, each key's kept count equals
the count a grouped query finds. Statistics test modules run it after every test."""

import itertools

import pytest
from django.db.models import Q

from figures import breakdowns, facts, staff, tally

SCOPES = [
    (facts.MODELS, breakdowns.PUBLISHED, [tally.PUBLIC_CLASS]),
    (staff.MODELS, breakdowns.STAFF, list(itertools.product([False, True], repeat=3))),
]


def names(models) -> list[str]:
    staff_too = models.scope == staff.MODELS.scope
    return [
        *(d.name for d in tally.FACTS if staff_too or not d.staff),
        tally.CHARGE,
        tally.PLACE,
    ]


def without_zeros(counts: dict) -> dict:
    return {
        name: {key: n for key, n in keys.items() if n}
        for name, keys in counts.items()
        if any(keys.values())
    }


def kept_and_found() -> list[tuple]:
    """(scope, class, kept counts, counts found by query) for every scope and class."""
    compared = []
    for models, tables, groups in SCOPES:
        for group in groups:
            if models is staff.MODELS:
                condition = Q(**dict(zip(tally.CLASS_COLUMNS, group, strict=True)))
            else:
                condition = Q()
            chosen = models.facts.objects.filter(condition)
            found = tally.live(
                breakdowns.Counting(tables, chosen, chosen.values("pk")), names(models)
            )
            kept = tally.stored(models.scope, condition if models is staff.MODELS else None)
            compared.append((models.scope, group, without_zeros(kept), without_zeros(found)))
    return compared


def assert_counts_kept() -> None:
    for scope, group, kept, found in kept_and_found():
        differ = {
            name: (kept.get(name), found.get(name))
            for name in set(kept) | set(found)
            if kept.get(name) != found.get(name)
        }
        assert not differ, (scope, group, differ)


@pytest.fixture
def counts_kept(request):
    """After a test that passed and used the database: the kept counts are those of the
    facts as the test left them (tests/conftest.py keeps each test's report on it)."""
    yield
    report = getattr(request.node, "report_call", None)
    uses_database = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_database and report is not None and report.passed:
        assert_counts_kept()
