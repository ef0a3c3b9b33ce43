"""Starting, running, following and tidying up background jobs.

- ``start(task, kind, user, parameters)`` records a Job and puts it on the queue, in one
  transaction: a job is never queued without its record, nor recorded without being queued.
- ``run(job_id, work)`` is what every task calls in the worker: it claims the job, gives
  ``work(job, progress)`` a ``Progress``, and records how it ended. The expected failures
  (``JobFailed``) keep their message for the person who asked; anything else is logged in full
  on the server and shown as an unexpected error, never with its traceback (which may quote
  data).
- ``recover()`` finds the jobs of workers that died (a restart, ``kill -9``, a crash; see
  casetracker.processes) and queues them again, up to MAX_ATTEMPTS times: every job's work is
  safe to run again (an export writes its file only at the end, the other jobs are idempotent).
- Files a job makes are kept encrypted under ``VAR_DIR/jobs`` for FILES_KEPT, for the requester
  alone to download; ``prune()`` removes them afterwards.
"""

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from casetracker import crypto
from casetracker.processes import is_gone, this_host
from jobs.models import OPEN_STATES, Job, State
from languages.services import supported

logger = logging.getLogger(__name__)

# How often a working job writes its progress (and reads whether it was cancelled), at most.
PROGRESS_EVERY = 1.0  # seconds
# A job whose worker has not been seen for this long, on another host, counts as gone. On the
# worker's own host the process id tells at once.
STALE_AFTER = timedelta(minutes=10)
# Runs of one job before it is given up as interrupted (a job that kills its worker each time
# must not loop for ever).
MAX_ATTEMPTS = 3
# Finished queue entries are kept this long (the jobs themselves stay as the record).
QUEUE_KEPT = timedelta(days=7)
FILE_PURPOSE = b"job-file"


def files_kept() -> timedelta:
    return timedelta(hours=settings.JOB_FILES_KEPT_HOURS)


def files_dir() -> Path:
    return Path(settings.VAR_DIR) / "jobs"


class JobFailed(Exception):
    """The work cannot be done; the message says why, to the person who asked."""


class JobCancelled(Exception):
    """Someone cancelled the job while it ran."""


# --- Starting ------------------------------------------------------------------------------


def start(task, kind: str, *, user=None, parameters: dict | None = None) -> Job:
    """Record a job of ``kind`` for ``user`` and queue ``task`` (a django-tasks task taking the
    job's id) to do it. ``parameters`` are codes, numbers and keys only (they are shown)."""
    language = supported(translation.get_language()) or "en"
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            requested_by=user if getattr(user, "pk", None) else None,
            parameters=parameters or {},
            language=language,
            task_path=task.module_path,
        )
        _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    result = import_string(job.task_path).enqueue(str(job.pk))
    job.task_id = result.id
    Job.objects.filter(pk=job.pk).update(task_id=result.id, state=State.QUEUED)


# --- Running -------------------------------------------------------------------------------


def run(job_id: str, work: Callable[[Job, "Progress"], dict | None]) -> None:
    """Do the work of job ``job_id`` (called by its task, in the worker)."""
    job = _claim(job_id)
    if job is None:
        return
    progress = Progress(job)
    try:
        with translation.override(job.language):
            outcome = work(job, progress) or {}
    except JobCancelled:
        _end(job, progress, State.CANCELLED)
    except JobFailed as error:
        _end(job, progress, State.FAILED, error=str(error))
    except (KeyboardInterrupt, SystemExit):
        # The worker is stopping: the job goes back on the queue for the next one.
        _requeue(job.pk, interrupted=True)
        raise
    except Exception as error:
        logger.exception("Background job %s (%s) failed.", job.pk, job.kind)
        with translation.override(job.language):
            message = gettext(
                "An unexpected error stopped this job (%(type)s). Nothing it was doing was "
                "kept. The server's log has the details; tell your administrator."
            ) % {"type": type(error).__name__}
        _end(job, progress, State.FAILED, error=message)
    else:
        _end(job, progress, State.SUCCEEDED, outcome=outcome)
    finally:
        progress.close()


def _claim(job_id: str) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state != State.QUEUED:
            return None  # cancelled before it started, or run already
        now = timezone.now()
        if job.cancel_requested:
            job.state, job.finished_at = State.CANCELLED, now
            job.save(update_fields=["state", "finished_at"])
            return None
        job.state, job.started_at, job.last_seen_at = State.RUNNING, now, now
        job.host, job.pid = this_host(), os.getpid()
        job.attempts += 1
        job.done, job.total, job.stage, job.error, job.outcome = 0, None, "", "", {}
        job.save()
    return job


def _end(
    job: Job, progress: "Progress", state: str, *, outcome: dict | None = None, error: str = ""
) -> None:
    # Only a job still running is ended: recover() may have queued it again meanwhile.
    updates = {
        "state": state,
        "finished_at": timezone.now(),
        "error": error,
        "stage": progress.stage,
        "done": progress.done,
        "total": progress.total,
    }
    if outcome is not None:
        updates["outcome"] = outcome
    Job.objects.filter(pk=job.pk, state=State.RUNNING, attempts=job.attempts).update(**updates)


