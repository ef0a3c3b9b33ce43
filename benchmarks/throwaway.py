"""The set-up the database benchmarks share: production-like settings on a throwaway database.

api_bench, import_bench, audit_bench and export_bench never touch real data. Django runs with
DEBUG and DEMO off, a throwaway SECRET_KEY, ENCRYPTION_KEYS and AUDIT_DIGEST_KEY, and a
temporary VAR_DIR (STATIC_ROOT and MEDIA_ROOT unset, so that both fall under it). The database
is a SQLite file in that VAR_DIR, or, with DATABASE_URL pointing at PostgreSQL, a database of
the benchmark's own: created on that server through DATABASE_URL (dropping one left over by an
interrupted run) and dropped at the end.

A benchmark that runs Django in its own process sets os.environ before Django starts::

    with throwaway.django_environment("casetracker-bench-", "casetracker_bench") as vendor:
        django.setup()

One that runs Django in child processes gives them an environment of their own::

    with throwaway.throwaway_database("casetracker_export_bench") as url:
        env = throwaway.production_environment(var_dir, url)
        subprocess.run([...], env=env)

Imported as `throwaway`: the scripts run as `python benchmarks/X.py`, which puts this folder
first on sys.path.
"""

import base64
import os
import secrets
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def random_key() -> str:
    """A throwaway key for ENCRYPTION_KEYS or AUDIT_DIGEST_KEY (32 random bytes, base64)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def production_environment(var_dir: str, database_url: str | None, **extra: str | None) -> dict:
    """A copy of os.environ with production-like settings on ``var_dir``, for Django.

    ``database_url`` is the throwaway database's (from `throwaway_database`); None means
    SQLite in ``var_dir``. A DATABASE_URL from the caller's environment is never kept, so that
    the real database cannot be used by mistake. ``extra`` variables are set after the
    defaults; None unsets one (audit_bench: ``ENCRYPTION_KEYS=None`` with ``DEMO="true"``).
    Also makes ``var_dir/static``, of which WhiteNoise would warn if it were missing.
    """
    env = dict(os.environ)
    for name in ("STATIC_ROOT", "MEDIA_ROOT", "DATABASE_URL"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="casetracker.settings",
        VAR_DIR=var_dir,
        DEBUG="false",
        DEMO="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        # Throwaway keys: production refuses to start without them.
        ENCRYPTION_KEYS=random_key(),
        AUDIT_DIGEST_KEY=random_key(),
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    Path(var_dir, "static").mkdir(exist_ok=True)
    return env


def set_environment(env: dict) -> None:
    """Make os.environ ``env`` (variables not in it removed): before Django starts."""
    for name in set(os.environ) - set(env):
        del os.environ[name]
    os.environ.update(env)


def vendor(database_url: str | None) -> str:
    """The Django database vendor of a URL from `throwaway_database`."""
    return "postgresql" if database_url else "sqlite"


def _postgres_connect(url: str):
    """An autocommit psycopg connection to the database of a PostgreSQL DATABASE_URL."""
    import psycopg

    from casetracker.env import parse_database_url

    db = parse_database_url(url)
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": db["PORT"],
        **db["OPTIONS"],
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def _close_django_connections() -> None:
    """Close this process's Django connections, if Django runs here: the drop needs them gone."""
    if "django.db" not in sys.modules:
        return
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()


@contextmanager
def throwaway_database(name: str):
    """Yield the URL of a PostgreSQL database ``name`` made for this run, and drop it after.

    Only when os.environ's DATABASE_URL points at PostgreSQL (it is used to reach the server,
    not written to); otherwise yield None: SQLite, the file in the temporary VAR_DIR.
    """
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        yield None
        return
    from psycopg import sql

    if parts.path.strip("/") == name:
        sys.exit(f"Point DATABASE_URL at another database: the benchmark makes {name} itself.")
    identifier = sql.Identifier(name)
    with _postgres_connect(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(identifier))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _close_django_connections()
        with _postgres_connect(url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(identifier))


@contextmanager
def django_environment(prefix: str, database: str, **extra: str | None):
    """For Django in this process: a temporary VAR_DIR (named ``prefix``…), the throwaway
    ``database``, and os.environ set to `production_environment` on them, ``extra`` included.

    Yields the vendor, "sqlite" or "postgresql"; removes the database and the VAR_DIR after.
    """
    sys.path.insert(0, str(BASE_DIR))  # the project's apps, for Django
    var_dir = tempfile.mkdtemp(prefix=prefix)
    try:
        with throwaway_database(database) as url:
            set_environment(production_environment(var_dir, url, **extra))
            yield vendor(url)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def database_version(vendor: str) -> str:
    """The server's version, from Django's default connection ("sqlite" or "postgresql")."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("select sqlite_version()" if vendor == "sqlite" else "show server_version")
        return cursor.fetchone()[0]
