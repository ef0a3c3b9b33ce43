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
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from casetracker import crypto
from casetracker.processes import is_gone, this_host
from jobs.models import OPEN_STATES, Job, State
from languages.services import supported

logger = logging.getLogger(__name__)

# How often a working job writes its progress and that it is alive, and reads whether it was
# cancelled.
HEARTBEAT = 2.0  # seconds
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


def open_job(kind: str) -> Job | None:
    """The job of ``kind`` waiting or running, if there is one (for work that one run at a
    time serves: a second scan or rebuild would only redo the first)."""
    return Job.objects.filter(kind=kind, state__in=OPEN_STATES).order_by("requested_at").first()


def _enqueue(job: Job) -> None:
    """A new queue entry for ``job``, which the caller holds locked (or has just made)."""
    result = import_string(job.task_path).enqueue(str(job.pk))
    job.task_id, job.state = result.id, State.QUEUED
    Job.objects.filter(pk=job.pk).update(task_id=result.id, state=State.QUEUED)


# --- Running -------------------------------------------------------------------------------


def run(job_id: str, work: Callable[[Job, "Progress"], dict | None]) -> None:
    """Do the work of job ``job_id`` (called by its task, in the worker)."""
    job = _claim(job_id)
    if job is None:
        return
    progress = Progress(job)
    progress.start()
    state, outcome, error = State.SUCCEEDED, {}, ""
    try:
        with translation.override(job.language):
            outcome = work(job, progress) or {}
    except JobTakenOver:
        return  # another run owns the job now (recover() judged this one gone)
    except JobCancelled:
        state = State.CANCELLED
    except JobFailed as failure:
        state, error = State.FAILED, str(failure)
    except (KeyboardInterrupt, SystemExit):
        # The worker is stopping: the job goes back on the queue for the next one.
        progress.stop()
        _requeue(job.pk, job.attempts, stopping=True)
        raise
    except Exception as failure:
        logger.exception("Background job %s (%s) failed.", job.pk, job.kind)
        with translation.override(job.language):
            error = gettext(
                "An unexpected error stopped this job (%(type)s). Nothing it was doing was "
                "kept. The server's log has the details; tell your administrator."
            ) % {"type": type(failure).__name__}
        state = State.FAILED
    finally:
        progress.stop()
    # Outside the handlers: a failure to record the end must not carry the work's exception
    # (and its message) into the queue's stored traceback.
    _end(job, progress, state, outcome=outcome, error=error)


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


def _end(job: Job, progress: "Progress", state: str, *, outcome: dict, error: str) -> None:
    # Only this run's job is ended: recover() may have queued it again meanwhile.
    Job.objects.filter(pk=job.pk, state=State.RUNNING, attempts=job.attempts).update(
        state=state,
        finished_at=timezone.now(),
        error=error,
        outcome=outcome,
        stage=progress.stage,
        done=progress.done,
        total=progress.total,
    )


class JobTakenOver(JobCancelled):
    """The job is no longer this run's: it was judged gone and queued again."""