class Progress:
    """How far a running job has got. ``step(stage, total)`` starts a step, ``advance(n)``
    counts work done. Writes to the job at most every PROGRESS_EVERY seconds, on a database
    connection of its own: the work's own transaction shows nothing until it commits, and the
    progress must show meanwhile. Raises JobCancelled when the job was cancelled."""

    def __init__(self, job: Job):
        self.pk = job.pk
        self.attempt = job.attempts
        self.stage, self.done, self.total = "", 0, None
        self._due = 0.0
        self._aside = None
        self._missed = False

    def step(self, stage: str, total: int | None = None) -> None:
        """``stage`` is an untranslated message (gettext_noop): it is translated when shown."""
        self.stage, self.total, self.done = stage, total, 0
        self._record(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._record()

    def counter(self, stage: str) -> Callable[[int], Callable[..., None]]:
        """For work that takes ``progress(total)`` and calls what it returns per item done."""

        def begin(total: int) -> Callable[..., None]:
            self.step(stage, total)
            return self.advance

        return begin

    def iterate(self, stage: str) -> Callable[[Iterable, int], Iterator]:
        """For work that takes ``wrap(iterable, total)`` (the tqdm-shaped progress)."""

        def wrap(iterable: Iterable, total: int) -> Iterator:
            self.step(stage, total)
            for item in iterable:
                yield item
                self.advance()

        return wrap

    def _record(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._due:
            return
        self._due = now + PROGRESS_EVERY
        try:
            cancelled = self._write()
        except DatabaseError as error:  # missed progress is no reason to fail the work
            # Once a job: on SQLite every report misses while the work holds the one write lock.
            log = logger.debug if self._missed else logger.warning
            self._missed = True
            log("Background job %s: progress not recorded: %s", self.pk, error)
            return
        if cancelled:
            raise JobCancelled

    def _write(self) -> bool:
        if self._aside is None:
            self._aside = connections.create_connection(DEFAULT_DB_ALIAS)
            self._aside.ensure_connection()
            if self._aside.vendor == "sqlite":
                # One writer at a time: rather skip a progress write than wait for the work's.
                with self._aside.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 100")
        ops = self._aside.ops
        q = ops.quote_name
        table = q(Job._meta.db_table)
        sql = (
            f"UPDATE {table} SET {q('stage')} = %s, {q('done')} = %s, {q('total')} = %s, "  # noqa: S608 (quoted names)
            f"{q('last_seen_at')} = %s WHERE {q('id')} = %s AND {q('state')} = %s "
            f"AND {q('attempts')} = %s"
        )
        key = _uuid_value(self._aside, self.pk)
        with self._aside.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    self.stage,
                    self.done,
                    self.total,
                    ops.adapt_datetimefield_value(timezone.now()),
                    key,
                    State.RUNNING.value,
                    self.attempt,
                ],
            )
            flag = f"SELECT {q('cancel_requested')} FROM {table} WHERE {q('id')} = %s"  # noqa: S608
            cursor.execute(flag, [key])
            row = cursor.fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        if self._aside is not None:
            self._aside.close()
            self._aside = None


def _uuid_value(connection, value):
    """A UUID as the connection's driver stores it (text of 32 hex digits on SQLite)."""
    return value if connection.vendor == "postgresql" else value.hex


# --- Cancelling ------------------------------------------------------------------------------


