"""Writes generated rows as the application would have written them, at bulk speed.

The generator hands over plain rows (attname → value); this module completes them the way a
save does (primary keys, defaults, EDTF bounds, lookup digests, encryption), writes them with
``COPY … FROM STDIN`` on PostgreSQL or ``executemany`` on SQLite, and gives every history row
and workflow step its link in the audit chain (casetracker.integrity), hashed exactly as
``verify_audit`` recomputes it. Model instances, signals and per-row queries are skipped: that
is where the time of the ORM's bulk paths goes at millions of rows.

What it does not do is decide anything: which rows a person has, their history rows and their
values are the generator's (synthetic.generator). Primary keys come in blocks reserved from
each table's sequence, so several generator processes, and the application, can write to the
database at the same time; the audit chain's lock orders their links.
"""

from collections.abc import Callable
from functools import lru_cache

from django.db import connections, models, transaction
from django.utils import timezone

from casetracker import crypto, integrity
from casetracker.edtf import EDTFBoundField
from casetracker.fields import LookupDigestField

# Types whose Python values psycopg writes as they are: no Django conversion needed.
_AS_IS_ON_POSTGRES = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
    models.DateField,  # DateTimeField and EDTFBoundField included
    models.UUIDField,
    models.FloatField,
    models.AutoField,
    models.BigAutoField,
)


# Keys reserved at a time, per table; a run leaves the unused rest of its last blocks as gaps.
KEY_BLOCK = 10_000
# pg_advisory_xact_lock key of key reservations: any constant no other lock uses.
KEY_LOCK = 0x63745F73796E7468  # "ct_synth"


@lru_cache(maxsize=50_000)
def _sealed(plaintext: str, binding: str) -> str:
    """One ciphertext per distinct value and column. Reusing a token shows that two synthetic
    rows hold the same text, which is harmless here and saves an encryption a row."""
    return crypto.encrypt_text(plaintext, binding)


@lru_cache(maxsize=50_000)
def _audit_digest(plaintext: str | None) -> str | None:
    """integrity._digest(), once per distinct value (change reasons repeat on every row)."""
    return integrity._digest(plaintext)


