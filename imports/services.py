"""Bulk import of case lists: validate the whole file, then write it in one transaction.

    result = import_file(data, "atajurt-2024.csv", user=user, group=atajurt)          # writes
    result = import_file(data, "atajurt-2024.csv", user=user, group=atajurt, dry_run=True)
    batch = preview_file(...); import_batch(batch, user)                               # admin

Rules (imports/TEMPLATE.md says the same to staff):

- Every row is checked before anything is written, and every error names the row, the column
  and what was expected. One error means nothing is written.
- People, cases and events are found again by the submitting group's external ids
  (imports.ExternalRecord); events without an id by case, kind and date. A re-import updates
  what changed and writes nothing else: an empty cell leaves the stored value alone, names,
  charges and incidents are added and never removed, sources and citations are added once.
- New cases are drafts created by the importer; an update to a verified case sends it back to
  review (cases.signals). Every row written has history naming the importer and the batch.
- Places, charges, incidents and organisations must already exist.
- New people are checked against everyone the importer may see (people.matching); possible
  duplicates are shown in the preview and put in the duplicate review queue on import.
- A batch records the host and process working on it and when it was last seen working
  (a heartbeat); one left running by a process that has gone is marked interrupted
  (mark_interrupted_batches), and only a live import of a file stops another of it.
"""

import difflib
import hashlib
import io
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext, ngettext_lazy

from cases.models import (
    Case,
    CaseReferenceCounter,
    DetentionEvent,
    EventKind,
    Incident,
    Location,
    LocationKind,
    ReviewState,
)
from cases.models import (
    Charge as ChargeModel,
)
from casetracker import crypto
from casetracker.audit import acting_as, bulk_add_m2m
from casetracker.edtf import edtf_bounds
from casetracker.models import ConcurrentEditError
from casetracker.processes import is_gone, this_host
from casetracker.text import fold
from imports.models import COUNT_FIELDS, BatchStatus, ExternalRecord, ImportBatch, RecordKind
from imports.parsing import FileRefused, read_table
from imports.template import (
    COLUMN_NAMES,
    COLUMNS,
    COLUMNS_BY_NAME,
    EXAMPLE_PREFIX,
    FOR_SOURCE,
    NAME_COLUMNS,
    REQUIRED,
    SEPARATOR,
    is_example_id,
)
from people.models import Organisation, Person, PersonName, script_of, shown_names
from sources.models import Citation, Source

PERMISSION = "imports.add_importbatch"
# Longest text a cell may hold (public summaries are the longest). Documented in TEMPLATE.md.
MAX_CELL_CHARS = 10_000
# Errors kept on the batch record; the preview and the command show them all.
ERRORS_KEPT = 500
# How long the file of a preview is kept for its confirmation (documented in TEMPLATE.md).
# Older previews are expired: their file is discarded (at the next upload or confirmation
# by anyone) and they can no longer be confirmed.
PREVIEW_KEPT = timedelta(hours=24)
# The purpose tag of the encrypted stream a preview's file is kept in (casetracker.crypto).
CONTENT_PURPOSE = b"import upload"
# How often, at most, a working import records that it is alive (ImportBatch.last_seen_at):
# one small UPDATE each time, whatever the number of rows.
HEARTBEAT_EVERY = 30  # seconds
# A running batch of another host not seen for this long has lost its process (on its own
# host the process id tells at once; casetracker.processes). Well above HEARTBEAT_EVERY: one
# step between two heartbeats (a query, a chunk of rows) may be slow.
STALE_AFTER = timedelta(minutes=10)

logger = logging.getLogger(__name__)

# script, language and kind of the names in each name column (the template says the same)
NAME_COLUMN_KINDS = {name: COLUMNS_BY_NAME[name].saved_as for name in NAME_COLUMNS}
# columns required of a row that names a source
SOURCE_REQUIRED = [column.name for column in COLUMNS if column.required_when is FOR_SOURCE]
# columns holding the group's ids; a row with the template's example ids is refused
ID_COLUMNS = ["person_external_id", "case_external_id", "event_external_id"]

# model field → template column, to put model validation errors in the right column
PERSON_COLUMNS = {
    "gender": "person_gender",
    "birth_date": "person_birth_date",
    "ethnicity": "person_ethnicity",
    "place_of_origin": "person_place_of_origin",
    "occupation": "person_occupation",
    "public_summary": "person_public_summary",
}
CASE_COLUMNS = {"public_summary": "case_public_summary"}
EVENT_COLUMNS = {
    "kind": "event_kind",
    "date": "event_date",
    "location": "event_place",
    "facility": "event_facility",
    "authority": "event_authority",
    "charge_basis": "event_charge_basis",
    "sentence": "event_sentence",
    "description": "event_description",
}
SOURCE_COLUMNS = {
    "title": "source_title",
    "url": "source_url",
    "publisher": "source_publisher",
    "published": "source_date",
    "kind": "source_kind",
    "access": "source_access",
    "language": "source_language",
}
CITATION_COLUMNS = {"locator": "source_locator", "claim": "source_claim"}
EVENT_FIELD_COLUMNS = [
    c for c in COLUMN_NAMES if c.startswith("event_") and c != "event_external_id"
]
SOURCE_FIELD_COLUMNS = [c for c in COLUMN_NAMES if c.startswith("source_")]


class ImportRefused(Exception):
    """The import cannot start at all (permission, group); the message says why."""


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: the file as a whole
    column: str
    message: str

    def __str__(self):
        values = {"row": self.row, "column": self.column, "message": self.message}
        if self.row and self.column:
            return gettext("Row %(row)s, column %(column)s: %(message)s") % values
        if self.row:
            return gettext("Row %(row)s: %(message)s") % values
        if self.column:
            return gettext("File, column %(column)s: %(message)s") % values
        return gettext("File: %(message)s") % values

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


# --- What the file will do ---------------------------------------------------------------------


@dataclass
class PersonPlan:
    external_id: str
    rows: list[int]
    existing: Person | None = None
    values: dict = field(default_factory=dict)  # model field → value, as the file gives it
    origin: dict = field(default_factory=dict)  # model field → row it came from
    names: list = field(default_factory=list)  # (name, script, language, kind, column, row)
    changes: dict = field(default_factory=dict)  # field → (old, new) for an existing person
    new_names: list = field(default_factory=list)
    matches: list = field(default_factory=list)  # people.matching.PersonMatch
    person: Person | None = None  # the row written

    @property
    def label(self) -> str:
        if self.existing:
            return str(self.existing)
        return self.names[0][0] if self.names else self.external_id


@dataclass
class CasePlan:
    external_id: str
    person_external_id: str
    rows: list[int]
    existing: Case | None = None
    values: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)
    incidents: dict = field(default_factory=dict)  # pk → Incident
    changes: dict = field(default_factory=dict)
    new_incidents: list = field(default_factory=list)
    case: Case | None = None

    @property
    def label(self) -> str:
        if self.existing:
            return self.existing.reference
        return gettext("new case %(id)s") % {"id": self.external_id}


@dataclass
class EventPlan:
    key: tuple
    case_external_id: str
    external_id: str
    rows: list[int]
    existing: DetentionEvent | None = None
    values: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)  # pk → Charge
    changes: dict = field(default_factory=dict)
    new_charges: list = field(default_factory=list)
    event: DetentionEvent | None = None

    @property
    def label(self) -> str:
        kind = EventKind(self.values.get("kind") or self.existing.kind).label
        date = self.values.get("date") or (self.existing.date if self.existing else "")
        return gettext("%(kind)s %(date)s · case %(case)s") % {
            "kind": kind,
            "date": date or gettext("(date unknown)"),
            "case": self.case_external_id,
        }


@dataclass
class SourcePlan:
    key: tuple
    row: int
    existing: Source | None = None
    values: dict = field(default_factory=dict)
    source: Source | None = None

    @property
    def label(self) -> str:
        return str(self.existing) if self.existing else self.values.get("title", "")


