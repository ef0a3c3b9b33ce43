"""The statistics, cached (``CACHES["statistics"]``): partners' and the public's, and the
staff's.

An entry is keyed by the *generation* of what it counts, a random token that every write
replaces once it commits: of the published set for partners (``snapshots.writer`` calls
``bump``: a publish, a withdrawal or an edit makes every cached answer unreachable at once,
and they expire), of every case's facts for staff (``figures.staff``). The token is random,
never a counter, so that a token lost from the cache (evicted, cleared) is never issued
again for older answers.
"""

import hashlib
import json
import secrets

from django.core.cache import caches

GENERATION = "figures:generation"
# What a generation counts: the published cases (partners, the public) or every case (staff).
PUBLISHED = "published"
STAFF = "staff"
SCOPES = (PUBLISHED, STAFF)
# Raised by hand when the breakdowns or their rules change, so that answers cached by the
# code before an upgrade are not served by the code after it.
VERSION = 2


def store():
    return caches["statistics"]


def generation(scope: str = PUBLISHED) -> str:
    name = f"{GENERATION}:{scope}"
    token = store().get(name)
    if token is None:
        token = secrets.token_hex(16)
        # Another process may have set one meanwhile: theirs wins, so both read the same.
        if not store().add(name, token, timeout=None):
            token = store().get(name) or token
    return token


def bump(*scopes: str) -> None:
    """A new generation for these scopes (all of them when none is named)."""
    for scope in scopes or SCOPES:
        store().set(f"{GENERATION}:{scope}", secrets.token_hex(16), timeout=None)


def key(scope: str, *parts) -> str:
    basis = json.dumps([VERSION, scope, generation(scope), *parts], sort_keys=True, default=str)
    return "figures:" + hashlib.sha256(basis.encode()).hexdigest()


def cached(parts: list, make, scope: str = PUBLISHED):
    """``make()``'s value for ``parts`` (the request's language, filters, day…) under the
    current generation of ``scope``, made once per generation."""
    entry = key(scope, *parts)
    value = store().get(entry)
    if value is None:
        value = make()
        store().set(entry, value)
    return value
