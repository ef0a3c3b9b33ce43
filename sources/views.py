from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from casetracker.security import SecurityEvent, record
from sources.models import EvidenceFile


def _log(request, outcome: str, uid, evidence: EvidenceFile | None = None) -> None:
    """Every download attempt, with who, which file and the outcome (README "Staff account
    security"). The file's name is encrypted at rest for a reason: only its uid is logged."""
    source = f" source={evidence.source.uid}" if evidence is not None else ""
    record(
        SecurityEvent.Kind.EVIDENCE_DOWNLOAD,
        request,
        request.user.get_username(),
        f"file={uid}{source} outcome={outcome}",
    )


def not_found(request):
    """The site's ordinary 404, returned rather than raised: requests are atomic, and a raised
    404 would roll back the security log entry that records the refusal."""
    return page_not_found(request, Http404())


@require_GET
@staff_member_required
def download_evidence(request, uid):
    """Stream an evidence file to staff who may see its source; never served as plain media.

    A file the user may not see (no view permission, or its source is cited only by cases
    hidden from them) answers 404, exactly like one that does not exist.

    Files are encrypted on disk: this decrypts and authenticates them chunk by chunk as they
    are sent. Content-Length is the original size, so a file that fails authentication part
    way (altered on disk) arrives visibly incomplete rather than silently different.
    """
    evidence = None
    if request.user.has_perm("sources.view_evidencefile"):
        visible = EvidenceFile.objects.visible_to(request.user).select_related("source")
        evidence = visible.filter(uid=uid).first()
    if evidence is None:
        _log(request, "refused", uid)
        return not_found(request)
    try:
        handle = evidence.file.storage.open(evidence.file.name, "rb")
    except FileNotFoundError:
        _log(request, "missing", uid, evidence)
        return not_found(request)
    _log(request, "sent", uid, evidence)
    response = FileResponse(
        handle.file, as_attachment=True, filename=evidence.original_name or "evidence"
    )
    response["Content-Type"] = "application/octet-stream"
    response["Content-Length"] = str(evidence.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