class Table:
    """The rows of one model waiting to be written, and how to complete and write them."""

    def __init__(self, model, connection):
        self.model = model
        self.connection = connection
        self.fields = tuple(model._meta.concrete_fields)
        self.attnames = tuple(f.attname for f in self.fields)
        self.columns = tuple(f.column for f in self.fields)
        self.pk = model._meta.pk.attname
        self.chained = integrity.is_chained(model)
        self.layout = integrity.layout(model) if self.chained else None
        self.hashing = None
        self.bounds = [f for f in self.fields if isinstance(f, EDTFBoundField)]
        self.digests = [f for f in self.fields if isinstance(f, LookupDigestField)]
        self.defaults = [
            f
            for f in self.fields
            if not f.primary_key and not isinstance(f, EDTFBoundField | LookupDigestField)
        ]
        self.converters = self._converters()
        self.rows: list[dict] = []
        self.written = 0
        self.using = connection.alias
        self.next_pk, self.last_pk = 1, 0  # nothing reserved yet

    def _converters(self) -> list[tuple[int, Callable]]:
        """(column index, function) for the values that need converting before they are
        written; the rest go as they are."""
        postgres = self.connection.vendor == "postgresql"
        found = []
        for index, field in enumerate(self.fields):
            if getattr(field, "encrypted", False):
                found.append((index, self._sealer(field.binding)))
            elif (
                not postgres
                or isinstance(field, models.JSONField)
                or not isinstance(field, _AS_IS_ON_POSTGRES)
            ):
                found.append((index, self._preparer(field)))
        return found

    @staticmethod
    def _sealer(binding: str) -> Callable:
        return lambda value: value if value in (None, "") else _sealed(value, binding)

    def _preparer(self, field) -> Callable:
        connection = self.connection
        return lambda value: field.get_db_prep_save(value, connection)

    def allocate(self) -> int:
        """The next key of a reserved block, reserving another when it runs out."""
        if self.next_pk > self.last_pk:
            self.next_pk, self.last_pk = self._reserve(KEY_BLOCK)
        self.next_pk += 1
        return self.next_pk - 1

    def _reserve(self, count: int) -> tuple[int, int]:
        """Reserve ``count`` keys above the highest key stored and the table's sequence, and
        move the sequence past them: the application's own inserts, and other generator
        processes, take keys after the block. Keys of deleted rows are never given again
        (their history keeps them)."""
        ops, table = self.connection.ops, self.model._meta.db_table
        pk_column = self.model._meta.pk.column
        highest_sql = f"SELECT MAX({ops.quote_name(pk_column)}) FROM {ops.quote_name(table)}"  # noqa: S608
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [KEY_LOCK])
            cursor.execute(highest_sql)
            highest = cursor.fetchone()[0] or 0
            if not isinstance(highest, int):
                raise TypeError(f"{self.model._meta.label}: generated rows need an integer key")
            if self.connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk_column])
                sequence = cursor.fetchone()[0]
                if sequence:
                    cursor.execute(f"SELECT last_value FROM {sequence}")  # noqa: S608
                    highest = max(highest, cursor.fetchone()[0])
                    cursor.execute("SELECT setval(%s, %s)", [sequence, highest + count])
            elif self.connection.vendor == "sqlite":
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
                if found:
                    highest = max(highest, found[0])
                    cursor.execute(
                        "UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                        [highest + count, table],
                    )
                else:
                    cursor.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                        [table, highest + count],
                    )
        return highest + 1, highest + count

    def complete(self, values: dict, now) -> dict:
        """``values`` with every column filled as a save would: the key, defaults, the time
        for auto_now columns, EDTF bounds and lookup digests derived from their sources."""
        row = values
        if self.pk not in row:
            row[self.pk] = self.allocate()
        for field in self.defaults:
            if field.attname in row:
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                row[field.attname] = now
            elif field.has_default():
                row[field.attname] = field.get_default()
            elif field.null:
                row[field.attname] = None
            elif field.empty_strings_allowed:
                row[field.attname] = ""
            else:
                raise ValueError(f"{self.model._meta.label}.{field.name}: no value given")
        for field in self.bounds:
            row[field.attname] = field.bound_of(row[field.source])
        for field in self.digests:
            row[field.attname] = field.digest_of(row[field.source])
        return row

    def _hashing(self) -> list[tuple[str, str, Callable | None]]:
        """(column, attname, converter) as integrity.layout() hashes them, with None where
        the value goes into the JSON as it is (text, numbers, booleans: what the generator
        gives those columns), which saves a call a value."""
        plain = (
            models.CharField,
            models.TextField,
            models.IntegerField,
            models.BooleanField,
            models.ForeignKey,
            models.FloatField,
        )
        found = []
        for column, attname, field, convert in zip(
            self.layout.columns,
            self.layout.attnames,
            self.layout.fields,
            self.layout.converters,
            strict=True,
        ):
            as_is = convert is integrity._plain and isinstance(field, plain)
            if convert is integrity._digest:
                convert = _audit_digest
            found.append((column, attname, None if as_is else convert))
        return found

    def content_hash(self, row: dict) -> str:
        """integrity.layout(model).content_hash() of the row, as verify_audit recomputes it."""
        if self.hashing is None:
            self.hashing = self._hashing()
        content = {
            column: row[attname] if convert is None else convert(row[attname])
            for column, attname, convert in self.hashing
        }
        return integrity.content_hash(self.layout.content(content))

    def prepared(self):
        """The waiting rows as tuples of database values, in column order."""
        attnames, converters = self.attnames, self.converters
        for row in self.rows:
            values = [row[name] for name in attnames]
            for index, convert in converters:
                values[index] = convert(values[index])
            yield values


