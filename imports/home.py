"""The imports' part of the admin home page: the latest batches the user may see."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from casetracker.sites import home_panel

ROWS = 5


@home_panel
def imports_panel(request):
    from imports.admin import visible_batches
    from imports.models import ImportBatch

    if not request.user.has_perm("imports.view_importbatch"):
        return None
    batches = visible_batches(ImportBatch.objects.all(), request.user)
    links = [
        (
            batch.file_name,
            reverse("admin:imports_importbatch_change", args=[batch.pk]),
            f"{batch.get_status_display()} · {batch.created_at:%Y-%m-%d %H:%M}",
        )
        for batch in batches.order_by("-created_at", "-pk")[:ROWS]
    ]
    return {
        "template": "admin/home_links.html",
        "title": _("Recent imports"),
        "url": reverse("admin:imports_importbatch_changelist"),
        "links": links,
    }
