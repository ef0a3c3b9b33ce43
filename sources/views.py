from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from sources.models import EvidenceFile


@require_GET
@staff_member_required
def download_evidence(request, uid):
    """Stream an evidence file to staff allowed to view evidence; never served as plain media."""
    if not request.user.has_perm("sources.view_evidencefile"):
        raise Http404
    evidence = get_object_or_404(EvidenceFile, uid=uid)
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.original_name or "evidence"
    )
    response["Content-Type"] = "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
