"""Portraits on the public website: the photograph staff chose among a person's evidence
files (people.models.Person.portrait), shown only while the family's consent to it is
recorded (portrait_consent) and the published document says so (api.public
.PersonSerializer's ``portrait``).

What is served is never the file: it is decoded, turned upright by its orientation tag,
scaled to fit PORTRAIT_SIZE and encoded again as a plain JPEG from the pixels alone, so that
no metadata of the original (EXIF GPS position, device, dates, comments, ICC profile, XMP)
survives. The copy is kept in website.models.PublicPortrait: written by the data download's
job after publishing (sync) and, on a server with the staff side, by the first request that
finds it missing or stale; a server with the website alone (PUBLIC_SITE_ONLY) reads the rows.
"""

import io

from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageOps

from people.models import Person
from snapshots.models import PublishedCase
from website.models import PublicPortrait

PORTRAIT_SIZE = 800  # pixels, the longer side at most
# A picture larger than this is refused rather than decoded (a decompression bomb).
MAX_PIXELS = 60_000_000


class NotAnImage(Exception):
    """The chosen file cannot be read as a picture."""


def reencoded(evidence) -> bytes:
    """The JPEG of ``evidence``'s pixels, upright, at most PORTRAIT_SIZE a side, with no
    metadata."""
    try:
        with (
            evidence.file.storage.open(evidence.file.name, "rb") as handle,
            Image.open(handle) as original,
        ):
            if original.width * original.height > MAX_PIXELS:
                raise NotAnImage(evidence.pk)
            upright = ImageOps.exif_transpose(original).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise NotAnImage(evidence.pk) from error
    upright.thumbnail((PORTRAIT_SIZE, PORTRAIT_SIZE))
    # A new picture from the pixels alone: nothing of the original's info goes with it.
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def eligible():
    """The people whose portrait the site may show: chosen, consented to, and of a published
    case whose document says so (a correction in review keeps what was verified)."""
    return Person.objects.filter(
        portrait__isnull=False,
        portrait_consent=True,
        cases__snapshot__isnull=False,
    ).distinct()


def shown_in_document(uid) -> bool:
    """Whether a published document of the person of ``uid`` shows a portrait."""
    from website.pages import document  # pages imports this module's neighbours

    snapshots = PublishedCase.objects.filter(case__person__uid=uid)
    return any(document(s)["person"].get("portrait") for s in snapshots[:5])


def write(person: Person) -> PublicPortrait | None:
    """The current copy of ``person``'s portrait, encoded again if the file changed; None if
    it cannot be read as a picture."""
    evidence = person.portrait
    kept = PublicPortrait.objects.filter(person=person).first()
    if kept is not None and kept.source_sha256 == evidence.sha256:
        return kept
    try:
        image = reencoded(evidence)
    except NotAnImage:
        return None
    kept, _created = PublicPortrait.objects.update_or_create(
        person=person,
        defaults={"image": image, "source_sha256": evidence.sha256, "written_at": timezone.now()},
    )
    return kept


def current(uid) -> PublicPortrait | None:
    """The copy to serve for the person of ``uid``, if the published document shows a
    portrait."""
    if not shown_in_document(uid):
        return None
    if settings.PUBLIC_SITE_ONLY:
        return PublicPortrait.objects.filter(person__uid=uid).first()
    person = eligible().filter(uid=uid).select_related("portrait").first()
    return write(person) if person is not None else None


def sync() -> dict:
    """Write the copies of every eligible person's portrait that are missing or stale, and
    remove the others (consent withdrawn, portrait removed, case no longer published)."""
    written = 0
    for person in eligible().select_related("portrait").iterator(chunk_size=500):
        written += write(person) is not None
    removed, _ = PublicPortrait.objects.exclude(person__in=eligible().values("pk")).delete()
    return {"portraits": written, "removed": removed}
