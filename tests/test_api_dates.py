"""The partner API's date filters read approximate event dates strictly by default, and one
unit of their precision wider with dates=approximate."""

import pytest

from cases.models import DetentionEvent
from tests.factories import published, without_reopening
from tests.partner_api import (  # noqa: F401 (fixtures)
    api_views_run_outside_a_transaction,
    fresh_throttle_counters,
    get,
    references,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def about_march_2018(data_entry, verifier):
    case = published(data_entry, verifier)
    with without_reopening():
        DetentionEvent.objects.filter(case=case).update(date="2018-03~")
    return case


def test_an_approximate_date_is_read_strictly_by_default(client, key, about_march_2018):
    assert references(client, key, {"date_to": "2018-02"}) == []
    assert references(client, key, {"date_from": "2018-03", "date_to": "2018-03"}) == [
        about_march_2018.reference
    ]


def test_dates_approximate_widens_it_by_a_month(client, key, about_march_2018):
    found = references(client, key, {"date_to": "2018-02", "dates": "approximate"})
    assert found == [about_march_2018.reference]
    assert references(client, key, {"date_to": "2018-01", "dates": "approximate"}) == []
    assert references(client, key, {"date_from": "2018-04", "dates": "approximate"}) == [
        about_march_2018.reference
    ]


def test_an_exact_date_is_not_widened(client, key, data_entry, verifier):
    case = published(data_entry, verifier)  # its event is dated 2024-04, exactly
    assert references(client, key, {"date_to": "2024-03", "dates": "approximate"}) == []
    assert references(client, key, {"date_to": "2024-04", "dates": "approximate"}) == [
        case.reference
    ]


@pytest.mark.parametrize("value", ["", "wide", "APPROXIMATE"])
def test_an_unknown_or_empty_dates_value_is_refused_naming_it(client, key, value):
    response = get(client, "cases/", key, {"dates": value})
    assert response.status_code == 400
    assert "dates" in response.json()
