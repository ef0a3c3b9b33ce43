"""Encryption at rest: the keyring, encrypted text values, and an encrypted stream format.

Keys live outside the database (``ENCRYPTION_KEYS`` or ``ENCRYPTION_KEY_FILE``, see
``casetracker.env.encryption_keys``), newest first. Everything is AES-256-GCM from
``cryptography``; every ciphertext names the key it was made with (a key id derived from the
key), so decryption picks the right key and ``rotate_keys`` can skip what is already under the
newest one. AES-GCM rather than MultiFernet: a key id in the token makes "already rotated?" a
string comparison instead of a trial decryption, 256-bit keys, and the same primitive serves
the chunked file and backup format below.

Text values: ``ct2:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``. The empty string is
stored as itself (blank fields stay cheap to test for; an empty note reveals nothing).

Each text value is bound to its column: the associated data is a format constant, the key id
and the column's identity ``<db_table>.<column>`` (:func:`column_binding`; a history table is
a table of its own, so its rows have their own binding: simple-history copies values through
the ORM, which decrypts them and encrypts them again for the history column). A token copied
with the database's write access into another column (a testifier's contact details into a
published source's author, which partners see) does not decrypt there: DecryptionError, never
the other column's plaintext. Not bound: the row. A token can still be moved to another row of
the same column (or an older history row's value put back) without the keys; binding to the
primary key is out of scope, as the key is not known before the INSERT that writes the value.
The audit chain (casetracker.integrity) is what detects such swaps in history tables.
The ``ct1:`` format of before (no column binding) is refused, not read: it was never released.

Streams (evidence files, backups): a header, then chunks of ``CHUNK`` plaintext bytes, each
sealed separately with its index and a final flag in both the nonce and the associated data
(the STREAM construction): reordering, dropping, appending, truncating or altering anything is
detected. Header: magic ``CTSTREAM``, format version, key id, purpose, random nonce prefix.
"""

import base64
import binascii
import hashlib
import hmac
import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

TOKEN_PREFIX = "ct2:"  # noqa: S105 (a format marker, not a secret)
_UNBOUND_PREFIX = "ct1:"  # the unreleased format without the column binding: refused
_TOKEN_AAD = b"casetracker field v2\0"
KEY_BYTES = 32


class DecryptionError(Exception):
    """A value or file could not be decrypted: wrong or missing key, or altered data.

    The messages about files and keys reach staff (the evidence check, a refused import):
    translated. Those about single column values only reach logs and commands."""


# --- keys ----------------------------------------------------------------------------------


def decode_key(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured(f"{what} is not url-safe base64.") from None
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"{what} must be {KEY_BYTES} bytes, not {len(raw)}.")
    return raw


