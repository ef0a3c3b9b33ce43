"""The tamper-evident audit chain: every history row, workflow step and security event is a
link of one hash chain, so that a row edited, deleted or inserted behind the application's
back is found by ``manage.py verify_audit``.

Each :class:`AuditLink` names one record (model label and primary key) and stores

- ``content_hash``: SHA-256 of the record's canonical content (:func:`canonical_content`);
- ``previous_hash``: the ``hash`` of the link before it (64 zeros for the first);
- ``hash``: SHA-256 of ``previous_hash``, ``position``, label, pk and ``content_hash``, one per
  line (:func:`link_hash`).

Positions run 1, 2, 3… without gaps. Appends are serialised so that the chain stays one line:
on PostgreSQL by a transaction-level advisory lock taken before the head is read, on SQLite by
the write lock that ``BEGIN IMMEDIATE`` takes (``casetracker.env.sqlite_database``). A link is
written in the same transaction as its record, so a rolled-back write leaves no link.

Anyone who can write to the database can still rebuild the whole chain; what they cannot do is
make it end in the head (position and hash) that the group copied somewhere else earlier. Hence
the head on the admin index and in every export manifest (:func:`chain_head`).
"""

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache

from django.apps import apps as global_apps
from django.db import connections, migrations, models, router, transaction
from django.db.backends.utils import format_number
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the chain: any constant that no other lock in the project uses.
LOCK_KEY = 0x63745F6175646974  # "ct_audit"
# Records chained besides every simple-history table ("Historical…" models).
LOGS = ("cases.casetransition", "casetracker.securityevent", "casetracker.accountchange")


class AuditLink(models.Model):
    """One link of the audit chain. Written by the application only; nobody edits it."""

    position = models.BigIntegerField(_("position"), primary_key=True, editable=False)
    record_type = models.CharField(
        _("record type"), max_length=100, help_text=_("The record's model, as app_label.model.")
    )
    record_pk = models.BigIntegerField(_("record ID"))
    content_hash = models.CharField(
        _("content hash"), max_length=64, help_text=_("SHA-256 of the record's canonical content.")
    )
    previous_hash = models.CharField(
        _("previous hash"), max_length=64, help_text=_("The hash of the link before.")
    )
    hash = models.CharField(
        _("hash"),
        max_length=64,
        help_text=_("SHA-256 of the previous hash, position, record and content hash."),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-position"]
        verbose_name = _("audit chain link")
        verbose_name_plural = _("audit chain links")
        # Only ever viewed: no role can be given the right to add, change or delete links.
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_pk"], name="casetracker_auditlink_one_per_record"
            ),
        ]

    def __str__(self):
        return f"#{self.position} {self.record_type} {self.record_pk}"


# --- canonical content -----------------------------------------------------------------------


def is_chained(model) -> bool:
    """History tables (simple-history's, including those of m2m fields) and the logs in LOGS."""
    return model._meta.model_name.startswith("historical") or model._meta.label_lower in LOGS


def chained_models(apps=global_apps) -> list[type[models.Model]]:
    """Every model whose rows are links of the chain, in label order."""
    found = [m for m in apps.get_models(include_auto_created=True) if is_chained(m)]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _datetime(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def _plain(value):
    """A column value as JSON: see canonical_content()."""
    if value is None or isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, datetime):
        return _datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _digest(value):
    from casetracker.crypto import audit_digest  # the encryption at rest of issue 7

    return None if value is None else audit_digest(value)


# Columns encrypted after the chain began: their history rows were chained with the plaintext,
# and are hashed through the plaintext still, so that the links written before stay valid.
# Safe here: every such row also holds keyed digests of other encrypted columns (a citation's
# claim, a source's author and notes), so its content hash cannot be searched for the value.
CHAINED_AS_PLAINTEXT = {
    "sources.historicalsource": {"url"},
    "sources.historicalcitation": {"locator"},
}


