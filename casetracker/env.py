"""Small typed readers for settings that come from the environment.

Each raises ImproperlyConfigured with the variable's name when a value cannot be read, so a
misconfigured deployment fails at start-up instead of running with a surprising default.
"""

import base64
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


POSTGRES_SESSION_OPTIONS = "-c jit=off -c random_page_cost=1.1"


def parse_database_url(url: str) -> dict:
    """Turn ``postgres://user:pass@host:port/name?opt=v`` or ``sqlite:///path`` into a
    Django DATABASES entry. Only the two databases the project supports are accepted."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("DATABASE_URL has a port that is not a number.") from None
        if not name:
            raise ImproperlyConfigured("DATABASE_URL names no database (postgres://…/NAME).")
        # Settings of each connection, unless the URL gives its own ``?options=``: no JIT
        # compilation (it spends hundreds of milliseconds compiling queries a web page runs in
        # a few), and the planner's cost of a random read for SSD storage, where an index
        # lookup is nearly as cheap as a sequential read (the default, 4, assumes disks).
        options.setdefault("options", POSTGRES_SESSION_OPTIONS)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": options,
        }
    if parts.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ImproperlyConfigured("DATABASE_URL names no SQLite file (sqlite:///path).")
        return sqlite_database(Path(path))
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported; use postgres:// or sqlite:///."
    )


def sqlite_database(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock
            # at BEGIN so that two writers queue instead of failing with "database is locked".
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


INSECURE_SECRET_PREFIXES = ("django-insecure", "changeme", "secret")


def secret_key(var_dir: Path, *, allow_generated: bool) -> str:
    """SECRET_KEY from the environment; in demo/debug mode a random key kept under var/.

    Production (``allow_generated`` false) refuses to start without a real key.
    """
    key = env_str("SECRET_KEY")
    if key:
        weak = len(key) < 50 or key.lower().startswith(INSECURE_SECRET_PREFIXES)
        if weak and not allow_generated:
            raise ImproperlyConfigured(
                "SECRET_KEY is too short or a placeholder. Generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )
        return key
    if not allow_generated:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production refuses to start without one; set SECRET_KEY "
            "to at least 50 random characters (DEBUG=true or DEMO=true generate one locally)."
        )
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    # Created with owner-only permissions: the key signs sessions.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def encryption_keys(var_dir: Path, *, allow_generated: bool) -> tuple[list[str], str]:
    """The encryption keys (newest first) and the audit digest key, never from the database.

    ``ENCRYPTION_KEYS`` (comma-separated) or ``ENCRYPTION_KEY_FILE`` (one key a line, newest
    first; a line ``digest: KEY`` holds the digest key), and ``AUDIT_DIGEST_KEY`` (else the
    file's digest line). Production refuses to start without them; demo/debug mode generates
    a key file under var/ once. Keys: 32 random bytes, url-safe base64
    (``python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'``).
    """
    keys, digest = env_list("ENCRYPTION_KEYS"), env_str("AUDIT_DIGEST_KEY")
    key_file = env_str("ENCRYPTION_KEY_FILE")
    if not keys and not key_file and allow_generated:
        key_file = str(var_dir / "encryption_keys")
        if not Path(key_file).exists():
            var_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(f"{_random_key()}\ndigest: {_random_key()}\n")
    if key_file and not keys:
        try:
            lines = Path(key_file).read_text().splitlines()
        except OSError as error:
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEY_FILE {key_file} cannot be read: {error.strerror}."
            ) from None
        for line in (line.strip() for line in lines):
            if line.startswith("digest:"):
                digest = digest or line.removeprefix("digest:").strip()
            elif line and not line.startswith("#"):
                keys.append(line)
    if not keys:
        raise ImproperlyConfigured(
            "No encryption keys. Production refuses to start without them: set ENCRYPTION_KEYS "
            "or ENCRYPTION_KEY_FILE (DEBUG=true or DEMO=true generate a key file locally)."
        )
    if not digest:
        raise ImproperlyConfigured(
            "AUDIT_DIGEST_KEY is not set (nor a 'digest:' line in ENCRYPTION_KEY_FILE)."
        )
    for number, key in enumerate(keys, 1):
        _check_key(key, f"Encryption key {number}")
    _check_key(digest, "AUDIT_DIGEST_KEY")
    return keys, digest


def _check_key(text: str, what: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except ValueError:  # binascii.Error and non-ASCII text are both ValueErrors
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{what} must be 32 random bytes in url-safe base64.")


def _random_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