def new_key() -> str:
    """A fresh key as written in ENCRYPTION_KEYS or the key file."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def key_id(raw: bytes) -> str:
    # A short public name for the key (not a secret: a truncated hash of a random 256-bit key).
    return hashlib.sha256(b"casetracker key id\0" + raw).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """Encryption keys, newest first, and the never-rotated audit digest key."""

    ids: tuple[str, ...]
    aeads: dict
    digest_key: bytes

    @property
    def newest(self) -> str:
        return self.ids[0]

    def aead(self, kid: str) -> AESGCM:
        try:
            return self.aeads[kid]
        except KeyError:
            raise DecryptionError(
                gettext(
                    "it was encrypted with key %(key)s, which is not in the keyring (keys "
                    "loaded: %(loaded)s). Add that key to ENCRYPTION_KEYS or the key file."
                )
                % {"key": kid, "loaded": ", ".join(self.ids)}
            ) from None


@lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...], digest_key: str) -> Keyring:
    if not keys:
        raise ImproperlyConfigured(
            "No encryption keys: set ENCRYPTION_KEYS or ENCRYPTION_KEY_FILE."
        )
    raws = [decode_key(k, f"Encryption key {n}") for n, k in enumerate(keys, 1)]
    ids = tuple(key_id(raw) for raw in raws)
    if len(set(ids)) != len(ids):
        raise ImproperlyConfigured("The same encryption key is listed twice.")
    return Keyring(
        ids=ids,
        aeads={kid: AESGCM(raw) for kid, raw in zip(ids, raws, strict=True)},
        digest_key=decode_key(digest_key, "AUDIT_DIGEST_KEY"),
    )


def keyring() -> Keyring:
    """The keyring of the current settings (cached per distinct key list)."""
    return _keyring(tuple(settings.ENCRYPTION_KEYS), settings.AUDIT_DIGEST_KEY)


def audit_digest(value: str) -> str:
    """HMAC-SHA256 of a plaintext under the audit digest key, which is never rotated: the audit
    chain hashes encrypted columns through it, so the chain survives key rotation and does not
    expose short secrets (a phone number) to a brute-force search over plain SHA-256."""
    return hmac.new(keyring().digest_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def lookup_digest(value: str, purpose: str) -> str:
    """A keyed digest to find records by an encrypted value (casetracker.fields
    LookupDigestField): HMAC-SHA256 under the audit digest key, separated by ``purpose`` from
    the audit chain's digests and from other columns' lookups."""
    message = f"lookup\n{purpose}\n{value}".encode()
    return hmac.new(keyring().digest_key, message, hashlib.sha256).hexdigest()


# --- text values ---------------------------------------------------------------------------


def is_token(value) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def token_key_id(token: str) -> str:
    return token[len(TOKEN_PREFIX) :].split(":", 1)[0]


def column_binding(table: str, column: str) -> str:
    """The identity a text value is bound to: ``<db_table>.<column>``."""
    return f"{table}.{column}"


def _aad(kid: str, column: str) -> bytes:
    # Refuse a missing binding rather than encrypt or decrypt without one (and catch a Keyring
    # passed where the column goes). The key id has a fixed length, so the parts cannot run
    # into each other.
    if not isinstance(column, str) or "." not in column:
        raise TypeError(f"a column binding '<db_table>.<column>' is required, not {column!r}")
    return _TOKEN_AAD + kid.encode("ascii") + b"\0" + column.encode("utf-8")


def _refuse_unbound(value: str) -> None:
    if value.startswith(_UNBOUND_PREFIX):
        raise DecryptionError(
            "the stored value is in the unreleased ct1 format, which is not bound to its "
            "column: it is not read (re-create the database)"
        )


def encrypt_text(plaintext: str, column: str, ring: Keyring | None = None) -> str:
    """A token of ``plaintext`` that decrypts only in ``column`` (:func:`column_binding`)."""
    if plaintext == "":
        return ""
    ring = ring or keyring()
    kid, nonce = ring.newest, os.urandom(12)
    aad = _aad(kid, column)
    sealed = ring.aead(kid).encrypt(nonce, plaintext.encode("utf-8"), aad)
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
    return f"{TOKEN_PREFIX}{kid}:{body}"


def decrypt_text(token: str, column: str, ring: Keyring | None = None) -> str:
    """The plaintext of a token read from ``column``; DecryptionError (never the token itself)
    when it cannot be, including when the token was written for another column."""
    if token == "":
        return ""
    if not is_token(token):
        _refuse_unbound(token)
        raise DecryptionError("the stored value is not encrypted (written behind the application?)")
    ring = ring or keyring()
    try:
        kid, body = token[len(TOKEN_PREFIX) :].split(":", 1)
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise DecryptionError("the stored value is not a well-formed token") from None
    aad = _aad(kid, column)
    aead = ring.aead(kid)
    try:
        return aead.decrypt(blob[:12], blob[12:], aad).decode("utf-8")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise DecryptionError(
            f"the value does not authenticate under key {kid} in column {column}: it was "
            "altered, or copied here from another column"
        ) from None


def reseal_text(value: str, column: str, ring: Keyring | None = None) -> str | None:
    """``value`` (stored in ``column``) under the newest key, or None if it already is (or is
    empty). Plaintext left from before encryption is encrypted. A token under the newest key
    is skipped without being checked; one under an older key must decrypt in ``column``."""
    ring = ring or keyring()
    if value in (None, ""):
        return None
    if not is_token(value):
        _refuse_unbound(value)
        return encrypt_text(value, column, ring)
    if token_key_id(value) == ring.newest:
        return None
    return encrypt_text(decrypt_text(value, column, ring), column, ring)


# --- streams -------------------------------------------------------------------------------

MAGIC = b"CTSTREAM"
STREAM_VERSION = 1
CHUNK = 64 * 1024
_HEADER = struct.Struct(">8sB8s16s7s")  # magic, version, key id, purpose, nonce prefix
HEADER_SIZE = _HEADER.size
_TAG = 16


def _chunk_nonce_and_aad(header: bytes, prefix: bytes, index: int, final: bool):
    tail = struct.pack(">IB", index, 1 if final else 0)
    return prefix + tail, header + tail


class StreamEncryptor:
    """Feed plaintext with ``update()`` and finish with ``finalize()``; both return the
    ciphertext bytes to write. Memory stays at one chunk whatever the stream's length."""

    def __init__(self, purpose: bytes, ring: Keyring | None = None):
        ring = ring or keyring()
        self.kid = ring.newest
        self._aead = ring.aead(self.kid)
        self._prefix = os.urandom(7)
        self.header = _HEADER.pack(
            MAGIC, STREAM_VERSION, self.kid.encode(), purpose.ljust(16, b"\0"), self._prefix
        )
        self._buffer = bytearray()
        self._index = 0
        self._started = False

    def _seal(self, data: bytes, final: bool) -> bytes:
        nonce, aad = _chunk_nonce_and_aad(self.header, self._prefix, self._index, final)
        self._index += 1
        return self._aead.encrypt(nonce, bytes(data), aad)

    def _head(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self.header

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        out = [self._head()]
        # Keep at least one byte back: the last chunk must be sealed as final.
        while len(self._buffer) > CHUNK:
            out.append(self._seal(self._buffer[:CHUNK], final=False))
            del self._buffer[:CHUNK]
        return b"".join(out)

    def finalize(self) -> bytes:
        head = self._head()
        last = self._seal(self._buffer, final=True)
        self._buffer = bytearray()
        return head + last


def encrypt_stream(chunks: Iterable[bytes], purpose: bytes, ring=None) -> Iterator[bytes]:
    encryptor = StreamEncryptor(purpose, ring)
    for chunk in chunks:
        out = encryptor.update(chunk)
        if out:
            yield out
    yield encryptor.finalize()


def read_header(head: bytes, purpose: bytes) -> tuple[str, bytes]:
    if len(head) < HEADER_SIZE or not head.startswith(MAGIC):
        raise DecryptionError(gettext("not an encrypted casetracker file (no header)"))
    _magic, version, kid, stored_purpose, prefix = _HEADER.unpack(head[:HEADER_SIZE])
    if version != STREAM_VERSION:
        raise DecryptionError(gettext("unknown format version %(version)s") % {"version": version})
    if stored_purpose.rstrip(b"\0") != purpose:
        what = stored_purpose.rstrip(b"\0").decode("ascii", "replace")
        raise DecryptionError(
            gettext("this is an encrypted %(found)s file, not %(expected)s")
            % {"found": repr(what), "expected": repr(purpose.decode())}
        )
    return kid.decode("ascii", "replace"), prefix


def stream_key_id(path, purpose: bytes) -> str | None:
    """The key id of an encrypted file, or None if the file is not encrypted."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_SIZE)
    if not head.startswith(MAGIC):
        return None
    return read_header(head, purpose)[0]


def decrypt_stream(read, purpose: bytes, ring=None) -> Iterator[bytes]:
    """Plaintext chunks of a stream read with ``read(n)``. Raises DecryptionError on a wrong
    key or any alteration, including truncation (a missing final chunk)."""
    ring = ring or keyring()
    header = read(HEADER_SIZE)
    kid, prefix = read_header(header, purpose)
    aead = ring.aead(kid)
    index, current = 0, read(CHUNK + _TAG)
    while True:
        upcoming = read(CHUNK + _TAG) if len(current) == CHUNK + _TAG else b""
        final = not upcoming
        if len(current) < _TAG:
            raise DecryptionError(gettext("the file is truncated"))
        nonce, aad = _chunk_nonce_and_aad(header, prefix, index, final)
        try:
            plain = aead.decrypt(nonce, current, aad)
        except InvalidTag:
            raise DecryptionError(
                gettext("chunk %(index)s does not authenticate: the file is truncated or altered")
                % {"index": index}
            ) from None
        yield plain
        if final:
            return
        index, current = index + 1, upcoming


class DecryptingReader(io.RawIOBase):
    """A read-only file object over an encrypted stream (for FileResponse and storage)."""

    def __init__(self, raw, purpose: bytes, ring=None):
        self._raw = raw
        self._chunks = decrypt_stream(raw.read, purpose, ring)
        self._pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            if not self._pending:
                continue
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self):
        try:
            self._raw.close()
        finally:
            super().close()


# --- re-encrypting stored columns (the data migration and rotate_keys) ---------------------


def encrypted_columns(app_registry) -> list[tuple[str, str, list[str]]]:
    """(table, primary key column, encrypted columns) of every model, history included."""
    found = {}
    for model in app_registry.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        columns = [f.column for f in meta.concrete_fields if getattr(f, "encrypted", False)]
        if columns:
            found[meta.db_table] = (meta.db_table, meta.pk.column, columns)
    return sorted(found.values())


def _append_only_trigger(connection, table: str) -> str | None:
    """The append-only trigger of a history or log table (casetracker.audit), if any."""
    if connection.vendor != "postgresql":
        return None
    name = f"{table}_append_only"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
            [name, connection.ops.quote_name(table)],
        )
        return name if cursor.fetchone() else None


def reseal_table(
    connection,
    table: str,
    pk: str,
    columns: list[str],
    *,
    ring: Keyring | None = None,
    batch: int = 500,
    progress=None,
) -> int:
    """Put every value of ``columns`` under the newest key (encrypting plaintext left from
    before encryption), each bound to ``<table>.<column>`` as the fields bind it (the real
    database names: a history table's own); return how many rows changed. Works in batches,
    each its own transaction (inside a migration they nest as savepoints), so it can be
    interrupted and re-run: rows already under the newest key are skipped.

    The one sanctioned rewrite of append-only tables: on PostgreSQL their trigger is disabled
    for the UPDATE and enabled again inside the same transaction, so it is never off for any
    other writer (ALTER TABLE holds an exclusive lock on the table until commit).
    """
    from django.db import transaction

    ring = ring or keyring()
    qn = connection.ops.quote_name
    trigger = _append_only_trigger(connection, table)
    bindings = [column_binding(table, column) for column in columns]
    # Names come from the models (or a migration's fixed list), never from input.
    select = (
        f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)} "  # noqa: S608
        f"WHERE {qn(pk)} > %s ORDER BY {qn(pk)} LIMIT %s"
    )
    changed, last = 0, None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min({qn(pk)}) - 1 FROM {qn(table)}")  # noqa: S608
        last = cursor.fetchone()[0]
    if last is None:
        return 0  # empty table
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(select, [last, batch])
            rows = cursor.fetchall()
            updates = []
            for row in rows:
                try:
                    resealed = [
                        reseal_text(value, binding, ring)
                        for value, binding in zip(row[1:], bindings, strict=True)
                    ]
                except DecryptionError as error:
                    raise DecryptionError(f"{table} row {row[0]}: {error}") from None
                if any(value is not None for value in resealed):
                    kept = zip(resealed, row[1:], strict=True)
                    updates.append([new if new is not None else old for new, old in kept])
                    updates[-1].append(row[0])
            if updates:
                _update(connection, cursor, table, pk, columns, updates, trigger)
        if progress is not None:
            progress.update(len(rows))
        changed += len(updates)
        if len(rows) < batch:
            return changed
        last = rows[-1][0]


def _update(connection, cursor, table, pk, columns, rows, trigger) -> None:
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(c)} = %s" for c in columns)
    if trigger:
        # ALTER TABLE refuses to run while deferred foreign-key checks are pending in this
        # transaction (rows just written): run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {qn(table)} DISABLE TRIGGER {qn(trigger)}")
    cursor.executemany(
        f"UPDATE {qn(table)} SET {assignments} WHERE {qn(pk)} = %s",  # noqa: S608
        rows,
    )
    if trigger:
        cursor.execute(f"ALTER TABLE {qn(table)} ENABLE TRIGGER {qn(trigger)}")


def decrypt_table(connection, table: str, pk: str, columns: list[str]) -> None:
    """Undo the data migration (back to plain text), e.g. to migrate backwards."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)}"  # noqa: S608
        )
        bindings = [column_binding(table, column) for column in columns]
        rows = [
            [
                decrypt_text(v, binding) if is_token(v) else v
                for v, binding in zip(row[1:], bindings, strict=True)
            ]
            + [row[0]]
            for row in cursor.fetchall()
        ]
        if rows:
            _update(
                connection,
                cursor,
                table,
                pk,
                columns,
                rows,
                _append_only_trigger(connection, table),
            )


def reseal_columns_operation(columns: list[tuple[str, str, list[str]]]):
    """A migration operation encrypting the values already stored in ``columns`` ((table,
    primary key column, columns) triples, listed in the migration so that it keeps its meaning
    whatever the models become) after an earlier operation made them encrypted fields; undone
    by decrypting them. The sanctioned rewrite of append-only tables (:func:`reseal_table`):
    it must run before the audit chain is built (casetracker 0004 depends on it)."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for table, pk, names in columns:
            reseal_table(schema_editor.connection, table, pk, names)

    def backwards(apps, schema_editor):
        for table, pk, names in columns:
            decrypt_table(schema_editor.connection, table, pk, names)

    return migrations.RunPython(forwards, backwards, elidable=False)