# Columns added to a chained table after its rows were chained, with the value the rows written
# before hold in them (the column's default): a row holding that value is hashed without the
# column, as it was before the column existed; any other value is hashed. Add an entry here in
# the same change as the migration that adds a column to a history table or a chained log.
ADDED_AFTER_CHAINING: dict[str, dict[str, object]] = {
    "cases.historicallocation": {"name_ru": ""},  # cases 0008
    "people.historicalorganisation": {"name_ru": ""},  # people 0009
    "people.historicalperson": {"names_by_script": {}, "synthetic": False},  # people 0010, 0011
    "cases.historicalcase": {"synthetic": False},  # cases 0013
}


def _converter(field, label: str = "") -> Callable:
    if field.name in CHAINED_AS_PLAINTEXT.get(label, ()):
        return _plain
    if getattr(field, "encrypted", False):
        # Neither the ciphertext (key rotation re-encrypts history) nor the plaintext (a
        # phone number is easily brute-forced from its hash): a keyed digest of the plaintext.
        return _digest
    if isinstance(field, models.DecimalField):
        # SQLite hands back what it stored as REAL: fix the places as the column does.
        return lambda v: None if v is None else format_number(v, None, field.decimal_places)
    if isinstance(field, models.DateTimeField):
        return _datetime
    return _plain


@dataclass(frozen=True)
class _Layout:
    """How to read and serialise one chained model's rows."""

    label: str
    columns: tuple[str, ...]
    attnames: tuple[str, ...]
    fields: tuple[models.Field, ...]
    converters: tuple[Callable, ...]
    # Column → the value that leaves it out of the content (ADDED_AFTER_CHAINING).
    added_later: tuple[tuple[str, object], ...] = ()

    def content(self, row: dict) -> dict:
        for column, absent in self.added_later:
            if column in row and row[column] == absent:
                del row[column]
        return row

    def content_hash(self, values: Iterable) -> str:
        row = {c: conv(v) for c, conv, v in zip(self.columns, self.converters, values, strict=True)}
        return content_hash(self.content(row))


@lru_cache(maxsize=256)
def layout(model) -> _Layout:
    fields = tuple(model._meta.concrete_fields)
    label = model._meta.label_lower
    return _Layout(
        label=label,
        columns=tuple(f.column for f in fields),
        attnames=tuple(f.attname for f in fields),
        fields=fields,
        converters=tuple(_converter(f, label) for f in fields),
        added_later=tuple(ADDED_AFTER_CHAINING.get(label, {}).items()),
    )


def content_hash(row: dict) -> str:
    return hashlib.sha256(canonical_json(row)).hexdigest()


