"""The statistics partners and the public read, cached (``CACHES["statistics"]``).

An entry is keyed by the *generation* of the published set, a random token that every write
of the snapshots replaces once it commits (``snapshots.writer`` calls ``bump``): a publish,
a withdrawal or an edit makes every cached answer unreachable at once, and they expire. The
token is random, never a counter, so that a token lost from the cache (evicted, cleared) is
never issued again for older answers.
"""

import hashlib
import json
import secrets

from django.core.cache import caches

GENERATION = "figures:generation"
# Raised by hand when the breakdowns or their rules change, so that answers cached by the
# code before an upgrade are not served by the code after it.
VERSION = 1


def store():
    return caches["statistics"]


def generation() -> str:
    token = store().get(GENERATION)
    if token is None:
        token = secrets.token_hex(16)
        # Another process may have set one meanwhile: theirs wins, so both read the same.
        if not store().add(GENERATION, token, timeout=None):
            token = store().get(GENERATION) or token
    return token


def bump() -> None:
    store().set(GENERATION, secrets.token_hex(16), timeout=None)


def key(*parts) -> str:
    basis = json.dumps([VERSION, generation(), *parts], sort_keys=True, default=str)
    return "figures:" + hashlib.sha256(basis.encode()).hexdigest()


def cached(parts: list, make):
    """``make()``'s value for ``parts`` (the request's language, filters, day…) under the
    current generation, made once per generation."""
    entry = key(*parts)
    value = store().get(entry)
    if value is None:
        value = make()
        store().set(entry, value)
    return value
