import logging

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from sources.models import EvidenceFile

logger = logging.getLogger(__name__)


@require_GET
@staff_member_required
def download_evidence(request, uid):
    """Stream an evidence file to staff allowed to view evidence; never served as plain media.

    Files are encrypted on disk: this decrypts and authenticates them chunk by chunk as they
    are sent. Content-Length is the original size, so a file that fails authentication part
    way (altered on disk) arrives visibly incomplete rather than silently different.
    """
    if not request.user.has_perm("sources.view_evidencefile"):
        raise Http404
    evidence = get_object_or_404(EvidenceFile, uid=uid)
    try:
        handle = evidence.file.storage.open(evidence.file.name, "rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(
        handle.file, as_attachment=True, filename=evidence.original_name or "evidence"
    )
    response["Content-Type"] = "application/octet-stream"
    response["Content-Length"] = str(evidence.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
