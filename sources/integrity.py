"""Evidence files checked against what was recorded at upload: ``manage.py verify_evidence``
and the Administrator page that starts it (sources.integrity_views) share this module.

Every file is decrypted and authenticated chunk by chunk (casetracker.crypto) and its SHA-256
and size recomputed, then compared with those recorded at upload (EvidenceFile.sha256, .size).
A file is

- **missing** when storage does not have it;
- **unreadable** when it does not decrypt and authenticate: altered on disk, truncated, never
  encrypted, or under a key that is no longer in the keyring;
- **changed** when it decrypts but its SHA-256 or size differs from the record: other content
  encrypted under our key, or the record altered.

Memory stays flat whatever the number and size of the files: rows are streamed a few hundred
at a time with only the columns needed (no encrypted file name is even decrypted), and each
file is read one chunk at a time.

Each run is in the security log (kind ``evidence_check``), under a run id: that it started
(with the host and process running it, so that a run whose process died shows as interrupted),
each problem file by its uid and its source's uid (the first PROBLEMS_LOGGED of them), and how
it ended, with the counts. Never a file's name: names are encrypted for a reason.
"""

import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.core.exceptions import SuspiciousOperation
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker import crypto
from casetracker.processes import is_gone, this_host
from casetracker.security import SecurityEvent, record
from sources.models import Access, EvidenceFile, Source

KIND = SecurityEvent.Kind.EVIDENCE_CHECK
# Evidence file rows read per query.
ROWS_PER_QUERY = 500
# Problem files written to the security log per run; the command lists them all.
PROBLEMS_LOGGED = 50
# A run started on another host, with no result yet, is taken for running this long.
RUN_PRESUMED_ALIVE = timedelta(hours=24)
# Run ids: short, random, and nothing else can pass for one in a log entry.
RUN_ID = re.compile(r"[0-9a-f]{12}")
_FIELD = re.compile(r"(\w+)=(\S+)")
# What the end of a run logs.
COUNTS = ("files", "bytes", "missing", "changed", "unreadable")


class Problem(models.TextChoices):
    MISSING = "missing", _("missing")
    CHANGED = "changed", _("changed")
    UNREADABLE = "unreadable", _("unreadable")


class Outcome(models.TextChoices):
    OK = "ok", _("every file as uploaded")
    PROBLEMS = "problems", _("problems found")
    INTERRUPTED = "interrupted", _("interrupted")
    ERROR = "error", _("stopped by an error")
    # Not logged: derived for a run with no result (RunRecord.state).
    RUNNING = "running", _("running")
    GONE = "gone", _("stopped without a result")


@dataclass
class Finding:
    """One file that is not as it was uploaded."""

    evidence_uid: str
    source_uid: str
    source_title: str  # "" for a confidential source: its title is not repeated in reports
    problem: str
    reason: str = ""
    source_url: str = ""  # its admin page, for those who may see it (sources.integrity_views)

    @property
    def problem_label(self) -> str:
        return Problem(self.problem).label if self.problem in Problem.values else self.problem


@dataclass
class Tally:
    """What a run found, as it goes."""

    run: str
    files: int = 0
    bytes: int = 0
    missing: int = 0
    changed: int = 0
    unreadable: int = 0

    @property
    def problems(self) -> int:
        return self.missing + self.changed + self.unreadable

    @property
    def outcome(self) -> str:
        return Outcome.PROBLEMS if self.problems else Outcome.OK

    def count(self, problem: str | None, size: int) -> None:
        self.files += 1
        self.bytes += size
        if problem:
            setattr(self, problem, getattr(self, problem) + 1)


# --- checking ----------------------------------------------------------------------------------


def evidence_files(source: Source | None = None):
    """The evidence files a run checks, in a stable order."""
    files = EvidenceFile.objects.order_by("pk")
    return files.filter(source=source) if source is not None else files


def _rows(source: Source | None) -> Iterator[tuple]:
    return (
        evidence_files(source)
        .values_list(
            "uid", "file", "sha256", "size", "source__uid", "source__title", "source__access"
        )
        .iterator(chunk_size=ROWS_PER_QUERY)
    )


def check_file(storage, name: str, sha256: str, size: int) -> tuple[str | None, str, int]:
    """(problem or None, why, bytes read) for the stored file ``name``, read and decrypted
    one chunk at a time, against the SHA-256 and size recorded at upload."""
    if not name:
        return Problem.MISSING, gettext("no file is recorded"), 0
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:
        return Problem.MISSING, gettext("not found in storage"), 0
    except (OSError, SuspiciousOperation) as error:
        return Problem.UNREADABLE, gettext("cannot be opened: %(error)s") % {"error": error}, 0
    digest, read = hashlib.sha256(), 0
    try:
        with handle:
            while chunk := handle.read(crypto.CHUNK):
                digest.update(chunk)
                read += len(chunk)
    except crypto.DecryptionError as error:
        return Problem.UNREADABLE, gettext("does not decrypt: %(error)s") % {"error": error}, read
    except OSError as error:
        return Problem.UNREADABLE, gettext("cannot be read: %(error)s") % {"error": error}, read
    differences = []
    if digest.hexdigest() != sha256:
        differences.append(gettext("its SHA-256 is not the one recorded at upload"))
    if read != size:
        differences.append(
            gettext("it holds %(found)s bytes where %(recorded)s were recorded at upload")
            % {"found": read, "recorded": size}
        )
    if differences:
        return Problem.CHANGED, "; ".join(differences), read
    return None, "", read


def new_run_id() -> str:
    return secrets.token_hex(6)


