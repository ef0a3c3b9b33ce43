"""The people's part of the admin home page: open pairs in the duplicate review queue."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from casetracker.sites import home_panel

ROWS = 5


@home_panel
def duplicates_panel(request):
    from django.contrib import admin

    from people.models import CandidateStatus, DuplicateCandidate

    if not request.user.has_perm("people.view_duplicatecandidate"):
        return None
    # The review queue's own rule of what the user may see (hidden people's pairs left out).
    pairs = admin.site._registry[DuplicateCandidate].get_queryset(request)
    open_pairs = pairs.filter(status=CandidateStatus.OPEN).select_related("person_a", "person_b")
    url = reverse("admin:people_duplicatecandidate_changelist")
    links = [
        (
            f"{pair.person_a} · {pair.person_b}",
            reverse("admin:people_duplicatecandidate_change", args=[pair.pk]),
            f"{pair.score:.2f}",
        )
        for pair in open_pairs.order_by("-score", "pk")[:ROWS]
    ]
    return {
        "template": "admin/home_links.html",
        "title": _("Possible duplicates to review"),
        "url": f"{url}?status__exact={CandidateStatus.OPEN}",
        "links": links,
    }