class Progress:
    """How far a running job has got, and its heartbeat.

    The work calls ``step(stage, total)`` to start a step and ``advance(n)`` as it goes; both
    only note the figures. A thread of its own writes them, with the time, every HEARTBEAT
    seconds, on a database connection of its own: the work's own transaction shows nothing
    until it commits, the progress must show meanwhile, and a job must be seen alive even
    while one long statement runs. The thread also reads whether the job was cancelled;
    the next ``step`` or ``advance`` then raises JobCancelled."""

    def __init__(self, job: Job):
        self.pk = job.pk
        self.attempt = job.attempts
        self.stage, self.done, self.total = "", 0, None
        self.cancelled = threading.Event()
        self.taken_over = threading.Event()
        # Set after each write (for whoever wants to wait for the next one).
        self.beaten = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job.pk}", daemon=True)
        self._missed = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._stopping.set()
            self._thread.join()

    def step(self, stage: str, total: int | None = None) -> None:
        """``stage`` is an untranslated message (gettext_noop): it is translated when shown."""
        self.stage, self.total, self.done = stage, total, 0
        self._check()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._check()

    def _check(self) -> None:
        if self.taken_over.is_set():
            raise JobTakenOver
        if self.cancelled.is_set():
            raise JobCancelled

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

    def _beat(self) -> None:
        aside = None
        try:
            while True:
                try:
                    aside = aside or _connection_aside()
                    self._write(aside)
                except DatabaseError as error:  # missed progress is no reason to fail the work
                    # Said once a job: on SQLite every write misses while the work holds the
                    # one write lock (the process id tells there whether the worker lives).
                    (logger.debug if self._missed else logger.warning)(
                        "Background job %s: progress not recorded: %s", self.pk, error
                    )
                    self._missed = True
                    if aside is not None:  # a broken connection is opened again next time
                        aside.close()
                        aside = None
                if self._stopping.wait(HEARTBEAT):
                    return
        finally:
            if aside is not None:
                aside.close()

    def _write(self, aside) -> None:
        ops = aside.ops
        q = ops.quote_name
        table = q(Job._meta.db_table)
        key = _uuid_value(aside, self.pk)
        update = (
            f"UPDATE {table} SET {q('stage')} = %s, {q('done')} = %s, {q('total')} = %s, "  # noqa: S608 (quoted names)
            f"{q('last_seen_at')} = %s WHERE {q('id')} = %s AND {q('state')} = %s "
            f"AND {q('attempts')} = %s"
        )
        read = (
            f"SELECT {q('cancel_requested')}, {q('state')}, {q('attempts')} FROM {table} "  # noqa: S608
            f"WHERE {q('id')} = %s"
        )
        with aside.cursor() as cursor:
            now = ops.adapt_datetimefield_value(timezone.now())
            values = [self.stage, self.done, self.total, now, key, State.RUNNING.value]
            cursor.execute(update, [*values, self.attempt])
            cursor.execute(read, [key])
            row = cursor.fetchone()
        if row is None:
            return  # not to be seen from here (the tests' own transaction)
        cancel, state, attempts = row
        if state != State.RUNNING or attempts != self.attempt:
            self.taken_over.set()  # recover() judged this run gone and queued the job again
        elif cancel:
            self.cancelled.set()
        self.beaten.set()


def _connection_aside():
    aside = connections.create_connection(DEFAULT_DB_ALIAS)
    aside.ensure_connection()
    if aside.vendor == "sqlite":
        # One writer at a time: rather skip a heartbeat than wait for the work's lock.
        with aside.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 100")
    return aside


def _uuid_value(connection, value):
    """A UUID as the connection's driver stores it (text of 32 hex digits on SQLite)."""
    return value if connection.vendor == "postgresql" else value.hex


# --- Cancelling ------------------------------------------------------------------------------


