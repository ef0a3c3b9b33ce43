"""Settings read from the environment (casetracker/env.py) and the production start-up guard."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from casetracker.env import env_bool, env_int, env_list, parse_database_url, secret_key

STRONG_KEY = "k3Yq0Zr9vB2mXw7LpT4sN8dH1fJ6cG5aU0eR3iO9yQ2wE7tP4xS1zV8bN6mK3jL5"


# --- parse_database_url ----------------------------------------------------------------------

POSTGRES_URL = "postgres://user:p%40ss@db.example:5433/casetracker?sslmode=require"


def test_a_postgres_url_selects_the_postgresql_backend():
    assert parse_database_url(POSTGRES_URL)["ENGINE"] == "django.db.backends.postgresql"


def test_a_postgres_url_gives_name_user_host_and_port():
    db = parse_database_url(POSTGRES_URL)
    assert (db["NAME"], db["USER"], db["HOST"], db["PORT"]) == (
        "casetracker",
        "user",
        "db.example",
        "5433",
    )


def test_a_postgres_url_password_is_percent_decoded():
    assert parse_database_url(POSTGRES_URL)["PASSWORD"] == "p@ss"


def test_a_postgres_url_query_becomes_connection_options():
    assert parse_database_url(POSTGRES_URL)["OPTIONS"] == {
        "sslmode": "require",
        "options": "-c jit=off -c random_page_cost=1.1",
    }


def test_a_postgres_url_may_give_its_own_session_options():
    url = "postgres://user@db.example/casetracker?options=-c%20jit%3Don"
    assert parse_database_url(url)["OPTIONS"] == {"options": "-c jit=on"}


@pytest.mark.postgresql
def test_each_connection_runs_without_jit_and_with_ssd_costs(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"


def test_the_postgresql_scheme_is_accepted_too():
    db = parse_database_url("postgresql://user@db.example/casetracker")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "casetracker"
    assert db["PORT"] == ""


def test_a_postgres_url_without_a_database_name_is_refused():
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        parse_database_url("postgres://user:pass@db.example:5432/")


def test_a_sqlite_url_with_an_absolute_path_gives_that_file():
    db = parse_database_url("sqlite:////abs/path.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == Path("/abs/path.sqlite3")


def test_a_sqlite_database_writes_ahead_and_takes_the_write_lock_at_begin():
    options = parse_database_url("sqlite:////abs/path.sqlite3")["OPTIONS"]
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    assert options["transaction_mode"] == "IMMEDIATE"


def test_a_sqlite_url_without_a_path_is_refused():
    with pytest.raises(ImproperlyConfigured, match="names no SQLite file"):
        parse_database_url("sqlite:///")


def test_an_unsupported_scheme_is_refused_by_name():
    with pytest.raises(ImproperlyConfigured, match="'mysql'"):
        parse_database_url("mysql://user:pass@db.example/casetracker")


def test_a_postgres_url_with_a_port_that_is_not_a_number_is_refused_by_name():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        parse_database_url("postgres://user:pass@db.example:54x2/casetracker")


# --- env_bool, env_int, env_list -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        (" yes ", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("CT_FLAG", raw)
    assert env_bool("CT_FLAG", default=not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch, default):
    monkeypatch.delenv("CT_FLAG", raising=False)
    assert env_bool("CT_FLAG", default) is default


def test_env_bool_refuses_anything_else_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CT_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="CT_FLAG") as excinfo:
        env_bool("CT_FLAG")
    assert "maybe" in str(excinfo.value)


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("CT_NUMBER", "42")
    assert env_int("CT_NUMBER", 7) == 42


def test_env_int_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("CT_NUMBER", raising=False)
    assert env_int("CT_NUMBER", 7) == 7


def test_env_int_refuses_words_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CT_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="CT_NUMBER"):
        env_int("CT_NUMBER", 7)


def test_env_list_splits_on_commas_and_trims(monkeypatch):
    monkeypatch.setenv("CT_HOSTS", " a.example , b.example,,c.example ")
    assert env_list("CT_HOSTS") == ["a.example", "b.example", "c.example"]


def test_env_list_falls_back_to_a_copy_of_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("CT_HOSTS", raising=False)
    default = ["localhost"]
    hosts = env_list("CT_HOSTS", default)
    assert hosts == ["localhost"]
    assert hosts is not default


# --- secret_key ------------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        secret_key(tmp_path, allow_generated=False)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "weak",
    ["too-short-key", "django-insecure-" + "a" * 60, "changeme" + "a" * 60, "x" * 49],
)
def test_production_refuses_a_short_or_placeholder_secret_key(monkeypatch, tmp_path, weak):
    monkeypatch.setenv("SECRET_KEY", weak)
    with pytest.raises(ImproperlyConfigured, match="too short or a placeholder"):
        secret_key(tmp_path, allow_generated=False)


def test_production_uses_a_long_random_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    assert len(STRONG_KEY) == 64
    assert secret_key(tmp_path, allow_generated=False) == STRONG_KEY


def test_demo_mode_without_a_secret_key_generates_one_owner_readable_only(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key = secret_key(tmp_path / "var", allow_generated=True)
    key_file = tmp_path / "var" / "secret_key"
    assert len(key) >= 50
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_demo_mode_returns_the_same_generated_key_on_a_second_call(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = secret_key(tmp_path, allow_generated=True)
    assert secret_key(tmp_path, allow_generated=True) == first


def test_demo_mode_prefers_a_secret_key_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    assert secret_key(tmp_path, allow_generated=True) == STRONG_KEY
    assert not (tmp_path / "secret_key").exists()


# --- the real settings module ----------------------------------------------------------------


def import_real_settings(tmp_path, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DEMO", "VAR_DIR", "DATABASE_URL"}
    }
    environ.update(DJANGO_SETTINGS_MODULE="casetracker.settings", VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_refuse_to_load_without_a_secret_key(tmp_path):
    result = import_real_settings(tmp_path, DEBUG="false", DEMO="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_settings_load_with_a_strong_secret_key(tmp_path):
    result = import_real_settings(tmp_path, DEBUG="false", DEMO="false", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stderr