@dataclass
class CitationPlan:
    row: int
    source: SourcePlan
    case_external_id: str
    event: EventPlan | None
    locator: str
    claim: str


@dataclass
class Plan:
    """Everything a file would do, and every error that stops it."""

    file_name: str = ""
    format: str = ""
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    people: dict[str, PersonPlan] = field(default_factory=dict)
    cases: dict[str, CasePlan] = field(default_factory=dict)
    events: dict[tuple, EventPlan] = field(default_factory=dict)
    sources: dict[tuple, SourcePlan] = field(default_factory=dict)
    citations: list[CitationPlan] = field(default_factory=list)
    flagged: int | None = None  # new people put in the duplicate review queue, once written

    def error(self, row, column, message) -> None:
        self.errors.append(RowError(row, column, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        people, cases, events = (
            self.people.values(),
            self.cases.values(),
            self.events.values(),
        )
        return {
            "rows": self.rows,
            "people_created": sum(1 for p in people if not p.existing),
            "people_updated": sum(1 for p in people if p.existing and (p.changes or p.new_names)),
            "names_added": sum(len(p.new_names) for p in people),
            "cases_created": sum(1 for c in cases if not c.existing),
            "cases_updated": sum(1 for c in cases if c.existing and (c.changes or c.new_incidents)),
            "events_created": sum(1 for e in events if not e.existing),
            "events_updated": sum(1 for e in events if e.existing and (e.changes or e.new_charges)),
            "sources_created": sum(1 for s in self.sources.values() if not s.existing),
            "citations_created": len(self.citations),
            "duplicates_flagged": self.flagged
            if self.flagged is not None
            else sum(1 for p in people if not p.existing and p.matches),
        }

    # Lists for the preview.
    def created(self, plans):
        return [p for p in plans if not p.existing]

    @property
    def people_created(self):
        return self.created(self.people.values())

    @property
    def people_updated(self):
        return [p for p in self.people.values() if p.existing and (p.changes or p.new_names)]

    @property
    def cases_created(self):
        return self.created(self.cases.values())

    @property
    def cases_updated(self):
        return [c for c in self.cases.values() if c.existing and (c.changes or c.new_incidents)]

    @property
    def events_created(self):
        return self.created(self.events.values())

    @property
    def events_updated(self):
        return [e for e in self.events.values() if e.existing and (e.changes or e.new_charges)]

    @property
    def possible_duplicates(self):
        return [p for p in self.people.values() if not p.existing and p.matches]


@dataclass
class ImportResult:
    batch: ImportBatch
    plan: Plan

    @property
    def ok(self) -> bool:
        return self.batch.status in (
            BatchStatus.IMPORTED,
            BatchStatus.VALIDATED,
            BatchStatus.PREVIEWED,
        )


# --- Entry points ------------------------------------------------------------------------------


def can_import(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(PERMISSION))


def import_file(
    data: bytes,
    file_name: str,
    *,
    user,
    group: Organisation,
    dry_run: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> ImportResult:
    """Validate ``data`` and, unless ``dry_run`` or it has errors, write it all. Always records
    an ImportBatch (dry runs and refused files too)."""
    _check_allowed(user)
    _tidy_up()
    batch = _new_batch(data, file_name, user, group, dry_run=dry_run)
    with _working(batch):
        plan = validate(
            data, file_name, user=user, group=group, progress=progress, find_duplicates=dry_run
        )
        if dry_run or not plan.ok:
            status = BatchStatus.VALIDATED if plan.ok else BatchStatus.INVALID
            return _finish(batch, plan, status)
        return _write(batch, plan, user, progress)


def preview_file(data: bytes, file_name: str, *, user, group: Organisation) -> ImportResult:
    """Validate ``data`` and keep it, encrypted, on a batch waiting for the same user to
    confirm it within PREVIEW_KEPT (receive_file, then preview_batch)."""
    return preview_batch(receive_file(data, file_name, user=user, group=group), user)


def receive_file(data: bytes, file_name: str, *, user, group: Organisation) -> ImportBatch:
    """Keep an uploaded file, encrypted, on a new batch waiting to be checked by
    preview_batch (in the admin, by the background worker: imports.tasks)."""
    _check_allowed(user)
    _tidy_up()
    with transaction.atomic():
        return ImportBatch.objects.create(
            file_name=(file_name or "upload")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            group=group,
            created_by=user,
            dry_run=True,
            status=BatchStatus.QUEUED,
            content=seal_content(data),
        )


def preview_batch(
    batch: ImportBatch,
    user,
    *,
    progress: Callable[[str, int], None] | None = None,
    render: Callable[[Plan], str] | None = None,
) -> ImportResult:
    """Check a received file: previewed (its file kept for confirmation) or refused with its
    errors. ``render(plan)`` gives what the preview page shows of it, saved (encrypted) in the
    same write as the outcome: a batch is never previewed without its preview. A check
    interrupted (its process died) may be run again."""
    _check_allowed(user)
    _tidy_up()
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        waiting = batch.status in (BatchStatus.QUEUED, BatchStatus.INTERRUPTED)
        if not (waiting and batch.dry_run and batch.content is not None):
            raise ImportRefused(gettext("This file was already checked."))
        if batch.created_by_id != user.pk:
            raise ImportRefused(gettext("Only the person who uploaded the file can check it."))
        data = _stored_file(batch)
        batch.status = BatchStatus.RUNNING
        for name, value in _this_process().items():
            setattr(batch, name, value)
        batch.save(update_fields=["status", *_this_process()])
    with _working(batch):
        plan = validate(data, batch.file_name, user=user, group=batch.group, progress=progress)
        if render is not None:
            batch.preview = render(plan)
        return _finish(batch, plan, BatchStatus.PREVIEWED if plan.ok else BatchStatus.INVALID)


def keep_preview(batch: ImportBatch, preview: str) -> None:
    """Keep what the check found, as its page shows it (encrypted: it quotes the file)."""
    batch.preview = preview
    batch.save(update_fields=["preview"])


def _stored_file(batch: ImportBatch) -> bytes:
    try:
        data = open_content(batch.content)
    except crypto.DecryptionError as error:
        raise ImportRefused(
            gettext("The stored file cannot be decrypted (%(error)s); upload it again.")
            % {"error": error}
        ) from None
    if hashlib.sha256(data).hexdigest() != batch.sha256:
        raise ImportRefused(
            gettext("The stored file does not match its checksum; upload it again.")
        )
    return data


def check_confirmable(batch: ImportBatch, user) -> None:
    """Raise ImportRefused, saying why, unless ``user`` may confirm ``batch`` now."""
    if batch.status == BatchStatus.EXPIRED:
        raise ImportRefused(EXPIRED_MESSAGE % {"hours": _hours(PREVIEW_KEPT)})
    if batch.status == BatchStatus.INTERRUPTED and not batch.dry_run:
        raise ImportRefused(
            gettext(
                "This import was interrupted (its process stopped) and nothing was written. "
                "Upload the file again."
            )
        )
    if batch.status != BatchStatus.PREVIEWED or batch.content is None:
        raise ImportRefused(gettext("This import was already confirmed or refused."))
    if batch.created_by_id != user.pk:
        raise ImportRefused(
            gettext("Only the person who uploaded the file can confirm its import.")
        )


EXPIRED_MESSAGE = ngettext_lazy(
    "This preview is more than %(hours)d hour old: its file was discarded and it can no "
    "longer be imported. Upload the file again.",
    "This preview is more than %(hours)d hours old: its file was discarded and it can no "
    "longer be imported. Upload the file again.",
    "hours",
)


def import_batch(
    batch: ImportBatch, user, *, progress: Callable[[str, int], None] | None = None
) -> ImportResult:
    """Import a previewed batch. The file is validated again: the database may have changed
    since the preview."""
    _check_allowed(user)
    _tidy_up()
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        check_confirmable(batch, user)
        data = _stored_file(batch)
        batch.status, batch.dry_run, batch.content = BatchStatus.RUNNING, False, None
        for name, value in _this_process().items():
            setattr(batch, name, value)
        try:
            with transaction.atomic():
                batch.save(update_fields=["status", "dry_run", "content", *_this_process()])
        except IntegrityError:
            raise ImportRefused(_already_importing(batch.group, batch.sha256)) from None
    with _working(batch):
        plan = validate(
            data,
            batch.file_name,
            user=user,
            group=batch.group,
            find_duplicates=False,
            progress=progress,
        )
        if not plan.ok:
            return _finish(batch, plan, BatchStatus.INVALID)
        return _write(batch, plan, user, progress)


def seal_content(data: bytes) -> bytes:
    """A preview's file as it is stored: encrypted (casetracker.crypto's stream format, under
    the newest key), since it holds names and source claims that are encrypted once imported."""
    return b"".join(crypto.encrypt_stream([data], CONTENT_PURPOSE))


def open_content(stored) -> bytes:
    """The file of a preview; DecryptionError if it cannot be decrypted (key gone, altered)."""
    reader = io.BytesIO(bytes(stored)).read
    return b"".join(crypto.decrypt_stream(reader, CONTENT_PURPOSE))


def expire_stale_previews(now=None) -> int:
    """Discard the file of every preview not confirmed within PREVIEW_KEPT (an abandoned
    upload), and mark it expired so that it cannot be confirmed; returns how many."""
    cutoff = (now or timezone.now()) - PREVIEW_KEPT
    # Counted from the end of the check (a check may wait for the worker), else the upload.
    old = ImportBatch.objects.filter(
        Q(finished_at__lt=cutoff) | Q(finished_at=None, created_at__lt=cutoff)
    )
    # A file never checked (its worker never came), or whose check was interrupted: expired.
    old.filter(status__in=[BatchStatus.QUEUED, BatchStatus.INTERRUPTED], dry_run=True).exclude(
        content=None
    ).update(status=BatchStatus.EXPIRED, content=None, preview="")
    # What a refused file's check kept of it.
    old.filter(status__in=[BatchStatus.FAILED, BatchStatus.INVALID]).exclude(preview="").update(
        content=None, preview=""
    )
    return old.filter(status=BatchStatus.PREVIEWED).update(
        status=BatchStatus.EXPIRED, content=None, preview=""
    )


def mark_interrupted_batches(now=None) -> int:
    """Mark interrupted every running batch whose process has gone (killed, crashed, the
    machine restarted): on this host, as soon as its process id is no longer running; from
    elsewhere, once not seen for STALE_AFTER (casetracker.processes.is_gone). Returns how
    many. Nothing of theirs was written: an import writes in one transaction.

    Called before every import and whenever staff look at batches, so that the admin, any
    query on the status and the one-running-import-per-file rule agree. A process that was
    only slow and comes back still records its real outcome when it finishes (_finish)."""
    now = now or timezone.now()
    running = ImportBatch.objects.filter(status=BatchStatus.RUNNING).values_list(
        "pk", "host", "pid", "last_seen_at", "created_at"
    )
    gone = [
        pk
        for pk, host, pid, last_seen, started in running
        if is_gone(host, pid, last_seen or started, now=now, stale_after=STALE_AFTER)
    ]
    if not gone:
        return 0
    # Only those still running: one may have finished since it was read.
    return ImportBatch.objects.filter(pk__in=gone, status=BatchStatus.RUNNING).update(
        status=BatchStatus.INTERRUPTED
    )


def _tidy_up() -> None:
    """Before an import: abandoned previews expire, batches of dead processes are interrupted
    (so that they stop no re-import)."""
    expire_stale_previews()
    mark_interrupted_batches()


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


def _this_process() -> dict:
    """What a batch records of the process working on it (mark_interrupted_batches)."""
    return {"host": this_host(), "pid": os.getpid(), "last_seen_at": timezone.now()}


def _already_importing(group, sha256: str) -> str:
    running = ImportBatch.objects.filter(
        group=group, sha256=sha256, status=BatchStatus.RUNNING, dry_run=False
    ).first()
    if running is None:  # it finished just now
        return gettext(
            "This file was being imported for this group a moment ago. Try again: if that "
            "import succeeded, this one will find nothing left to change."
        )
    seen = timezone.localtime(running.last_seen_at or running.created_at)
    return gettext(
        "This file is already being imported for this group (import batch #%(batch)s, last "
        "seen working at %(seen)s). Wait for it to finish. If it was stopped, it is marked "
        "interrupted within %(minutes)s minutes of when it was last seen, and no longer in "
        "the way."
    ) % {
        "batch": running.pk,
        "seen": date_format(seen, "Y-m-d H:i"),
        "minutes": int(STALE_AFTER.total_seconds() // 60),
    }


# --- The heartbeat of a working import -----------------------------------------------------------


class _Heartbeat:
    """Keeps a working batch's ``last_seen_at`` fresh: at most every HEARTBEAT_EVERY seconds,
    however often it is called (_beat(), from every loop over rows and chunks)."""

    def __init__(self, batch_pk: int):
        self.pk = batch_pk
        self.due = time.monotonic() + HEARTBEAT_EVERY
        self._in_transaction = False
        self._aside = None

    def __call__(self) -> None:
        if time.monotonic() < self.due:
            return
        self.due = time.monotonic() + HEARTBEAT_EVERY
        try:
            self._record(timezone.now())
        except DatabaseError as error:  # a missed heartbeat is no reason to fail an import
            logger.warning("Import batch #%s: heartbeat not recorded: %s", self.pk, error)

    @contextmanager
    def in_transaction(self):
        """While the import writes, in a transaction that shows nothing to others until it
        commits, the heartbeat goes through a connection of its own."""
        self._in_transaction = True
        try:
            yield
        finally:
            self._in_transaction = False

    def _record(self, now) -> None:
        live = [BatchStatus.RUNNING, BatchStatus.INTERRUPTED]
        if not self._in_transaction:
            ImportBatch.objects.filter(pk=self.pk, status__in=live).update(last_seen_at=now)
        elif connection.vendor == "postgresql":
            self._record_aside(now, live)
        # SQLite: another connection would wait for the import's write lock. SQLite is a file
        # on one machine, where the process id tells whether the import lives.

    def _record_aside(self, now, live) -> None:
        if self._aside is None:
            self._aside = connections.create_connection(DEFAULT_DB_ALIAS)
        ops = self._aside.ops
        table, pk = ops.quote_name(ImportBatch._meta.db_table), ops.quote_name("id")
        seen, status = ops.quote_name("last_seen_at"), ops.quote_name("status")
        # SKIP LOCKED: never wait for a lock on the batch (a confirmation in the admin holds
        # one until its request ends); that heartbeat is skipped.
        sql = (
            f"UPDATE {table} SET {seen} = %s WHERE {pk} IN (SELECT {pk} FROM {table} "  # noqa: S608 (quoted names)
            f"WHERE {pk} = %s AND {status} IN (%s, %s) FOR NO KEY UPDATE SKIP LOCKED)"
        )
        with self._aside.cursor() as cursor:
            cursor.execute(sql, [ops.adapt_datetimefield_value(now), self.pk, *live])

    def close(self) -> None:
        if self._aside is not None:
            self._aside.close()
            self._aside = None


_HEARTBEAT: ContextVar[_Heartbeat | None] = ContextVar("import_heartbeat", default=None)


def _beat() -> None:
    """The current import is alive (cheap: a clock reading, and a write now and then)."""
    heartbeat = _HEARTBEAT.get()
    if heartbeat is not None:
        heartbeat()


@contextmanager
def _working(batch: ImportBatch):
    """Run an import's steps with its heartbeat; an exception that stops them marks the batch
    at once (_abandon), rather than when its process is found gone."""
    heartbeat = _Heartbeat(batch.pk)
    token = _HEARTBEAT.set(heartbeat)
    try:
        yield heartbeat
    except BaseException as error:
        _abandon(batch, error)
        raise
    finally:
        _HEARTBEAT.reset(token)
        heartbeat.close()


def _abandon(batch: ImportBatch, error: BaseException) -> None:
    """Ctrl-C or an exit interrupts the batch; any other exception fails it. Nothing was
    written: the import's transaction was rolled back on the way out."""
    interrupted = isinstance(error, KeyboardInterrupt | SystemExit)
    now = timezone.now()
    try:
        with transaction.atomic():
            failed = {} if interrupted else {"content": None, "preview": ""}
            ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).update(
                status=BatchStatus.INTERRUPTED if interrupted else BatchStatus.FAILED,
                failure="" if interrupted else f"{type(error).__name__}: {error}".rstrip(": "),
                finished_at=now,
                last_seen_at=now,
                **failed,
            )
    except Exception:  # the database may be what failed: the process's end will tell
        logger.warning("Import batch #%s stopped and could not be marked.", batch.pk, exc_info=True)


def _check_allowed(user) -> None:
    if not can_import(user):
        raise ImportRefused(gettext("You do not have permission to import case lists."))


def _new_batch(data, file_name, user, group, *, dry_run) -> ImportBatch:
    """The batch of a new run. An import (not a dry run) of a file that a live process is
    importing for the group is refused (ImportBatch's one-running-import-per-file rule)."""
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        with transaction.atomic():
            return ImportBatch.objects.create(
                file_name=(file_name or "upload")[:255],
                sha256=sha256,
                size=len(data),
                group=group,
                created_by=user,
                dry_run=dry_run,
                status=BatchStatus.RUNNING,
                **_this_process(),
            )
    except IntegrityError:
        raise ImportRefused(_already_importing(group, sha256)) from None


def _finish(batch: ImportBatch, plan: Plan, status: str, failure: str = "") -> ImportResult:
    batch.status, batch.failure = status, failure
    batch.format = plan.format
    batch.finished_at = batch.last_seen_at = timezone.now()
    counts = plan.counts() if status != BatchStatus.INVALID else {"rows": plan.rows}
    for name in COUNT_FIELDS:
        setattr(batch, name, counts.get(name, 0) if status != BatchStatus.FAILED else 0)
    batch.rows = plan.rows
    batch.error_count = len(plan.errors)
    batch.errors = [error.as_dict() for error in plan.errors[:ERRORS_KEPT]]
    if status != BatchStatus.PREVIEWED:
        batch.content = None
    if status not in (BatchStatus.PREVIEWED, BatchStatus.INVALID):
        # Imported or failed: the records (or nothing) are what is left to see, not the file.
        batch.preview = ""
    batch.save()
    return ImportResult(batch, plan)


# --- Validation --------------------------------------------------------------------------------


def validate(
    data: bytes,
    file_name: str,
    *,
    user,
    group: Organisation,
    progress: Callable[[str, int], None] | None = None,
    find_duplicates: bool = True,
) -> Plan:
    """Read and check the whole file; nothing is written. The plan lists what an import would
    create and update, every error, and (``find_duplicates``) the people on file each new
    person may be. An import looks for those once it has written (_flag_duplicates)."""
    plan = Plan(file_name=file_name)
    try:
        table = read_table(data)
    except FileRefused as refused:
        plan.error(refused.row, "", str(refused))
        return plan
    plan.format, plan.rows = table.format, len(table.rows)
    columns = _check_header(table.header, plan, table.header_row)
    if not plan.ok:
        return plan
    vocab = Vocabularies()
    for number, cells in table.rows:
        row = dict(zip(columns, cells, strict=True))
        _check_row(number, row, plan, vocab)
        if progress:
            progress("checked", 1)
        _beat()
    if not plan.ok:
        return plan
    _match_existing(plan, user, group)
    if plan.ok:
        _validate_models(plan)
    if plan.ok and find_duplicates:
        _find_duplicates(plan, user)
    plan.errors.sort(key=lambda e: (e.row or 0, _column_order(e.column)))
    return plan


def _column_order(column: str) -> int:
    return COLUMN_NAMES.index(column) if column in COLUMN_NAMES else -1


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").casefold())


def _check_header(header: list[str], plan: Plan, row: int = 1) -> list[str]:
    """The header's column names; ``row`` is where the file has them (below any notes)."""
    columns = [_normalise_header(name) for name in header]
    seen = {}
    for index, column in enumerate(columns, start=1):
        if not column:
            plan.error(row, f"#{index}", gettext("This column has no name; name it or delete it."))
        elif column in seen:
            plan.error(
                row,
                column,
                gettext("The column appears twice (columns %(first)s and %(second)s).")
                % {"first": seen[column], "second": index},
            )
        elif column not in COLUMN_NAMES:
            close = difflib.get_close_matches(column, COLUMN_NAMES, n=1)
            if close:
                message = gettext(
                    "Unknown column. Did you mean %(column)s? The template's columns are "
                    "listed in the import instructions."
                ) % {"column": close[0]}
            else:
                message = gettext(
                    "Unknown column. The template's columns are listed in the import instructions."
                )
            plan.error(row, column, message)
        seen.setdefault(column, index)
    for column in REQUIRED:
        if column not in columns:
            plan.error(row, column, gettext("This required column is missing."))
    return columns


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would run this cell as a formula (CSV injection)."""
    if not text:
        return False
    if text[0] in "=+@\t\r" or text.lstrip()[:1] in ("=", "+", "@"):
        return True
    return text.startswith("-") and not re.match(r"-\d", text)


def _check_row(number: int, row: dict, plan: Plan, vocab: "Vocabularies") -> None:
    errors_before = len(plan.errors)
    clean = {}
    for column, raw in row.items():
        if len(raw) > MAX_CELL_CHARS:
            plan.error(
                number,
                column,
                gettext("The cell holds %(length)s characters; at most %(limit)s are accepted.")
                % {"length": f"{len(raw):,}", "limit": f"{MAX_CELL_CHARS:,}"},
            )
            continue
        if formula_like(raw):
            plan.error(
                number,
                column,
                gettext(
                    "The value starts with =, +, @, - or a tab, which spreadsheets run as a "
                    "formula. Remove that character (or the formula)."
                ),
            )
            continue
        clean[column] = raw.strip()
    if len(plan.errors) > errors_before:
        return
    get = clean.get
    for column in REQUIRED:
        if not get(column):
            plan.error(number, column, gettext("Required: this row has no value here."))
    if len(plan.errors) > errors_before:
        return
    # The template's example rows are never imported, even by accident; the rest of such a
    # row is not checked, as it is to be deleted.
    example = next((column for column in ID_COLUMNS if is_example_id(get(column, ""))), None)
    if example:
        plan.error(
            number,
            example,
            gettext(
                "This is the template's example row: delete it. Ids starting with %(prefix)s "
                "are the template's examples and are never imported."
            )
            % {"prefix": EXAMPLE_PREFIX},
        )
        return

    def resolve(column, resolver):
        value = get(column, "")
        if not value:
            return None
        try:
            return resolver(value)
        except ValueError as error:
            plan.error(number, column, str(error))
            return None

    # --- person
    person_id, case_id = get("person_external_id"), get("case_external_id")
    person_values = {
        "gender": resolve("person_gender", vocab.gender),
        "birth_date": resolve("person_birth_date", edtf),
        "ethnicity": resolve("person_ethnicity", vocab.ethnicity),
        "place_of_origin": resolve("person_place_of_origin", vocab.places),
        "occupation": get("person_occupation") or None,
        "public_summary": get("person_public_summary") or None,
    }
    names = []
    for column in NAME_COLUMNS:
        script, language, kind = NAME_COLUMN_KINDS[column]
        for name in split(get(column, "")):
            names.append((re.sub(r"\s+", " ", name), script, language, kind, column, number))
    # --- case
    case_values = {"public_summary": get("case_public_summary") or None}
    incidents = resolve("case_incidents", lambda v: [vocab.incidents(x) for x in split(v)]) or []
    # --- event
    event = None
    if any(get(column) for column in EVENT_FIELD_COLUMNS) or get("event_external_id"):
        kind = resolve("event_kind", vocab.event_kind)
        if not get("event_kind"):
            plan.error(
                number,
                "event_kind",
                gettext("Say what kind of event this row records (%(accepted)s).")
                % {"accepted": vocab.event_kind.accepted},
            )
        event = {
            "kind": kind,
            "date": resolve("event_date", edtf),
            "location": resolve("event_place", vocab.places),
            "facility": resolve("event_facility", vocab.facilities),
            "authority": resolve("event_authority", vocab.organisations),
            "charge_basis": resolve("event_charge_basis", vocab.charge_basis),
            "sentence": get("event_sentence") or None,
            "description": get("event_description") or None,
        }
        charges = resolve("event_charges", lambda v: [vocab.charges(x) for x in split(v)]) or []
    # --- source
    source = None
    if any(get(column) for column in SOURCE_FIELD_COLUMNS):
        source = {
            "title": get("source_title") or None,
            "url": get("source_url") or None,
            "publisher": resolve("source_publisher", vocab.organisations),
            "published": resolve("source_date", edtf),
            "kind": resolve("source_kind", vocab.source_kind),
            "access": resolve("source_access", vocab.access),
            "language": resolve("source_language", vocab.language),
        }
        for column in SOURCE_REQUIRED:
            if not get(column):
                plan.error(number, column, gettext("Required when the row names a source."))
    if len(plan.errors) > errors_before:
        return

    # --- aggregate: rows about the same person, case or event must agree
    person = plan.people.get(person_id)
    if person is None:
        person = plan.people[person_id] = PersonPlan(person_id, [])
    person.rows.append(number)
    person_what = gettext("Person %(id)s") % {"id": person_id}
    _merge(plan, person, person_values, number, PERSON_COLUMNS, person_what)
    known = {(n[0], n[2]) for n in person.names}
    person.names += [n for n in names if (n[0], n[2]) not in known]

    case = plan.cases.get(case_id)
    if case is None:
        case = plan.cases[case_id] = CasePlan(case_id, person_id, [])
    elif case.person_external_id != person_id:
        plan.error(
            number,
            "person_external_id",
            gettext("Case %(case)s belongs to person %(owner)s on row %(row)s, not to %(person)s.")
            % {
                "case": case_id,
                "owner": case.person_external_id,
                "row": case.rows[0],
                "person": person_id,
            },
        )
        return
    case.rows.append(number)
    case_what = gettext("Case %(id)s") % {"id": case_id}
    _merge(plan, case, case_values, number, CASE_COLUMNS, case_what)
    case.incidents.update({incident.pk: incident for incident in incidents})

    event_plan = None
    if event is not None:
        event_id = get("event_external_id", "")
        key = ("id", event_id) if event_id else ("auto", case_id, event["kind"], event["date"])
        event_plan = plan.events.get(key)
        if event_plan is None:
            event_plan = plan.events[key] = EventPlan(key, case_id, event_id, [])
        elif event_plan.case_external_id != case_id:
            plan.error(
                number,
                "event_external_id",
                gettext("Event %(event)s belongs to case %(case)s on row %(row)s.")
                % {
                    "event": event_id,
                    "case": event_plan.case_external_id,
                    "row": event_plan.rows[0],
                },
            )
            return
        event_plan.rows.append(number)
        _merge(plan, event_plan, event, number, EVENT_COLUMNS, gettext("The event"))
        event_plan.charges.update({charge.pk: charge for charge in charges})

    if source is not None:
        key = (
            ("url", source["url"])
            if source["url"]
            else ("title", fold(source["title"]), source["published"] or "")
        )
        source_plan = plan.sources.get(key)
        if source_plan is None:
            source_plan = plan.sources[key] = SourcePlan(key, number, values=source)
        plan.citations.append(
            CitationPlan(
                number,
                source_plan,
                case_id,
                event_plan,
                get("source_locator", ""),
                get("source_claim", ""),
            )
        )


def _merge(plan: Plan, target, values: dict, row: int, columns: dict, what: str) -> None:
    """Fold one row's values into the record several rows describe; a different value for
    the same field is a conflict (an empty cell is not)."""
    for name, value in values.items():
        if value is None:
            continue
        if name in target.values and target.values[name] != value:
            first = target.values[name]
            plan.error(
                row,
                columns[name],
                gettext(
                    "%(what)s has “%(first)s” on row %(row)s and “%(value)s” here; give one "
                    "value, or leave the cell empty on all but one row."
                )
                % {
                    "what": what,
                    "first": _show(first),
                    "row": target.origin[name],
                    "value": _show(value),
                },
            )
            continue
        target.values.setdefault(name, value)
        target.origin.setdefault(name, row)


def _show(value) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def split(value: str) -> list[str]:
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def edtf(value: str) -> str:
    try:
        edtf_bounds(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return value


# --- Vocabularies ------------------------------------------------------------------------------


class Choice:
    """A choice field's values, accepted as the stored value or its label, in any case."""

    def __init__(self, choices, what: str):
        self.what = what
        self.lookup = {}
        for value, label in choices.choices:
            if value == "":
                continue
            self.lookup[fold(str(value))] = value
            self.lookup.setdefault(fold(str(label)), value)
        self.accepted = ", ".join(str(v) for v, _ in choices.choices if v != "")

    def __call__(self, text: str):
        value = self.lookup.get(fold(text))
        if value is None:
            raise ValueError(
                gettext("“%(value)s” is not a %(what)s. Accepted: %(accepted)s.")
                % {"value": _show(text), "what": self.what, "accepted": self.accepted}
            )
        return value


class Records:
    """An existing vocabulary (places, charges, …) found by any of its names or its public id."""

    def __init__(self, queryset, fields: Iterable[str], what: str, whats: str, add_hint: str):
        # what: the record's name, one and several (translated); add_hint: where to add one
        self.what, self.whats, self.add_hint = what, whats, add_hint
        self.by_key: dict[str, list] = defaultdict(list)
        for record in queryset:
            keys = {str(record.uid)} | {fold(getattr(record, f) or "") for f in fields}
            for key in keys - {""}:
                self.by_key[key].append(record)

    def __call__(self, text: str):
        parts = [part.strip() for part in text.split(" / ")]
        candidates = self.by_key.get(fold(parts[-1]), [])
        if len(parts) > 1:  # "Parent / Child" picks one of several places of one name
            parents = self.by_key.get(fold(parts[-2]), [])
            parent_pks = {p.pk for p in parents}
            candidates = [c for c in candidates if getattr(c, "parent_id", None) in parent_pks]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            listed = "; ".join(f"{c} ({c.uid})" for c in candidates[:5])
            raise ValueError(
                gettext(
                    "Several %(what)s are called “%(name)s”: %(listed)s. Write “Parent / Name” "
                    "or the public ID."
                )
                % {"what": self.whats, "name": text, "listed": listed}
            )
        close = difflib.get_close_matches(fold(parts[-1]), list(self.by_key), n=3, cutoff=0.6)
        sentences = [
            gettext("No %(what)s called “%(name)s” is in casetracker.")
            % {"what": self.what, "name": _show(text)}
        ]
        if close:
            sentences.append(
                gettext("Close matches: %(names)s.")
                % {"names": ", ".join(str(self.by_key[c][0]) for c in close)}
            )
        sentences.append(str(self.add_hint))
        raise ValueError(" ".join(sentences))


class Vocabularies:
    """Everything a row's values are looked up in, read once per file."""

    def __init__(self):
        # The values the template's columns are documented to accept (imports.template).
        def choice(column, what):
            return Choice(COLUMNS_BY_NAME[column].choices, what)

        self.gender = choice("person_gender", gettext("gender"))
        self.ethnicity = choice("person_ethnicity", gettext("ethnicity"))
        self.event_kind = choice("event_kind", gettext("kind of event"))
        self.charge_basis = choice("event_charge_basis", gettext("charge basis"))
        self.source_kind = choice("source_kind", gettext("kind of source"))
        self.access = choice("source_access", gettext("access level"))
        self.language = choice("source_language", gettext("language"))
        admin_adds = gettext("An administrator can add it in the admin first.")
        self.places = Records(
            Location.objects.all(),
            ("name_en", "name_kk", "name_zh"),
            gettext("place"),
            gettext("places"),
            admin_adds,
        )
        self.facilities = Records(
            Location.objects.filter(kind=LocationKind.FACILITY),
            ("name_en", "name_kk", "name_zh"),
            gettext("facility"),
            gettext("facilities"),
            admin_adds,
        )
        charges = Records(
            ChargeModel.objects.all(),
            ("name", "name_zh", "article"),
            gettext("charge"),
            gettext("charges"),
            admin_adds,
        )
        self.charges = lambda text: charges(re.sub(r"^art(icle)?\.?\s*", "", text, flags=re.I))
        self.organisations = Records(
            Organisation.objects.all(),
            ("name", "name_kk", "name_zh", "abbreviation"),
            gettext("organisation"),
            gettext("organisations"),
            gettext("Add it under Organisations first."),
        )
        self.incidents = Records(
            Incident.objects.all(),
            ("name",),
            gettext("incident"),
            gettext("incidents"),
            gettext("A verifier can add it under Incidents first."),
        )


def find_group(text: str) -> Organisation:
    """The submitting group, by name, abbreviation or public id."""
    try:
        return Records(
            Organisation.objects.all(),
            ("name", "name_kk", "name_zh", "abbreviation"),
            gettext("organisation"),
            gettext("organisations"),
            gettext("Add the group under Organisations first."),
        )(text)
    except ValueError as error:
        raise ImportRefused(str(error)) from None


# --- Matching the file with what is stored ------------------------------------------------------


def _external(group, kind, ids) -> dict[str, ExternalRecord]:
    records, ids = {}, list(ids)
    related = {"person": "person", "case": "case__person", "event": "event__case"}[kind]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = ExternalRecord.objects.filter(group=group, kind=kind, external_id__in=chunk)
        records.update({r.external_id: r for r in found.select_related(related)})
    return records


def _match_existing(plan: Plan, user, group) -> None:
    people = _external(group, RecordKind.PERSON, plan.people)
    cases = _external(group, RecordKind.CASE, plan.cases)
    event_ids = [e.external_id for e in plan.events.values() if e.external_id]
    events = _external(group, RecordKind.EVENT, event_ids)
    visible_people = set(
        Person.objects.visible_to(user)
        .filter(pk__in=[r.person_id for r in people.values()])
        .values_list("pk", flat=True)
    )
    visible_cases = set(
        Case.objects.visible_to(user)
        .filter(pk__in=[r.case_id for r in cases.values()])
        .values_list("pk", flat=True)
    )
    for person in plan.people.values():
        record = people.get(person.external_id)
        if record is None:
            continue
        if record.person_id not in visible_people:
            plan.error(
                person.rows[0],
                "person_external_id",
                gettext(
                    "%(id)s is a person you may not see (a sensitive case); ask a verifier to "
                    "import it."
                )
                % {"id": person.external_id},
            )
            continue
        person.existing = record.person
    for case in plan.cases.values():
        record = cases.get(case.external_id)
        person = plan.people[case.person_external_id]
        if record is None:
            continue
        if record.case_id not in visible_cases:
            plan.error(
                case.rows[0],
                "case_external_id",
                gettext(
                    "%(id)s is a case you may not see (sensitive); ask a verifier to import it."
                )
                % {"id": case.external_id},
            )
            continue
        existing = record.case
        if person.existing is None or existing.person_id != person.existing.pk:
            plan.error(
                case.rows[0],
                "person_external_id",
                gettext(
                    "Case %(id)s (%(reference)s) is about %(person)s, whom this group does "
                    "not call %(person_id)s."
                )
                % {
                    "id": case.external_id,
                    "reference": existing.reference,
                    "person": existing.person,
                    "person_id": case.person_external_id,
                },
            )
            continue
        if existing.archived_at:
            plan.error(
                case.rows[0],
                "case_external_id",
                gettext("%(reference)s is archived and cannot be changed by an import.")
                % {"reference": existing.reference},
            )
            continue
        case.existing = existing
        if existing.review_state == ReviewState.VERIFIED:
            plan.warnings.append(
                gettext(
                    "%(reference)s is verified: if this file changes it, it goes back to "
                    "review, and partners keep seeing the version last verified until it is "
                    "verified again."
                )
                % {"reference": existing.reference}
            )
    # Events: by the group's id, else (or for a new id) by case, kind and date.
    stored = defaultdict(list)
    case_pks = [c.existing.pk for c in plan.cases.values() if c.existing]
    for event in DetentionEvent.objects.filter(case_id__in=case_pks).prefetch_related("charges"):
        stored[(event.case_id, event.kind, event.date)].append(event)
    taken = set()
    for event in plan.events.values():
        case = plan.cases[event.case_external_id]
        record = events.get(event.external_id) if event.external_id else None
        if record is not None:
            if case.existing is None or record.event.case_id != case.existing.pk:
                plan.error(
                    event.rows[0],
                    "event_external_id",
                    gettext("Event %(id)s belongs to another case.") % {"id": event.external_id},
                )
                continue
            event.existing = record.event
        elif case.existing is not None:
            kind = event.values.get("kind")
            same = stored.get((case.existing.pk, kind, event.values.get("date") or ""), [])
            if len(same) > 1:
                plan.error(
                    event.rows[0],
                    "event_kind",
                    ngettext(
                        "%(reference)s has %(count)d %(kind)s event on this date; give "
                        "event_external_id to say which one this row is.",
                        "%(reference)s has %(count)d %(kind)s events on this date; give "
                        "event_external_id to say which one this row is.",
                        len(same),
                    )
                    % {"reference": case.existing.reference, "count": len(same), "kind": kind},
                )
                continue
            event.existing = same[0] if same else None
        if event.existing is not None:
            if event.existing.pk in taken:
                plan.error(
                    event.rows[0],
                    "event_external_id",
                    gettext("Two events in the file are the same stored event."),
                )
            taken.add(event.existing.pk)
    _match_sources(plan, user)
    _diff(plan)


def _match_sources(plan: Plan, user) -> None:
    # Only sources the importer may see (need to know): a hidden source with the same
    # address or title is not revealed, and a new one is created instead.
    sources = Source.objects.visible_to(user)
    urls = [k[1] for k in plan.sources if k[0] == "url"]
    titles = {k[1] for k in plan.sources if k[0] == "title"}
    by_url = {}
    for source in sources.with_urls(urls).order_by("pk"):
        by_url.setdefault(source.url.strip(), source)
    by_title = {}
    if titles:
        wanted = Q()
        for key in plan.sources:
            if key[0] == "title":
                wanted |= Q(title__iexact=plan.sources[key].values["title"])
        for source in sources.filter(wanted).order_by("pk"):
            by_title.setdefault(("title", fold(source.title), source.published), source)
    for key, source in plan.sources.items():
        source.existing = by_url.get(key[1]) if key[0] == "url" else by_title.get(key)
    # A citation already stored (same source, subject and locator) is not added again.
    existing_cases = {c.external_id: c.existing for c in plan.cases.values() if c.existing}
    stored = set(
        Citation.objects.filter(
            Q(case__in=list(existing_cases.values()))
            | Q(event__in=[e.existing for e in plan.events.values() if e.existing])
        ).values_list("source_id", "case_id", "event_id", "locator")
    )
    kept, seen = [], set()
    for citation in plan.citations:
        source = citation.source.existing
        if citation.event is not None:
            event = citation.event.existing
            subject = (None, event.pk if event else None)
            local = (id(citation.source), id(citation.event), citation.locator)
        else:
            case = existing_cases.get(citation.case_external_id)
            subject = (case.pk if case else None, None)
            local = (id(citation.source), citation.case_external_id, citation.locator)
        if source and subject != (None, None) and (source.pk, *subject, citation.locator) in stored:
            continue
        if local not in seen:
            seen.add(local)
            kept.append(citation)
    plan.citations = kept


def _diff(plan: Plan) -> None:
    """What each existing record would change: only values that differ (no empty writes)."""
    names = defaultdict(set)
    existing = [p.existing.pk for p in plan.people.values() if p.existing]
    for chunk in _chunks(existing):
        for person_id, name, language in PersonName.objects.filter(person_id__in=chunk).values_list(
            "person_id", "name", "language"
        ):
            names[person_id].add((name, language))
    for person in plan.people.values():
        stored = set()
        if person.existing:
            person.changes = _changes(person.existing, person.values)
            stored = names[person.existing.pk]
        person.new_names = [n for n in person.names if (n[0], n[2]) not in stored]
    incidents = defaultdict(set)
    existing = [c.existing.pk for c in plan.cases.values() if c.existing and c.incidents]
    for chunk in _chunks(existing):
        for case_id, incident_id in Case.incidents.through.objects.filter(
            case_id__in=chunk
        ).values_list("case_id", "incident_id"):
            incidents[case_id].add(incident_id)
    for case in plan.cases.values():
        have = set()
        if case.existing:
            case.changes = _changes(case.existing, case.values)
            have = incidents[case.existing.pk]
        case.new_incidents = [i for pk, i in case.incidents.items() if pk not in have]
    for event in plan.events.values():
        if event.existing:
            event.changes = _changes(event.existing, event.values)
            have = {charge.pk for charge in event.existing.charges.all()}
        else:
            have = set()
        event.new_charges = [c for pk, c in event.charges.items() if pk not in have]


def _changes(obj, values: dict) -> dict:
    """field → (stored, new) for the values that differ. Compares keys, not related objects,
    so that unchanged relations cost no query."""
    changes = {}
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            if getattr(obj, model_field.attname) != value.pk:
                changes[name] = (getattr(obj, name), value)
        elif getattr(obj, name) != value:
            changes[name] = (getattr(obj, name), value)
    return changes


# --- Model validation: the models' own clean() and field checks ---------------------------------


def _model_errors(plan: Plan, obj, set_fields, columns: dict, row_of, default_column="") -> None:
    """full_clean() the fields the import sets; each error goes to its row and column."""
    # Related records were found in the database just now: not looked up again, one by one.
    exclude = [f.name for f in obj._meta.fields if f.name not in set_fields or f.is_relation]
    try:
        # Constraints are left to the database: what an import sets cannot break them once
        # the fields are valid (EDTF bounds run forwards; names are deduplicated).
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            column = columns.get(name, default_column)
            for message in messages:
                plan.error(row_of(name), column, message)


def _validate_models(plan: Plan) -> None:
    for person in plan.people.values():
        _beat()
        obj = _copy(person.existing) if person.existing else Person()
        for name, value in person.values.items():
            setattr(obj, name, value)
        _model_errors(
            plan, obj, person.values, PERSON_COLUMNS, lambda n, p=person: p.origin.get(n, p.rows[0])
        )
        if not person.existing and not person.names:
            plan.error(
                person.rows[0],
                "name_latin",
                gettext("Person %(id)s is new: give at least one name.")
                % {"id": person.external_id},
            )
        for text, script, language, kind, column, row in person.new_names:
            name = PersonName(name=text, script=script, language=language, kind=kind)
            _model_errors(
                plan,
                name,
                ("name", "script", "language", "kind"),
                dict.fromkeys(("name", "script", "language", "kind"), column),
                lambda n, r=row: r,
                column,
            )
    for case in plan.cases.values():
        _beat()
        obj = _copy(case.existing) if case.existing else Case()
        for name, value in case.values.items():
            setattr(obj, name, value)
        _model_errors(
            plan, obj, case.values, CASE_COLUMNS, lambda n, c=case: c.origin.get(n, c.rows[0])
        )
    for event in plan.events.values():
        _beat()
        obj = _copy(event.existing) if event.existing else DetentionEvent()
        for name, value in event.values.items():
            setattr(obj, name, value)
        fields = set(event.values) | ({"location"} if event.values.get("facility") else set())
        _model_errors(
            plan, obj, fields, EVENT_COLUMNS, lambda n, e=event: e.origin.get(n, e.rows[0])
        )
    for source in plan.sources.values():
        _beat()
        if source.existing:
            continue
        values = {k: v for k, v in source.values.items() if v is not None}
        _model_errors(plan, Source(**values), values, SOURCE_COLUMNS, lambda n, s=source: s.row)
    for citation in plan.citations:
        _beat()
        obj = Citation(locator=citation.locator, claim=citation.claim or "-")
        _model_errors(
            plan, obj, ("locator", "claim"), CITATION_COLUMNS, lambda n, c=citation: c.row
        )


def _copy(obj):
    """A detached copy to validate changes on, so the stored instance is left as read."""
    clone = type(obj)()
    clone.__dict__.update({k: v for k, v in obj.__dict__.items() if k != "_state"})
    clone._state.adding, clone._state.db = False, obj._state.db
    return clone


# --- Possible duplicates (people.matching) ------------------------------------------------------


def _matching():
    """people.matching, or None while it does not exist yet."""
    try:
        from people import matching
    except ImportError:
        return None
    return matching


# Possible duplicates listed for each new person.
DUPLICATES_SHOWN = 5
# New people searched for together, between two steps of the progress bar.
DUPLICATE_BATCH = 2000


def _birth_year(person: PersonPlan) -> int | None:
    birth_date = person.values.get("birth_date")
    if birth_date:
        bounds = edtf_bounds(birth_date)
        if bounds.earliest and bounds.latest and bounds.earliest.year == bounds.latest.year:
            return bounds.earliest.year
    return None


def possible_duplicates(person: PersonPlan, user, exclude: Person | None = None) -> list:
    """People the importer may see who may be this new person (people.matching.find_people)."""
    matching = _matching()
    if matching is None:
        return []
    return matching.find_people(
        [name[0] for name in person.names],
        queryset=Person.objects.visible_to(user),
        birth_year=_birth_year(person),
        place_of_origin=person.values.get("place_of_origin"),
        exclude_ids=[exclude.pk] if exclude else (),
        limit=DUPLICATES_SHOWN,
    )


def possible_duplicates_many(people: list[PersonPlan], user, *, exclude_self=False) -> list:
    """possible_duplicates() of each of ``people``, in order (``exclude_self``: each written
    person left out of their own matches), in a few queries for all of them
    (people.matching.find_people_many)."""
    matching = _matching()
    if matching is None:
        return [[] for _ in people]
    queries = [
        matching.PeopleQuery(
            names=tuple(name[0] for name in person.names),
            birth_year=_birth_year(person),
            place_of_origin=person.values.get("place_of_origin"),
            exclude_ids=(person.person.pk,) if exclude_self else (),
        )
        for person in people
    ]
    # The visibility rule is evaluated once per batch here, not once per person.
    return matching.find_people_many(
        queries, queryset=Person.objects.visible_to(user), limit=DUPLICATES_SHOWN
    )


def _find_duplicates(plan: Plan, user) -> None:
    new = [p for p in plan.people.values() if p.existing is None and p.names]
    for person, matches in zip(new, possible_duplicates_many(new, user), strict=True):
        person.matches = matches


def _record_duplicates(person: Person, matches) -> int:
    matching = _matching()
    if matching is None or not matches:
        return 0
    return matching.record_candidates(person, matches)


# --- Writing -----------------------------------------------------------------------------------


def _write(batch: ImportBatch, plan: Plan, user, progress) -> ImportResult:
    batch.status = BatchStatus.RUNNING
    batch.save(update_fields=["status"])
    heartbeat = _HEARTBEAT.get()  # _write runs inside _working()
    try:
        with heartbeat.in_transaction(), transaction.atomic(), acting_as(user, batch.reason):
            _apply(plan, batch, user, progress)
    except (DatabaseError, ValidationError, ConcurrentEditError) as error:
        failure = f"{type(error).__name__}: {error}"
        plan.warnings.append(gettext("Nothing was imported: %(failure)s") % {"failure": failure})
        return _finish(batch, plan, BatchStatus.FAILED, failure=failure)
    return _finish(batch, plan, BatchStatus.IMPORTED)


# Rows per bulk insert: few enough that the receivers of each insert's records_changed signal
# (cases.signals) stay under SQLite's limit on query parameters.
CHUNK = 500


def _chunks(items: list):
    for start in range(0, len(items), CHUNK):
        _beat()
        yield items[start : start + CHUNK]


def _bulk_create(model, objs: list, progress=None) -> None:
    """New rows through the project's audited bulk path (DomainQuerySet.bulk_create: history
    rows and records_changed like single saves), a chunk at a time."""
    for chunk in _chunks(objs):
        model.objects.bulk_create(chunk)
        if progress:
            progress("written", len(chunk))


def _save_changes(obj, changes: dict, user=None) -> None:
    for name, (_, new) in changes.items():
        setattr(obj, name, new)
    if user is not None:
        obj.updated_by = user
    obj.save()


def _apply(plan: Plan, batch: ImportBatch, user, progress) -> None:
    """Write the plan. New records go in bulk; records that exist are saved one by one, and
    only when something changed (a re-import of the same file writes nothing)."""
    people = list(plan.people.values())
    new_people = [p for p in people if p.existing is None]
    for person in new_people:
        # The names' copies on the person are written with it, not updated after its names.
        display_name, by_script = shown_names(
            (script_of(text, script), text) for text, script, *_ in person.names
        )
        person.person = Person(
            created_by=user,
            updated_by=user,
            display_name=display_name,
            names_by_script=by_script,
            **person.values,
        )
    _bulk_create(Person, [p.person for p in new_people], progress)
    for person in people:
        if person.existing is not None:
            _beat()
            person.person = person.existing
            if person.changes:
                _save_changes(person.existing, person.changes, user)
    with_preferred = set(
        PersonName.objects.filter(
            person__in=[p.existing for p in people if p.existing and p.new_names],
            is_preferred=True,
        ).values_list("person_id", flat=True)
    )
    names = []
    for person in people:
        for text, script, language, kind, _, _ in person.new_names:
            preferred = person.person.pk not in with_preferred
            with_preferred.add(person.person.pk)
            name = PersonName(
                person=person.person,
                name=text,
                script=script,
                language=language,
                kind=kind,
                is_preferred=preferred,
            )
            name.clean()  # fills the script of Chinese names, as validated
            names.append(name)
    _bulk_create(PersonName, names)

    cases = list(plan.cases.values())
    new_cases = [c for c in cases if c.existing is None]
    # Case.save() is not called by a bulk insert: the references are taken here, from the same
    # counter, all at once.
    references = CaseReferenceCounter.next_references(timezone.localdate().year, len(new_cases))
    for case, reference in zip(new_cases, references, strict=True):
        case.case = Case(
            person=plan.people[case.person_external_id].person,
            reference=reference,
            created_by=user,
            updated_by=user,
            **case.values,
        )
    _bulk_create(Case, [c.case for c in new_cases], progress)
    for case in cases:
        if case.existing is not None:
            _beat()
            case.case = case.existing
            if case.changes:
                _save_changes(case.existing, case.changes, user)
    # As case.incidents.add() would, with its history, for all cases at once.
    bulk_add_m2m(Case, "incidents", [(c.case, c.new_incidents) for c in cases if c.new_incidents])

    events = list(plan.events.values())
    new_events = [e for e in events if e.existing is None]
    for event in new_events:
        event.event = DetentionEvent(case=plan.cases[event.case_external_id].case, **event.values)
        event.event.clean()  # fills the place from the facility
    _bulk_create(DetentionEvent, [e.event for e in new_events], progress)
    for event in events:
        if event.existing is not None:
            _beat()
            event.event = event.existing
            if event.changes:
                for name, (_, new) in event.changes.items():
                    setattr(event.existing, name, new)
                event.existing.clean()
                event.existing.save()  # also refreshes the case's current situation
    # As event.charges.add() would, with its history, for all events at once.
    bulk_add_m2m(
        DetentionEvent, "charges", [(e.event, e.new_charges) for e in events if e.new_charges]
    )
    _refresh_statuses({e.event.case_id: e.event.case for e in new_events}.values())

    new_sources = [s for s in plan.sources.values() if s.existing is None]
    for source in plan.sources.values():
        source.source = source.existing or Source(
            created_by=user,
            updated_by=user,
            **{k: v for k, v in source.values.items() if v is not None},
        )
    _bulk_create(Source, [s.source for s in new_sources])
    _bulk_create(
        Citation,
        [
            Citation(
                source=c.source.source,
                locator=c.locator,
                claim=c.claim or _default_claim(c),
                **(
                    {"event": c.event.event}
                    if c.event
                    else {"case": plan.cases[c.case_external_id].case}
                ),
            )
            for c in plan.citations
        ],
    )
    _remember(plan, batch)
    _flag_duplicates(plan, user, new_people, progress)


def _refresh_statuses(cases) -> None:
    """A bulk insert does not run DetentionEvent.save(), which refreshes its case's current
    situation: refresh it here, by the same rule (Case.derived_statuses: one query for all
    the cases), one update per situation rather than one per case."""
    cases = list(cases)
    derived = Case.derived_statuses(case.pk for case in cases)
    by_status = defaultdict(list)
    for case in cases:
        status = case.status_override or derived[case.pk]
        if status != case.status:
            by_status[status].append(case.pk)
    now = timezone.now()
    for status, pks in by_status.items():
        for chunk in _chunks(pks):
            Case.objects.filter(pk__in=chunk).update(status=status, updated_at=now)


def _remember(plan: Plan, batch: ImportBatch) -> None:
    """Keep the group's ids of what was written; mark known ones as seen by this batch."""
    targets = [
        *((RecordKind.PERSON, p.external_id, "person", p.person) for p in plan.people.values()),
        *((RecordKind.CASE, c.external_id, "case", c.case) for c in plan.cases.values()),
        *(
            (RecordKind.EVENT, e.external_id, "event", e.event)
            for e in plan.events.values()
            if e.external_id
        ),
    ]
    known = defaultdict(set)
    for kind in RecordKind.values:
        for chunk in _chunks([t[1] for t in targets if t[0] == kind]):
            stored = ExternalRecord.objects.filter(
                group=batch.group, kind=kind, external_id__in=chunk
            )
            known[kind] |= set(stored.values_list("external_id", flat=True))
            stored.update(last_batch=batch)
    new = [
        ExternalRecord(
            group=batch.group,
            kind=kind,
            external_id=external_id,
            first_batch=batch,
            last_batch=batch,
            **{field_name: obj},
        )
        for kind, external_id, field_name, obj in targets
        if external_id not in known[kind]
    ]
    for chunk in _chunks(new):
        ExternalRecord.objects.bulk_create(chunk)


def _flag_duplicates(plan: Plan, user, new_people: list[PersonPlan], progress=None) -> None:
    """Put each new person who resembles someone the importer may see in the duplicate review
    queue. Searched now that every new person exists, so that two rows of one file naming one
    person under two ids are flagged too."""
    plan.flagged = 0
    if progress:
        progress("duplicates sought", 0)
    searched = [p for p in new_people if p.names]
    for start in range(0, len(searched), DUPLICATE_BATCH):
        _beat()
        batch = searched[start : start + DUPLICATE_BATCH]
        found = possible_duplicates_many(batch, user, exclude_self=True)
        for person, matches in zip(batch, found, strict=True):
            person.matches = matches
            plan.flagged += bool(_record_duplicates(person.person, matches))
        if progress:
            progress("duplicates sought", len(batch))


def _default_claim(citation: CitationPlan) -> str:
    """The claim of a citation the file gives none for: stored, so in English whatever the
    importer's language (like every value a record keeps)."""
    with translation.override("en"):
        return _default_claim_text(citation)


def _default_claim_text(citation: CitationPlan) -> str:
    if citation.event is not None:
        event = citation.event.event
        return f"{event.get_kind_display()} {event.date or '(date not given)'}: as the list says."
    return "Names this person among the detained, as the list says."