class BulkWriter:
    """Collects rows with add(), history() and m2m(); flush() writes them in one transaction.

    Every chained row (history tables, CaseTransition) is linked in the audit chain in the
    order it was added, after the head the chain has when flush() takes its lock.
    """

    def __init__(self, using: str = "default"):
        self.using = using
        self.connection = connections[using]
        self.now = timezone.now()
        self.tables: dict = {}
        self.links: list[tuple[str, int, str]] = []
        self.rows_written = 0

    def table(self, model) -> Table:
        if model not in self.tables:
            self.tables[model] = Table(model, self.connection)
        return self.tables[model]

    def key(self, model) -> int:
        """A primary key for a row of ``model`` to be added later (add() keeps it)."""
        return self.table(model).allocate()

    def add(self, model, values: dict) -> dict:
        """Queue one row of ``model``; returns it completed (with its key)."""
        table = self.table(model)
        row = table.complete(values, self.now)
        table.rows.append(row)
        if table.chained:
            self.links.append((table.layout.label, row[table.pk], table.content_hash(row)))
        return row

    def history(self, model, row: dict, *, history_type: str, at, user_id, reason: str) -> dict:
        """Queue the history row simple-history keeps of ``row`` (a row of ``model`` as it is
        at ``at``): a copy of its tracked columns, who, when, why and how ("+", "~", "-")."""
        historical = self._historical(model)
        values = {name: row[name] for name in self.table(historical).attnames if name in row}
        values.update(
            history_date=at,
            history_type=history_type,
            history_user_id=user_id,
            history_change_reason=reason or None,
        )
        values.pop("history_id", None)
        return self.add(historical, values)

    def m2m(self, model, field_name: str, row: dict, related: list[int], history_rows=()) -> None:
        """Queue the relation rows of ``row``'s ``field_name`` to the ``related`` keys and,
        where the field's history is kept, their snapshot on each of ``history_rows``
        (simple-history's ``Historical<Model>_<field>`` rows: the relations the object had
        when that history row was written)."""
        field = model._meta.get_field(field_name)
        through = field.remote_field.through
        source = through._meta.get_field(field.m2m_field_name()).attname
        target = through._meta.get_field(field.m2m_reverse_field_name()).attname
        snapshot = self._snapshot_model(field)
        links = [
            self.add(through, {source: row[model._meta.pk.attname], target: pk}) for pk in related
        ]
        if snapshot is None:
            return
        for history_row in history_rows:
            for link in links:
                self.add(
                    snapshot,
                    {
                        "id": link["id"],
                        source: link[source],
                        target: link[target],
                        "history_id": history_row["history_id"],
                    },
                )

    @staticmethod
    @lru_cache(maxsize=64)
    def _historical(model):
        """simple-history's model of ``model``'s history (the descriptor builds a manager on
        every access: too slow a million times over)."""
        return model.history.model

    @staticmethod
    @lru_cache(maxsize=32)
    def _snapshot_model(field):
        from simple_history.models import HistoricalRecords

        return HistoricalRecords.m2m_models.get(field)

    def pending(self) -> int:
        return sum(len(table.rows) for table in self.tables.values())

    def flush(self) -> int:
        """Write everything queued, with the audit links, in one transaction; returns the
        number of rows written (links included)."""
        count = self.pending() + len(self.links)
        if not count:
            return 0
        # Converted (encrypted, adapted) before the transaction: another process's batch
        # waits for the chain's lock while this one holds it, so it holds it only to copy.
        # The lock still comes first in the transaction (integrity.lock_chain: before any
        # row lock, such as an insert's on the rows it refers to).
        ready = [(table, list(table.prepared())) for table in self.tables.values() if table.rows]
        with transaction.atomic(using=self.using):
            integrity.lock_chain(self.using)
            position, previous = integrity.chain_head(self.using)
            for table, rows in ready:
                self._write(table.model, table.columns, rows)
                table.written += len(rows)
                table.rows = []
            links = []
            created_at = self.connection.ops.adapt_datetimefield_value(self.now)
            for label, pk, content in self.links:
                position += 1
                digest = integrity.link_hash(previous, position, label, pk, content)
                links.append((position, label, pk, content, previous, digest, created_at))
                previous = digest
            link_model = integrity.AuditLink
            self._write(link_model, [f.column for f in link_model._meta.concrete_fields], links)
            self.links = []
        self.rows_written += count
        return count

    def _write(self, model, columns, rows) -> None:
        ops = self.connection.ops
        table = ops.quote_name(model._meta.db_table)
        names = ", ".join(ops.quote_name(column) for column in columns)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
                    list(rows),
                )
