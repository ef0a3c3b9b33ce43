"""Exporting cases: which cases, checked filters, the bundle written in place atomically, and
the export log. The command, the admin and the partner API all call export_cases().

What an export may hold is decided here and in api.public, nowhere else:

- by default, the published snapshots (``snapshots.writer``): the published cases exactly as
  partners see them, written out as stored;
- with ``include_unpublished``, for staff with ``exports.export_unpublished`` (Verifiers):
  every case they may see (``Case.objects.visible_to``), still serialised by the partner
  allow-list, with a ``review_state`` column.
"""

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext

from api import public
from api.filters import CaseFilter
from api.models import loggable_filters
from cases.models import PUBLISHABLE_CONSENT, Case, ReviewState
from casetracker import integrity
from exports import bundle
from exports.models import ExportLog, Scope
from figures import breakdowns
from languages.services import supported
from snapshots import writer
from snapshots.models import PublishedCase

CHUNK_SIZE = 500
UNPUBLISHED_PERMISSION = "exports.export_unpublished"


class ExportError(Exception):
    """An export refused or failed; the message says why."""


class FilterError(ExportError):
    """Filters refused: ``errors`` maps each filter to what is wrong with it."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            " ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        )


class ExportRefused(ExportError):
    """The user may not make this export."""


# --- Which cases ---------------------------------------------------------------------------


def accepted_filters() -> list[str]:
    return sorted(CaseFilter.base_filters)


def filter_cases(queryset, params) -> tuple:
    """Apply the partner API's case filters (api.filters.CaseFilter) to ``queryset``.

    ``params`` is a QueryDict or a mapping of name to value or list of values. Returns the
    filtered queryset and the filters as recorded in the manifest (name → list of values).
    Unknown filters and bad values raise FilterError, naming what each accepts."""
    data = QueryDict(mutable=True)
    for name, values in params.lists() if isinstance(params, QueryDict) else params.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            data.appendlist(name, str(value))
    accepted = accepted_filters()
    unknown = sorted(set(data) - set(accepted))
    if unknown:
        message = gettext("Unknown filter. Accepted: %(names)s.") % {"names": ", ".join(accepted)}
        raise FilterError({name: [message] for name in unknown})
    filterset = CaseFilter(data=data, queryset=queryset)
    if not filterset.is_valid():
        errors = {}
        for name, messages in filterset.errors.items():
            field = filterset.form.fields.get(name)
            options = [str(v) for v, _ in getattr(field, "choices", []) if v != ""]
            hint = [gettext("Accepted: %(values)s.") % {"values": ", ".join(options)}]
            errors[name] = [*messages, *(hint if options else [])]
        raise FilterError(errors)
    recorded = {name: data.getlist(name) for name in sorted(data)}
    return filterset.qs, recorded


def may_export_unpublished(user) -> bool:
    return bool(user and user.is_active and user.has_perm(UNPUBLISHED_PERMISSION))


def export_queryset(*, include_unpublished: bool = False, user=None):
    """The cases an export starts from, with what their representation reads: the stored
    document of each published case, or everything a staff export serialises."""
    if not include_unpublished:
        return PublishedCase.objects.only("reference", "document")
    if not may_export_unpublished(user):
        raise ExportRefused(
            gettext(
                "%(user)s may not export unpublished cases: only Verifiers can (permission "
                "%(permission)s)."
            )
            % {"user": user or gettext("Nobody"), "permission": UNPUBLISHED_PERMISSION}
        )
    # The same prefetches as the API's, on every case this user may see (need to know).
    return public.case_queryset(Case.objects.visible_to(user).without_synthetic())


def not_published_reasons(cases) -> dict[str, int]:
    """Why cases are not published, for the admin's "left out" message: reason (translated)
    → count. Reads case.person: select_related("person"). A case partners see has a
    published snapshot (a correction in review keeps its last verified version): it is
    exported, not left out."""
    published = set(
        Case.objects.filter(pk__in=[c.pk for c in cases], snapshot__isnull=False).values_list(
            "pk", flat=True
        )
    )
    reasons: dict[str, int] = {}
    for case in cases:
        if case.pk in published:
            continue
        if case.archived_at:
            reason = gettext("archived")
        elif case.review_state != ReviewState.VERIFIED:
            reason = gettext("not verified")
        elif not case.is_published:
            reason = gettext("verified, not published")
        elif case.sensitive:
            reason = gettext("sensitive")
        elif case.person.consent not in PUBLISHABLE_CONSENT:
            reason = gettext("without consent to publish")
        else:
            reason = gettext("evidence level below the minimum")
        reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


def in_chunks(queryset, chunk_size: int = CHUNK_SIZE) -> Iterator[Case]:
    """Every case of ``queryset`` by reference, ``chunk_size`` at a time (keyset: each chunk
    starts after the last reference of the one before, never at an OFFSET)."""
    queryset = queryset.order_by("reference")
    last = None
    while True:
        page = queryset if last is None else queryset.filter(reference__gt=last)
        chunk = list(page[:chunk_size])
        yield from chunk
        if len(chunk) < chunk_size:
            return
        last = chunk[-1].reference


@contextmanager
def consistent_reads():
    """One snapshot of the database for the whole export where it can be had: a repeatable
    read transaction on PostgreSQL, a deferred (read) transaction on SQLite. Inside a transaction
    already (an admin request), the reads join it."""
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "sqlite":
        # A deferred transaction that only reads takes no write lock: with WAL, staff go on
        # saving while a long export reads (the settings begin transactions IMMEDIATE).
        connection.ensure_connection()
        mode, connection.transaction_mode = connection.transaction_mode, "DEFERRED"
        try:
            with transaction.atomic():
                yield
        finally:
            connection.transaction_mode = mode
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


class Addresses:
    """Stands in for the request when the API addresses of records are built without one
    (the command): ``base_url`` + path. Empty: addresses start at /api/v1/."""

    def __init__(self, base_url: str = ""):
        self.base_url = base_url.rstrip("/")

    def build_absolute_uri(self, path: str) -> str:
        return self.base_url + path


def base_url_of(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def representations(cases: Iterable, request, staff: bool) -> Iterator[dict | bundle.Stored]:
    """Each case as the partner API's case detail gives it: its published snapshot's text,
    or for staff (any case they may see) serialised by the same allow-list, plus
    review_state."""
    if not staff:
        origin = request.build_absolute_uri("/")
        for snapshot in cases:
            yield bundle.Stored(writer.absolute(snapshot.document, origin))
        return
    serializer = public.CaseSerializer(context={"request": request})
    for case in cases:
        data = serializer.to_representation(case)
        data["review_state"] = case.workflow_state
        yield data


# --- The export --------------------------------------------------------------------------


@dataclass
class ExportResult:
    path: Path
    manifest: dict
    manifest_sha256: str
    log: ExportLog
    case_count: int


def export_cases(
    destination: Path,
    *,
    channel: str,
    formats: Iterable[str] = bundle.FORMATS,
    jsonl: bool = False,
    as_zip: bool = False,
    filters=None,
    selected=None,
    include_unpublished: bool = False,
    user=None,
    partner=None,
    request=None,
    base_url: str = "",
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], Callable[[], None]] | None = None,
    language: str | None = None,
) -> ExportResult:
    """Write a bundle to ``destination`` (a new directory, or a zip file with ``as_zip``)
    and log it. Nothing is left at ``destination`` if anything fails.

    ``selected``: a queryset of cases chosen in the admin; the export holds those that are
    published (all of them the user may see, with ``include_unpublished``). ``request``
    (admin, API) or ``base_url`` (command) is where the API addresses of records point.
    ``progress(total)`` returns a function called once per case written. ``language`` (an
    interface language code) is the language of the data dictionary and of the XLSX headings;
    the active language by default. CSV and JSON keep their stable English codes whatever it is.
    """
    destination = Path(destination)
    formats = _check_formats(formats)
    language = check_language(language)
    if destination.exists():
        raise ExportError(
            gettext("%(path)s already exists: give a new name.") % {"path": destination}
        )
    if not destination.parent.is_dir():
        raise ExportError(gettext("%(path)s is not a directory.") % {"path": destination.parent})
    cases = export_queryset(include_unpublished=include_unpublished, user=user)
    cases, recorded = filter_cases(cases, filters or {})
    selection, references = None, []
    if selected is not None:
        references = sorted(selected.values_list("reference", flat=True))
        cases = cases.filter(pk__in=selected.values("pk"))
    if request is not None:
        base_url = base_url_of(request)
    else:
        base_url = base_url.rstrip("/")
        request = Addresses(base_url)
    staff = include_unpublished
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=destination.parent))
    try:
        with consistent_reads():
            # The audit chain's head as of the snapshot the cases are read from.
            chain_position, chain_hash = integrity.chain_head()
            total = cases.count()
            tick = progress(total) if progress else None
            with translation.override(language):
                written = bundle.write_files(
                    representations(in_chunks(cases, chunk_size), request, staff),
                    work,
                    formats=formats,
                    jsonl=jsonl,
                    staff=staff,
                    progress=tick,
                    statistics=staff_statistics_of(
                        None if not recorded and selected is None else cases, user
                    )
                    if staff
                    else statistics_of(None if not recorded and selected is None else cases),
                )
        if selected is not None:
            selection = {"selected": len(references), "exported": total}
        manifest = bundle.build_manifest(
            generated_at=timezone.now(),
            scope=Scope.UNPUBLISHED if staff else Scope.PUBLISHED,
            filters=recorded,
            selection=selection,
            base_url=base_url,
            directory=work,
            written=written,
            audit_chain_head=(chain_position, chain_hash),
            language=language,
        )
        data = bundle.manifest_bytes(manifest)
        (work / bundle.MANIFEST_FILE).write_bytes(data)
        names = [*written.names, bundle.MANIFEST_FILE]
        with (work / bundle.MANIFEST_FILE).open("rb") as file:
            manifest_sha256 = bundle.sha256_of(file)
        if as_zip:
            packed = work / "bundle.zip"
            bundle.zip_directory(work, names, packed)
        # The log and the bundle land together: a failure to move the bundle into place
        # rolls the log entry back, and a failure to log leaves no bundle.
        with transaction.atomic():
            log = ExportLog.objects.create(
                channel=channel,
                scope=manifest["scope"],
                user=user if getattr(user, "pk", None) else None,
                partner=partner,
                # Never a partner's search text or a place's name: the manifest, which goes to
                # whoever asked, has them; the log keeps that they were given.
                filters=loggable_filters(recorded),
                selected=references,
                left_out=len(references) - total if selected is not None else 0,
                formats=",".join(f for f in bundle.FORMATS if f in formats),
                case_count=total,
                counts={name: info["records"] for name, info in manifest["files"].items()},
                manifest_sha256=manifest_sha256,
            )
            os.replace(packed if as_zip else work, destination)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(destination, manifest, manifest_sha256, log, total)


def statistics_of(snapshots) -> list[list]:
    """The statistics of the published cases exported (``snapshots``; None: all of them) as
    figures.breakdowns counts them, small counts hidden as for partners, as statistics.csv's
    rows."""
    if snapshots is not None:
        snapshots = PublishedCase.objects.filter(pk__in=snapshots.values("pk"))
    counted = breakdowns.compute(snapshots)
    return breakdowns.table(breakdowns.suppress(counted, settings.STATISTICS_MIN_CELL))


def staff_statistics_of(cases, user) -> list[list]:
    """The statistics of the cases of a staff export (``cases``; None: every case the user
    may see) as the staff's statistics page counts them: every case exported, archived ones
    included as the export holds them, the staff's own breakdowns too, and exact counts: the
    bundle holds the cases themselves and stays within the organisation."""
    if cases is not None:
        cases = Case.objects.filter(pk__in=cases.values("pk"))
    return breakdowns.table(breakdowns.compute_staff(user, cases, archived=True))


class LanguageError(ExportError):
    """An export asked for in a language casetracker does not speak."""


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def check_language(language: str | None) -> str:
    """``language`` if it is an interface language; the active one (else English) if None."""
    if language is None:
        return supported(translation.get_language()) or "en"
    if supported(language) is None:
        raise LanguageError(
            gettext("Unknown language %(language)s: choose from %(choices)s.")
            % {"language": language, "choices": ", ".join(language_codes())}
        )
    return language


def _check_formats(formats) -> set[str]:
    formats = {f.strip().lower() for f in formats if f.strip()}
    unknown = sorted(formats - set(bundle.FORMATS))
    if unknown or not formats:
        raise ExportError(
            gettext("Unknown format %(unknown)s: choose from %(formats)s.")
            % {
                "unknown": ", ".join(unknown) or gettext("(none)"),
                "formats": ", ".join(bundle.FORMATS),
            }
        )
    return formats