def cancel(job: Job) -> str | None:
    """Cancel a job that has not ended: a waiting one at once (returns CANCELLED), a running one
    at its next step, where the step it is in is undone (returns RUNNING). None if it had
    ended."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.state == State.QUEUED:
            job.state, job.finished_at, job.cancel_requested = State.CANCELLED, timezone.now(), True
            job.save(update_fields=["state", "finished_at", "cancel_requested"])
            return State.CANCELLED
        if job.state == State.RUNNING:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
            return State.RUNNING
    return None


# --- Recovering the jobs of dead workers -------------------------------------------------------


def recover(now=None, *, starting_pid: int | None = None) -> dict[str, int]:
    """Queue again every running job whose worker has gone, and every waiting job whose queue
    entry was taken by a worker that died before starting it; give up, as interrupted, a job
    that has been tried MAX_ATTEMPTS times.

    A worker has gone when its process no longer runs (on this host), when it has not been
    seen for STALE_AFTER (elsewhere; the heartbeat writes every few seconds), or when its queue
    entry has ended while the job still says running (the worker could not record the end).
    ``starting_pid``: the process id of a worker that is just starting, so that none of the
    jobs recorded under it (by a process before a restart that reused the id) is its own.

    Called when a worker starts, by the worker's housekeeping every minute, and when staff
    look at the jobs."""
    now = now or timezone.now()
    counts = {"queued again": 0, "interrupted": 0}
    running = Job.objects.filter(state=State.RUNNING).values_list("pk", "attempts")
    for pk, attempts in running:
        with transaction.atomic():
            # Judged again under the lock, on this attempt: another recover() may have queued
            # it again, and a worker may have taken the new entry since.
            job = (
                Job.objects.select_for_update()
                .filter(pk=pk, state=State.RUNNING, attempts=attempts)
                .first()
            )
            if job is None or not _gone(job, now, starting_pid):
                continue
            counts["queued again" if _requeue_locked(job) else "interrupted"] += 1
    # Waiting, but its queue entry is no longer waiting (claimed by a worker that then died
    # before it started the job, or pruned): a new entry.
    stale = now - STALE_AFTER
    waiting = dict(
        Job.objects.filter(state=State.QUEUED, requested_at__lt=stale).values_list("task_id", "pk")
    )
    if waiting:
        entries = DBTaskResult.objects.filter(pk__in=list(waiting))
        alive = set(
            entries.filter(
                Q(status="READY") | Q(status="RUNNING", started_at__gte=stale)
            ).values_list("pk", flat=True)
        )
        for task_id in set(waiting) - alive:
            with transaction.atomic():
                job = (
                    Job.objects.select_for_update()
                    .filter(pk=waiting[task_id], state=State.QUEUED, task_id=task_id)
                    .first()
                )
                if job is not None:
                    _enqueue(job)
                    counts["queued again"] += 1
    return counts


def _gone(job: Job, now, starting_pid: int | None) -> bool:
    if starting_pid is not None and job.host == this_host() and job.pid == starting_pid:
        return True
    entry = DBTaskResult.objects.filter(pk=job.task_id).values_list("status", flat=True).first()
    if entry in {"SUCCESSFUL", "FAILED"}:
        return True
    return is_gone(
        job.host, job.pid, job.last_seen_at or job.started_at, now=now, stale_after=STALE_AFTER
    )


def _requeue(pk, attempts: int, *, stopping: bool = False) -> bool:
    """Put this run of a job back on the queue; False if it had its MAX_ATTEMPTS."""
    try:
        with transaction.atomic():
            job = (
                Job.objects.select_for_update()
                .filter(pk=pk, state=State.RUNNING, attempts=attempts)
                .first()
            )
            return True if job is None else _requeue_locked(job)
    except DatabaseError:  # the database may be what is failing; the next worker start will
        if not stopping:
            raise
        logger.warning("Background job %s stopped and could not be queued again.", pk)
        return False


def _requeue_locked(job: Job) -> bool:
    if job.cancel_requested or job.attempts >= MAX_ATTEMPTS:
        job.state, job.finished_at = (
            State.CANCELLED if job.cancel_requested else State.INTERRUPTED,
            timezone.now(),
        )
        if not job.cancel_requested:
            with translation.override(job.language):
                job.error = gettext(
                    "The worker stopped while this job ran, %(attempts)s times; it was not "
                    "started again. Nothing it was doing was kept."
                ) % {"attempts": job.attempts}
        job.save(update_fields=["state", "finished_at", "error"])
        return False
    job.host, job.pid = "", None
    job.save(update_fields=["host", "pid"])
    _enqueue(job)
    return True


# --- Files ---------------------------------------------------------------------------------


def _file_path(job: Job) -> Path:
    # One file a run: a run judged gone and still writing never touches its successor's.
    return files_dir() / f"{job.pk}-{job.attempts}.bin"


def work_dir(job: Job) -> Path:
    """A private directory for this run's unencrypted work files, removed by the caller (and
    by prune() if the worker died before)."""
    directory = files_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix=f"{job.pk}-{job.attempts}.", dir=directory))


def keep_file(job: Job, source: Path, name: str, *, requires: dict | None = None) -> None:
    """Keep ``source`` (which is then removed) as the file job ``job`` made, encrypted, under
    the download name ``name``. ``requires``: what its requester must still have to download
    it, ``{"permissions": [...], "cases": [case keys they must still be able to see]}``."""
    target = _file_path(job)
    partial = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0

    def chunks():
        nonlocal size
        with source.open("rb") as plain:
            while block := plain.read(crypto.CHUNK):
                digest.update(block)
                size += len(block)
                yield block

    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with os.fdopen(os.open(partial, flags, 0o600), "wb") as sealed:
            for block in crypto.encrypt_stream(chunks(), FILE_PURPOSE):
                sealed.write(block)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        source.unlink(missing_ok=True)
    expires = timezone.now() + files_kept()
    kept = Job.objects.filter(pk=job.pk, state=State.RUNNING, attempts=job.attempts).update(
        file_name=name,
        file_size=size,
        file_sha256=digest.hexdigest(),
        file_expires_at=expires,
        file_requires=requires or {},
    )
    if not kept:  # cancelled or taken over meanwhile: the file is nobody's
        target.unlink(missing_ok=True)
        raise JobTakenOver
    job.file_name, job.file_size, job.file_sha256 = name, size, digest.hexdigest()
    job.file_expires_at, job.file_requires = expires, requires or {}


def has_file(job: Job) -> bool:
    return bool(
        job.state == State.SUCCEEDED
        and job.file_name
        and job.file_expires_at
        and job.file_expires_at > timezone.now()
        and _file_path(job).exists()
    )


def may_download(job: Job, user) -> bool:
    """Whether ``user`` may have the file of ``job``: theirs, and they still have the rights it
    was made with (a right withdrawn since is withdrawn for the file too)."""
    if job.requested_by_id is None or job.requested_by_id != user.pk or not user.is_active:
        return False
    requires = job.file_requires or {}
    if not user.has_perms(requires.get("permissions", [])):
        return False
    cases = requires.get("cases", [])
    if cases:
        from cases.models import Case  # the one rule of who sees which case

        return Case.objects.visible_to(user).filter(pk__in=cases).count() == len(set(cases))
    return True


def open_file(job: Job, user):
    """The decrypted file of ``job`` for ``user`` (may_download), counting the download; None
    if there is no file (any more) or it is not for them."""
    if not may_download(job, user):
        return None
    return read_file(job)


def read_file(job: Job, *, count: bool = True):
    """The decrypted file of ``job``, counting the download (unless ``count`` is off: a HEAD
    request, which is answered without the file); None if there is no file (any more).
    Whoever calls it has checked that the caller may have it (open_file for staff,
    exports.api for the partner who asked)."""
    if not has_file(job):
        return None
    reader = crypto.DecryptingReader(_file_path(job).open("rb"), FILE_PURPOSE)
    if count:
        Job.objects.filter(pk=job.pk).update(downloads=F("downloads") + 1)
    return reader


def prune(now=None) -> dict[str, int]:
    """Delete the files whose time is up, and whatever under VAR_DIR/jobs no live job owns
    (work files of a worker that died, a file of a run taken over); finished queue entries
    older than QUEUE_KEPT. The jobs themselves stay, as the record."""
    now = now or timezone.now()
    Job.objects.filter(file_expires_at__lte=now).exclude(file_name="").update(file_name="")
    removed = 0
    directory = files_dir()
    if directory.is_dir():
        keep = {
            f"{pk}-{attempts}.bin"
            for pk, attempts in Job.objects.exclude(file_name="").values_list("pk", "attempts")
        }
        running = {
            f"{pk}-{attempts}."
            for pk, attempts in Job.objects.filter(state=State.RUNNING).values_list(
                "pk", "attempts"
            )
        }
        for path in directory.iterdir():
            if path.name in keep or any(path.name.startswith(run) for run in running):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    queue = DBTaskResult.objects.filter(
        status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=now - QUEUE_KEPT
    )
    entries, _ = queue.delete()
    return {"files": removed, "queue entries": entries}


def discard_files_not_under(key_id: str) -> int:
    """After a key rotation: remove the jobs' files sealed under another key (they are copies
    kept for a day; whoever needs one makes it again). Returns how many."""
    removed = 0
    for pk, attempts in Job.objects.exclude(file_name="").values_list("pk", "attempts"):
        path = files_dir() / f"{pk}-{attempts}.bin"
        try:
            kid = crypto.stream_key_id(path, FILE_PURPOSE)
        except (FileNotFoundError, crypto.DecryptionError):
            kid = None
        if kid != key_id:
            path.unlink(missing_ok=True)
            Job.objects.filter(pk=pk).update(file_name="")
            removed += 1
    return removed