def scope_of(source: Source | None) -> str:
    return f"source:{source.uid}" if source is not None else "all"


def record_start(run: str, *, scope: str, username: str = "", request=None, pid=None) -> None:
    """Log that run ``run`` started in process ``pid`` of this host (os.getpid() by default):
    until its end is logged, it is running while that process lives."""
    pid = pid or os.getpid()
    record(
        KIND,
        request,
        username,
        f"run={run} started scope={scope} pid={pid} host={this_host()[:64]}",
    )


def check_evidence(
    *,
    source: Source | None = None,
    username: str = "",
    run: str | None = None,
    on_problem: Callable[[Finding], None] | None = None,
    progress: Callable[[int], object] | None = None,
) -> Tally:
    """Check every evidence file (of ``source``) and log the run (module docstring).

    ``run``: the id of a run whose start was already logged (the admin page logs it when it
    starts the command); by default a new run, logged as started here. ``on_problem`` is given
    every Finding as it is found, ``progress`` 1 per file checked."""
    if run is None:
        run = new_run_id()
        record_start(run, scope=scope_of(source), username=username)
    tally = Tally(run)
    storage = EvidenceFile._meta.get_field("file").storage
    try:
        for uid, name, sha256, size, source_uid, title, access in _rows(source):
            problem, reason, read = check_file(storage, name, sha256, size)
            tally.count(problem, read)
            if problem:
                if tally.problems <= PROBLEMS_LOGGED:
                    record(
                        KIND,
                        username=username,
                        detail=f"run={run} file={uid} source={source_uid} problem={problem}",
                    )
                if on_problem is not None:
                    shown = "" if access == Access.CONFIDENTIAL else title
                    on_problem(Finding(str(uid), str(source_uid), shown, problem, reason))
            if progress is not None:
                progress(1)
    except BaseException as error:
        stopped = isinstance(error, KeyboardInterrupt | SystemExit)
        # If the database is what failed, the run shows as stopped without a result.
        with suppress(Exception):
            _record_end(tally, username, Outcome.INTERRUPTED if stopped else Outcome.ERROR)
        raise
    _record_end(tally, username, tally.outcome)
    return tally


def _record_end(tally: Tally, username: str, outcome: str) -> None:
    record(
        KIND,
        username=username,
        detail=(
            f"run={tally.run} outcome={outcome} files={tally.files} bytes={tally.bytes} "
            f"missing={tally.missing} changed={tally.changed} unreadable={tally.unreadable}"
        ),
    )


# --- past runs, from the security log ----------------------------------------------------------


@dataclass
class RunRecord:
    """A run as the security log tells it."""

    run: str
    username: str = ""
    scope: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    host: str = ""
    pid: int | None = None
    outcome: str = ""
    counts: dict = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    state: str = ""

    @property
    def problems(self) -> int:
        return sum(self.counts.get(problem, 0) for problem in Problem.values)

    @property
    def unlisted(self) -> int:
        """Problems the log does not list (past PROBLEMS_LOGGED): the command lists them."""
        return max(0, self.problems - len(self.findings))

    @property
    def state_label(self) -> str:
        return Outcome(self.state).label

    @property
    def running(self) -> bool:
        return self.state == Outcome.RUNNING


def recent_runs(limit: int = 20, now: datetime | None = None) -> list[RunRecord]:
    """The latest ``limit`` runs, newest first, with their problem files and their state:
    their outcome, or running, or gone (no result, and its process is no longer there)."""
    now = now or timezone.now()
    logged = SecurityEvent.objects.filter(kind=KIND).exclude(detail__contains=" problem=")
    runs: dict[str, RunRecord] = {}
    for event in logged.order_by("-created_at", "-pk")[: limit * 3]:
        values = dict(_FIELD.findall(event.detail))
        run_id = values.get("run", "")
        if not RUN_ID.fullmatch(run_id):
            continue
        if run_id not in runs:
            if len(runs) == limit:
                continue
            runs[run_id] = RunRecord(run_id)
        run = runs[run_id]
        run.username = run.username or event.username
        if " started " in event.detail:
            run.started_at, run.scope = event.created_at, values.get("scope", "")
            run.host, run.pid = values.get("host", ""), _int(values.get("pid"))
        elif "outcome" in values:
            run.ended_at, run.outcome = event.created_at, values["outcome"]
            run.counts = {name: _int(values.get(name)) or 0 for name in COUNTS}
    for run in runs.values():
        run.state = run.outcome or _liveness(run, now)
    _attach_findings([run for run in runs.values() if run.problems])
    return list(runs.values())


def running_run(now: datetime | None = None) -> RunRecord | None:
    """A run still going, if any."""
    return next((run for run in recent_runs(now=now) if run.running), None)


def _liveness(run: RunRecord, now: datetime) -> str:
    gone = is_gone(run.host, run.pid, run.started_at, now=now, stale_after=RUN_PRESUMED_ALIVE)
    return Outcome.GONE if gone else Outcome.RUNNING


def _attach_findings(runs: list[RunRecord]) -> None:
    if not runs:
        return
    by_id = {run.run: run for run in runs}
    wanted = reduce(or_, (Q(detail__startswith=f"run={run.run} ") for run in runs))
    events = SecurityEvent.objects.filter(wanted, kind=KIND, detail__contains=" problem=")
    for detail in events.order_by("pk").values_list("detail", flat=True):
        values = dict(_FIELD.findall(detail))
        run = by_id.get(values.get("run"))
        if run is not None:
            run.findings.append(
                Finding(values.get("file", ""), values.get("source", ""), "", values["problem"])
            )


def _int(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