def canonical_json(row: dict) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the bytes a content hash is taken of."""
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_content(instance) -> dict:
    """The record as hashed: every column, keyed by column name (but a column added after the
    chain began, while it holds its default: ``ADDED_AFTER_CHAINING``).

    null for NULL; booleans and integers as JSON's; text as is; datetimes in UTC as
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; dates ``YYYY-MM-DD``; decimals as strings with the
    column's decimal places; UUIDs lower-case with hyphens; bytes as hex; encrypted columns as
    ``casetracker.crypto.audit_digest`` of the plaintext. The same on SQLite and PostgreSQL.

    In-memory values go through ``Field.to_python`` first, as they do on their way into the
    database, so that the hash taken at write time is the hash of what is read back.
    """
    spec = layout(type(instance))
    row = {}
    for column, field, conv in zip(spec.columns, spec.fields, spec.converters, strict=True):
        value = getattr(instance, field.attname)
        if value is not None and conv is not _digest:
            value = field.to_python(value)
        row[column] = conv(value)
    return spec.content(row)


def link_hash(previous_hash: str, position: int, label: str, pk, content: str) -> str:
    text = "\n".join((previous_hash, str(position), label, str(pk), content))
    return hashlib.sha256(text.encode()).hexdigest()


# --- appending -------------------------------------------------------------------------------


def _append(link_model, records: list, using: str) -> None:
    """Raw SQL, two statements (three on PostgreSQL): this runs on every audited write.
    ``table`` is our own table's quoted name, never input."""
    connection = connections[using]
    table = connection.ops.quote_name(link_model._meta.db_table)
    now = link_model._meta.get_field("created_at").get_db_prep_value(
        timezone.now(), connection, prepared=False
    )
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Held until the transaction ends: the next writer reads the head after our commit.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        head = f"SELECT position, hash FROM {table} ORDER BY position DESC LIMIT 1"  # noqa: S608
        cursor.execute(head)
        position, previous = cursor.fetchone() or (0, GENESIS)
        rows = []
        for record in records:
            position += 1
            label, pk = record._meta.label_lower, record.pk
            content = content_hash(canonical_content(record))
            digest = link_hash(previous, position, label, pk, content)
            rows.append((position, label, pk, content, previous, digest, now))
            previous = digest
        cursor.executemany(
            f"INSERT INTO {table} (position, record_type, record_pk, content_hash, "  # noqa: S608
            "previous_hash, hash, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def lock_chain(using: str | None = None) -> None:
    """Take the chain's lock now, for the rest of the transaction (PostgreSQL; elsewhere and
    outside a transaction, nothing).

    Every audited write takes it anyway when it appends its links, and holds it until commit.
    A transaction that locks rows *before* its first audited write (``select_for_update()``,
    a counter) must take it first: otherwise it can hold a row that a chain-holding transaction
    waits for while waiting for the chain itself, and PostgreSQL aborts one of the two as a
    deadlock. Saves, deletes and m2m changes of audited models take it before they write
    (:func:`connect_receivers`).
    """
    connection = connections[using or router.db_for_write(AuditLink)]
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def append(records: Iterable[models.Model], using: str | None = None) -> None:
    """Chain ``records`` (saved rows of chained models), in order, in the current transaction."""
    records = list(records)
    if not records:
        return
    if any(record.pk is None for record in records):
        raise ValueError("Only saved records can be chained.")
    _append(AuditLink, records, using or router.db_for_write(AuditLink))


def chain_unlinked(apps=global_apps, using: str = "default") -> int:
    """Chain every row of a chained table that has no link yet, table by table in label order
    and by primary key within a table. For the data migration that chains a database's
    existing history, and for data migrations that write history rows themselves (via
    :func:`chain_unlinked_operation`). Returns how many rows were chained."""
    link_model = apps.get_model("casetracker", "AuditLink")
    total = 0
    for model in chained_models(apps):
        label = model._meta.label_lower
        linked = link_model._base_manager.using(using).filter(
            record_type=label, record_pk=OuterRef("pk")
        )
        unlinked = model._base_manager.using(using).filter(~Exists(linked)).order_by("pk")
        last = None
        while batch := list((unlinked if last is None else unlinked.filter(pk__gt=last))[:2000]):
            with transaction.atomic(using=using):
                _append(link_model, batch, using)
            total, last = total + len(batch), batch[-1].pk
    return total


def chain_unlinked_operation() -> migrations.RunPython:
    """A migration operation chaining the history rows an earlier operation wrote."""

    def forwards(apps, schema_editor):
        chain_unlinked(apps, schema_editor.connection.alias)

    return migrations.RunPython(forwards, migrations.RunPython.noop)


# --- the head --------------------------------------------------------------------------------


def head_link(using: str = "default") -> AuditLink | None:
    return AuditLink.objects.using(using).order_by("-position").first()


def chain_head(using: str = "default") -> tuple[int, str]:
    """(position, hash) of the last link: (0, 64 zeros) for an empty chain. Written into export
    manifests and shown to administrators, to be kept outside the server."""
    head = (
        AuditLink.objects.using(using).order_by("-position").values_list("position", "hash").first()
    )
    return head or (0, GENESIS)


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong. ``kind`` is one of the constants below."""

    kind: str
    detail: str
    position: int | None = None
    record_type: str = ""
    table: str = ""
    pk: int | None = None

    CONTENT = "content changed"
    MISSING_ROW = "record missing"
    UNKNOWN_TYPE = "unknown record type"
    LINK_ALTERED = "link altered"
    GAP = "link missing"
    PREVIOUS = "previous hash mismatch"
    UNLINKED = "record not in the chain"
    HEAD = "head mismatch"

    def __str__(self):
        where = []
        if self.position is not None:
            where.append(f"position {self.position}")
        if self.table:
            where.append(f"table {self.table}")
        if self.pk is not None:
            where.append(f"pk {self.pk}")
        return f"{self.kind} ({', '.join(where)}): {self.detail}" if where else self.detail


@dataclass(frozen=True)
class Report:
    records: int
    head: tuple[int, str]
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def __str__(self):
        if self.problem:
            return f"FAILED after {self.records} records: {self.problem}"
        return f"OK: {self.records} records, head {self.head[1]} at {self.head[0]}"


def _links(using: str, chunk_size: int) -> Iterator[list[tuple]]:
    """The links in position order, a chunk at a time (keyset paging: constant memory)."""
    after = 0
    fields = ("position", "record_type", "record_pk", "content_hash", "previous_hash", "hash")
    while True:
        chunk = list(
            AuditLink._base_manager.using(using)
            .filter(position__gt=after)
            .order_by("position")
            .values_list(*fields)[:chunk_size]
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1][0]


UNREADABLE = "unreadable"


def _content_hashes(model, pks: list, using: str) -> dict:
    """{pk: content hash} of the rows of ``model`` among ``pks``, in one query. A row that
    cannot be read (an encrypted column altered in the database fails authentication) maps to
    UNREADABLE; finding which row costs one query per row, on that chunk only."""
    spec = layout(model)
    rows = model._base_manager.using(using).filter(pk__in=pks).order_by()
    try:
        values = list(rows.values_list("pk", *spec.attnames))
    except Exception:
        found = {}
        for pk in pks:
            try:
                values = list(rows.filter(pk=pk).values_list("pk", *spec.attnames))
            except Exception:
                found[pk] = UNREADABLE
            else:
                found.update((row[0], spec.content_hash(row[1:])) for row in values)
        return found
    return {row[0]: spec.content_hash(row[1:]) for row in values}


def verify_chain(
    using: str = "default",
    progress: Callable[[int], None] | None = None,
    expected_head: tuple[int, str] | None = None,
    chunk_size: int = 2000,
) -> Report:
    """Walk the chain and report the first problem.

    In position order: a missing position, a link whose hash or previous hash does not add up,
    a record that is gone or whose content no longer hashes to its link's content hash. Then,
    table by table, the first row with no link (inserted behind the application's back). With
    ``expected_head`` (a head copied earlier), also that the chain still passes through it.
    ``progress(n)`` is called after every ``n`` links checked.
    """
    models_by_label = {m._meta.label_lower: m for m in chained_models()}
    count, head = 0, (0, GENESIS)

    def failed(problem):
        return Report(records=count, head=head, problem=problem)

    for chunk in _links(using, chunk_size):
        pks_by_label: dict[str, list] = {}
        for _position, label, pk, *_rest in chunk:
            pks_by_label.setdefault(label, []).append(pk)
        hashes = {
            label: _content_hashes(models_by_label[label], pks, using)
            for label, pks in pks_by_label.items()
            if label in models_by_label
        }
        for position, label, pk, content, previous, stored in chunk:
            model = models_by_label.get(label)
            table = model._meta.db_table if model else ""
            where = {"position": position, "record_type": label, "table": table, "pk": pk}
            if position != head[0] + 1:
                return failed(
                    Problem(
                        Problem.GAP,
                        f"the chain jumps from position {head[0]} to {position}: "
                        f"{position - head[0] - 1} link(s) deleted",
                        **where,
                    )
                )
            if previous != head[1]:
                return failed(
                    Problem(
                        Problem.PREVIOUS,
                        f"previous hash {previous} is not the hash {head[1]} of position {head[0]}",
                        **where,
                    )
                )
            if link_hash(previous, position, label, pk, content) != stored:
                return failed(
                    Problem(
                        Problem.LINK_ALTERED,
                        f"stored hash {stored} does not match the link's own fields",
                        **where,
                    )
                )
            if model is None:
                return failed(Problem(Problem.UNKNOWN_TYPE, f"no chained table {label!r}", **where))
            actual = hashes[label].get(pk)
            if actual is None:
                return failed(Problem(Problem.MISSING_ROW, "the record was deleted", **where))
            if actual == UNREADABLE:
                return failed(
                    Problem(
                        Problem.CONTENT,
                        "an encrypted column does not decrypt: it was altered in the database",
                        **where,
                    )
                )
            if actual != content:
                return failed(
                    Problem(
                        Problem.CONTENT,
                        f"content hashes to {actual}, the chain recorded {content}",
                        **where,
                    )
                )
            count, head = count + 1, (position, stored)
            if expected_head and position == expected_head[0] and stored != expected_head[1]:
                return failed(
                    Problem(
                        Problem.HEAD,
                        f"the head kept outside says {expected_head[1]} at position "
                        f"{position}; the chain was rewritten up to here",
                        **where,
                    )
                )
        if progress:
            progress(len(chunk))

    if expected_head and head[0] < expected_head[0]:
        return failed(
            Problem(
                Problem.HEAD,
                f"the chain ends at position {head[0]}, before the head kept outside "
                f"(position {expected_head[0]}): links were removed from the end",
            )
        )
    for model in models_by_label.values():
        linked = AuditLink._base_manager.using(using).filter(
            record_type=model._meta.label_lower, record_pk=OuterRef("pk")
        )
        unlinked = model._base_manager.using(using).filter(~Exists(linked)).order_by("pk")
        pk = unlinked.values_list("pk", flat=True).first()
        if pk is not None:
            return failed(
                Problem(
                    Problem.UNLINKED,
                    "the row has no link: it was written behind the application's back",
                    record_type=model._meta.label_lower,
                    table=model._meta.db_table,
                    pk=pk,
                )
            )
    return Report(records=count, head=head)


# --- hooks -----------------------------------------------------------------------------------


def _before_write(sender, using=None, raw=False, **kwargs):
    if not raw:
        lock_chain(using)


def _before_m2m_change(sender, instance, action, using=None, **kwargs):
    if action in ("pre_add", "pre_remove", "pre_clear") and _is_audited(type(instance)):
        lock_chain(using)


def _is_audited(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _on_history_row(sender, history_instance, using=None, **kwargs):
    append([history_instance], using)


def _on_m2m_history_rows(sender, created_rows, **kwargs):
    append(created_rows)


def _on_log_row(sender, instance, created, raw=False, using=None, **kwargs):
    if created and not raw:
        append([instance], using)


def connect_receivers():
    """Called from ``CasetrackerConfig.ready()``. The bulk paths call :func:`append` directly
    (``casetracker.audit.record_bulk_history``, ``cases.models.AppendOnlyQuerySet``)."""
    from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
    from simple_history.signals import (
        post_create_historical_m2m_records,
        post_create_historical_record,
    )

    uid = "casetracker.integrity"
    post_create_historical_record.connect(_on_history_row, dispatch_uid=f"{uid}.history")
    post_create_historical_m2m_records.connect(_on_m2m_history_rows, dispatch_uid=f"{uid}.m2m")
    for label in LOGS:
        post_save.connect(
            _on_log_row, sender=global_apps.get_model(label), dispatch_uid=f"{uid}.{label}"
        )
    # The chain's lock before the rows' locks, always in that order: see lock_chain().
    for model in global_apps.get_models():
        if _is_audited(model) or model._meta.label_lower in LOGS:
            label = model._meta.label_lower
            pre_save.connect(_before_write, sender=model, dispatch_uid=f"{uid}.lock.{label}")
            pre_delete.connect(
                _before_write, sender=model, dispatch_uid=f"{uid}.lock-delete.{label}"
            )
    m2m_changed.connect(_before_m2m_change, dispatch_uid=f"{uid}.lock.m2m")
