"""Calling the partner API in tests: its address, its lists, requests with a partner's key, and
the test environment every module of API tests needs."""

import pytest
from django.core.cache import cache
from django.db import connection

API = "/api/v1/"
LONG_AGO = "2000-01-01T00:00:00Z"
LIST_ENDPOINTS = [
    "cases",
    "people",
    "incidents",
    "organisations",
    "locations",
    "charges",
    "sources",
]


# --- the test environment (import both fixtures into each module of API tests) -------------


@pytest.fixture(autouse=True)
def api_views_run_outside_a_transaction(monkeypatch):
    """The API views are non-atomic (api.views.PartnerViewSet.as_view), so that a refused
    request is still logged. A test runs inside a transaction; DRF's error handling would mark
    it for rollback (ATOMIC_REQUESTS) and the request log could not be written, which never
    happens in production. Here, as there, DRF sees no request transaction."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", False)


@pytest.fixture(autouse=True)
def fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


# --- requests -------------------------------------------------------------------------------


def token_header(key, keyword="Token"):
    return {"HTTP_AUTHORIZATION": f"{keyword} {key}"}


def api_url(path):
    return path if path.startswith(("/", "http")) else API + path


def get(client, path, key, params=None, **extra):
    return client.get(api_url(path), params or {}, HTTP_AUTHORIZATION=f"Token {key}", **extra)


def get_json(client, path, key, params=None):
    response = get(client, path, key, params)
    assert response.status_code == 200, response.content
    return response.json()


def all_pages(client, path, key, params=None):
    """Every result of a list, following `next` to the end."""
    page = get_json(client, path, key, params)
    results = list(page["results"])
    while page["next"]:
        page = get_json(client, page["next"], key)
        results += page["results"]
    return results


def references(client, key, params=None):
    return [case["reference"] for case in all_pages(client, "cases/", key, params)]
