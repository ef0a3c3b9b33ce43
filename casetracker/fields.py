"""Model fields and file storage that keep restricted data encrypted at rest (casetracker.crypto).

The database only ever holds ``ct2:`` tokens; Python code, the admin and forms see plain text.
Each token is bound to its column, ``<db_table>.<column>`` of the model the field belongs to
(casetracker.crypto): copied into another column, it fails to decrypt there. simple-history
gives the Historical models their own copies of these fields and copies values through the
ORM (plain text read from the instance, encrypted again on save), so history rows are
encrypted the same way, bound to the history table's columns. Encrypted columns cannot be
searched, filtered or ordered by content (each encryption is randomised): only ``isnull`` and
comparison with "" work.
"""

from django.core.exceptions import FieldError
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models.lookups import Exact, IsNull

from casetracker import crypto


class _EmptyOnlyExact(Exact):
    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.model.__name__}.{self.lhs.target.name} is encrypted: "
                "it can only be compared with the empty string."
            )
        return super().get_prep_lookup()


class EncryptedMixin:
    #: Lets other code (the audit chain) recognise columns that hold ciphertext.
    encrypted = True

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return IsNull
        return None

    @property
    def binding(self) -> str:
        """What this column's tokens are bound to: ``<db_table>.<column>``."""
        return crypto.column_binding(self.model._meta.db_table, self.column)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt_text(value, self.binding)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return crypto.decrypt_text(value, self.binding)
        except crypto.DecryptionError as error:
            raise crypto.DecryptionError(
                f"Cannot decrypt {self.model._meta.label}.{self.name} "
                f"(column {self.model._meta.db_table}.{self.column}): {error}."
            ) from None


class EncryptedTextField(EncryptedMixin, models.TextField):
    """A TextField stored encrypted."""


class EncryptedCharField(EncryptedMixin, models.CharField):
    """A CharField (one-line input, ``max_length`` checked on the plain text) stored
    encrypted in a text column: the ciphertext is longer than the text."""

    def db_type(self, connection):
        return models.TextField().db_type(connection)

    def cast_db_type(self, connection):
        return self.db_type(connection)


class EncryptedEmailField(EncryptedMixin, models.EmailField):
    """An EmailField (validated as an address on the plain text) stored encrypted in a text
    column."""

    def db_type(self, connection):
        return models.TextField().db_type(connection)

    def cast_db_type(self, connection):
        return self.db_type(connection)


class EncryptedURLField(EncryptedMixin, models.URLField):
    """A URLField (validated as an address on the plain text) stored encrypted in a text
    column. Pair it with a :class:`LookupDigestField` where records must be found by it."""

    def db_type(self, connection):
        return models.TextField().db_type(connection)

    def cast_db_type(self, connection):
        return self.db_type(connection)


class LookupDigestField(models.CharField):
    """A keyed digest of the encrypted field named by ``source``, derived on every save and
    bulk insert (``pre_save``), so that records can be found by an exact value without the
    value being stored in clear: filter with :meth:`digest_of` (``url_digest=...``).

    Empty values have an empty digest. Keyed by the audit digest key, which is never rotated
    (casetracker.crypto.lookup_digest), so digests survive key rotation.
    """

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs["max_length"] = 64
        kwargs["editable"] = False
        kwargs["blank"] = True
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("max_length", "editable", "blank"):
            kwargs.pop(key, None)
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def digest_of(self, value: str | None) -> str:
        value = (value or "").strip()
        binding = crypto.column_binding(self.model._meta.db_table, self.source)
        return crypto.lookup_digest(value, binding) if value else ""

    def pre_save(self, model_instance, add):
        value = self.digest_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


# --- evidence files ------------------------------------------------------------------------

FILE_PURPOSE = b"evidence"


class _SealedContent(File):
    """An upload, encrypted chunk by chunk as the storage writes it."""

    def __init__(self, content):
        super().__init__(None, getattr(content, "name", None))
        self._content = content

    def chunks(self, chunk_size=None):
        return crypto.encrypt_stream(self._content.chunks(), FILE_PURPOSE)


class EncryptedFileSystemStorage(FileSystemStorage):
    """Files encrypted on disk (casetracker.crypto stream format), plain bytes when opened.

    Opening returns a read-only, streamed, authenticated plaintext reader; a file that was
    not encrypted, was altered or is under an unknown key raises DecryptionError.
    """

    def _save(self, name, content):
        return super()._save(name, _SealedContent(content))

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("Encrypted evidence files are written once, through save().")
        raw = open(self.path(name), "rb")  # noqa: SIM115 (the reader closes it)
        return File(crypto.DecryptingReader(raw, FILE_PURPOSE), name)


def evidence_storage() -> EncryptedFileSystemStorage:
    """The evidence files' storage (a callable, so migrations do not freeze MEDIA_ROOT)."""
    return EncryptedFileSystemStorage()


class EvidenceIntegrityError(Exception):
    """A stored evidence file no longer matches its recorded SHA-256."""


def reseal_evidence_file(root, name: str, sha256: str, ring=None) -> bool:
    """Put one stored evidence file under the newest key (encrypting it if it was stored in
    the clear before encryption); return whether it was rewritten. Refuses a file whose
    content does not match ``sha256``, so that re-encryption never blesses a tampered file.
    The new file is written beside the old one and renamed over it: never half-written."""
    import hashlib
    import os
    from pathlib import Path

    ring = ring or crypto.keyring()
    path = Path(root) / name
    kid = crypto.stream_key_id(path, FILE_PURPOSE)
    if kid == ring.newest:
        return False
    temporary = path.with_name(f".{path.name}.resealing")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source, open(temporary, "wb") as target:
            if kid is None:
                plain = iter(lambda: source.read(crypto.CHUNK), b"")
            else:
                plain = crypto.decrypt_stream(source.read, FILE_PURPOSE, ring)

            def hashed(chunks):
                for chunk in chunks:
                    digest.update(chunk)
                    yield chunk

            for sealed in crypto.encrypt_stream(hashed(plain), FILE_PURPOSE, ring):
                target.write(sealed)
            target.flush()
            os.fsync(target.fileno())
        if digest.hexdigest() != sha256:
            raise EvidenceIntegrityError(
                f"Evidence file {name} does not match its recorded SHA-256: left as it is."
            )
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True
