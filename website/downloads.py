"""The public website's data download: every published case as the export bundle partners
get (exports.services.export_cases: CSV, JSON and XLSX, the data dictionary, the manifest
with each file's SHA-256), written by a background job into ``PUBLIC_DOWNLOADS_DIR``.

A bundle is asked for after the published set changes (snapshots.writer.published_changed,
when ``PUBLIC_DOWNLOADS_AFTER_PUBLISHING``) and by ``manage.py publish_downloads``, for a
schedule (README "Public website"). At most one waits at a time: however many cases are
published meanwhile, the next bundle has them all. Only the newest is offered and kept; when
a case leaves the published set, every bundle written before is taken down at once (rows,
then files), so that no withdrawn case stays downloadable until the next bundle.
"""

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.models import PublicationRecord
from exports import services as exports
from exports.models import Channel
from jobs import services as jobs
from jobs.models import Job, Kind, State
from website.models import PublicDownload

KEPT = 1
PREFIX = "casetracker-published-cases-"


class Withdrawn(Exception):
    """A case was withdrawn while the bundle was being written."""


def directory() -> Path:
    return Path(settings.PUBLIC_DOWNLOADS_DIR)


def latest() -> PublicDownload | None:
    return PublicDownload.objects.first()


def path_of(download: PublicDownload) -> Path:
    return directory() / download.file_name


def request_bundle() -> Job | None:
    """Queue a new bundle unless one is already waiting (a running one may have read the
    cases before the latest change: the waiting one will not have)."""
    from website.tasks import public_bundle  # the task module imports this one

    with transaction.atomic():
        waiting = Job.objects.select_for_update().filter(
            kind=Kind.PUBLIC_DOWNLOAD, state=State.QUEUED
        )
        if waiting.exists():
            return None
        return jobs.start(public_bundle, Kind.PUBLIC_DOWNLOAD)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(progress=None) -> PublicDownload:
    """Write a bundle of every published case and offer it; remove the older ones.
    ``progress(total)`` returns what is called once per case written."""
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    name = f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%fZ')}.zip"
    result = exports.export_cases(
        folder / name,
        channel=Channel.PUBLIC,
        as_zip=True,
        base_url=settings.PUBLIC_SITE_URL,
        language=settings.LANGUAGE_CODE,
        progress=progress,
    )
    try:
        with transaction.atomic():
            # A case withdrawn while the bundle was written is in it (the cases were read
            # as they were when it began): the bundle is thrown away, and another asked for.
            if PublicationRecord.objects.filter(withdrawn_at__gte=now).exists():
                raise Withdrawn
            download = PublicDownload.objects.create(
                file_name=name,
                size=result.path.stat().st_size,
                sha256=sha256_of(result.path),
                manifest_sha256=result.manifest_sha256,
                cases=result.case_count,
                written_at=timezone.now(),
            )
    except BaseException:
        result.path.unlink(missing_ok=True)
        raise
    prune()
    return download


def take_down() -> None:
    """Remove every bundle written so far (a case in it has been withdrawn)."""
    gone = list(PublicDownload.objects.all())
    PublicDownload.objects.filter(pk__in=[d.pk for d in gone]).delete()
    for download in gone:
        path_of(download).unlink(missing_ok=True)


def prune() -> None:
    """Keep the newest KEPT bundles; remove the others' rows, then their files (a file whose
    row is gone is never offered)."""
    older = list(PublicDownload.objects.all()[KEPT:])
    PublicDownload.objects.filter(pk__in=[d.pk for d in older]).delete()
    for download in older:
        path_of(download).unlink(missing_ok=True)