def cancel(job: Job) -> bool:
    """Cancel a job that has not ended: a waiting one at once, a running one at its next
    progress report (its work is rolled back). Returns whether there was anything to cancel."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state == State.QUEUED:
            job.state, job.finished_at, job.cancel_requested = State.CANCELLED, timezone.now(), True
            job.save(update_fields=["state", "finished_at", "cancel_requested"])
            return True
        if job.state == State.RUNNING:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
            return True
    return False


# --- Recovering the jobs of dead workers -------------------------------------------------------


def recover(now=None) -> dict[str, int]:
    """Queue again every running job whose worker has gone, and every waiting job whose queue
    entry was taken by a worker that died before starting it; give up, as interrupted, a job
    that has been tried MAX_ATTEMPTS times. Called when a worker starts, after each job, and
    when staff look at the jobs."""
    now = now or timezone.now()
    counts = {"queued again": 0, "interrupted": 0}
    running = Job.objects.filter(state=State.RUNNING).values_list(
        "pk", "host", "pid", "last_seen_at", "started_at"
    )
    for pk, host, pid, seen, started in running:
        if is_gone(host, pid, seen or started, now=now, stale_after=STALE_AFTER):
            counts["queued again" if _requeue(pk) else "interrupted"] += 1
    # Waiting, but its queue entry is no longer waiting (claimed by a worker that then died, or
    # pruned): put it back.
    waiting = dict(Job.objects.filter(state=State.QUEUED).values_list("task_id", "pk"))
    if waiting:
        taken = DBTaskResult.objects.filter(pk__in=list(waiting)).exclude(status="READY")
        lost = set(waiting) - set(
            DBTaskResult.objects.filter(pk__in=list(waiting)).values_list("pk", flat=True)
        )
        stale = now - STALE_AFTER
        for task_id in [*taken.filter(started_at__lt=stale).values_list("pk", flat=True), *lost]:
            job = Job.objects.filter(pk=waiting[task_id], state=State.QUEUED).first()
            if job is not None and job.requested_at < stale:
                with transaction.atomic():
                    _enqueue(job)
                counts["queued again"] += 1
    return counts


def _requeue(pk, *, interrupted: bool = False) -> bool:
    """Put a running job back on the queue; False if it has had its MAX_ATTEMPTS."""
    try:
        with transaction.atomic():
            job = Job.objects.select_for_update().filter(pk=pk, state=State.RUNNING).first()
            if job is None:
                return True
            if job.cancel_requested or job.attempts >= MAX_ATTEMPTS:
                job.state, job.finished_at = State.INTERRUPTED, timezone.now()
                with translation.override(job.language):
                    job.error = (
                        ""
                        if job.cancel_requested
                        else gettext(
                            "The worker stopped while this job ran, %(attempts)s times; it was "
                            "not started again. Nothing it was doing was kept."
                        )
                        % {"attempts": job.attempts}
                    )
                job.save(update_fields=["state", "finished_at", "error"])
                return False
            job.host, job.pid = "", None
            job.save(update_fields=["host", "pid"])
            _enqueue(job)
            return True
    except DatabaseError:  # the database may be what is failing; the next worker start will
        if not interrupted:
            raise
        logger.warning("Background job %s stopped and could not be queued again.", pk)
        return False


# --- Files ---------------------------------------------------------------------------------


def keep_file(job: Job, source: Path, name: str) -> None:
    """Keep ``source`` (which is then removed) as the file job ``job`` made, encrypted, under
    the download name ``name``."""
    directory = files_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / f"{job.pk}.bin"
    digest, size = hashlib.sha256(), 0

    def chunks():
        nonlocal size
        with source.open("rb") as plain:
            while block := plain.read(crypto.CHUNK):
                digest.update(block)
                size += len(block)
                yield block

    partial = target.with_suffix(".part")
    try:
        with os.fdopen(
            os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb"
        ) as sealed:
            for block in crypto.encrypt_stream(chunks(), FILE_PURPOSE):
                sealed.write(block)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        source.unlink(missing_ok=True)
    job.file_name, job.file_size, job.file_sha256 = name, size, digest.hexdigest()
    job.file_expires_at = timezone.now() + files_kept()
    Job.objects.filter(pk=job.pk).update(
        file_name=job.file_name,
        file_size=size,
        file_sha256=job.file_sha256,
        file_expires_at=job.file_expires_at,
    )


def has_file(job: Job) -> bool:
    return bool(
        job.state == State.SUCCEEDED
        and job.file_name
        and job.file_expires_at
        and job.file_expires_at > timezone.now()
        and (files_dir() / f"{job.pk}.bin").exists()
    )


def open_file(job: Job, user):
    """The decrypted file of ``job`` for ``user``, who must be the one who asked for it; counts
    the download. None if there is no file (any more) or it is not theirs."""
    if job.requested_by_id is None or job.requested_by_id != user.pk or not has_file(job):
        return None
    reader = crypto.DecryptingReader((files_dir() / f"{job.pk}.bin").open("rb"), FILE_PURPOSE)
    Job.objects.filter(pk=job.pk).update(downloads=F("downloads") + 1)
    return reader


def prune(now=None) -> dict[str, int]:
    """Delete the files whose time is up (and any file no job owns), and finished queue
    entries older than QUEUE_KEPT. The jobs themselves stay, as the record."""
    now = now or timezone.now()
    expired = Job.objects.filter(file_expires_at__lte=now).exclude(file_name="")
    removed = 0
    for pk in expired.values_list("pk", flat=True):
        (files_dir() / f"{pk}.bin").unlink(missing_ok=True)
        removed += 1
    expired.update(file_name="")
    directory = files_dir()
    if directory.is_dir():
        owned = {str(pk) for pk in Job.objects.exclude(file_name="").values_list("pk", flat=True)}
        open_jobs = {
            str(pk) for pk in Job.objects.filter(state__in=OPEN_STATES).values_list("pk", flat=True)
        }
        for path in directory.iterdir():
            stem = path.name.split(".")[0]
            if stem not in owned and stem not in open_jobs:
                path.unlink(missing_ok=True)
                removed += 1
    queue = DBTaskResult.objects.filter(
        status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=now - QUEUE_KEPT
    )
    entries, _ = queue.delete()
    return {"files": removed, "queue entries": entries}
