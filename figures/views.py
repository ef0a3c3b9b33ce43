"""The staff's statistics page (/admin/statistics/): every breakdown of the cases the
case list shows for the same filters and search, counted over what the reader may see
(figures.breakdowns.compute_staff), as charts with their numbers beside them, CSV downloads,
and links from every bar to the case list of the cases it counts (figures.filters).

It takes the case list's own query string: "Statistics of these cases" on the case list
opens it for the filters chosen there. Archived cases count only when the list's archived
filter is set; synthetic ones never, but in a database made for measuring.
"""

import copy
import csv

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from casetracker.sites import home_panel
from exports.tables import cell
from figures import breakdowns, cache, charts
from figures.filters import ARCHIVED_PARAM, CountedInFilter

# The page's own parameters; every other one is the case list's.
EXPORT, BREAKDOWN = "_export", "_breakdown"


# The case list's parameters that choose no cases: its order, page, "show all", facets,
# error flag. Every other parameter of the case list is a filter or the search.
LIST_ONLY = {"o", "p", "all", "_facets", "e"}


def statistics_view(request):
    # Whoever may see cases may count them: the counts are of the cases they may see.
    if not request.user.has_perm("cases.view_case"):
        raise PermissionDenied
    chosen = request.GET.copy()
    export, only = chosen.pop(EXPORT, [""])[-1], chosen.pop(BREAKDOWN, [""])[-1]
    for name in LIST_ONLY:
        chosen.pop(name, None)
    archived = ARCHIVED_PARAM in chosen
    today = timezone.localdate()
    names = {only} if only in breakdowns.STAFF_NAMES else None

    def make():
        cases = None
        if chosen:
            # The case list's filters, search and need to know, applied by the case list
            # itself (any lookup it takes, not only its sidebar's filters).
            as_list = copy.copy(request)
            as_list.GET = chosen
            cases = admin.site.get_model_admin(Case).get_changelist_instance(as_list).queryset
        return breakdowns.compute_staff(
            request.user, cases, only=names, today=today, archived=archived
        )

    try:
        if chosen:
            # Not kept: the counts of a search can be one person's (their ethnicity, age,
            # places), and the cache is files outside the database's protection.
            statistics = make()
        else:
            parts = [
                "staff",
                # The reader, and whether they may see every sensitive case (a role changed
                # keys anew; an assignment changed is a write that starts a new generation).
                request.user.pk,
                request.user.has_perm("cases.view_sensitive_case"),
                translation.get_language(),
                sorted(names or ()),
                today,
            ]
            statistics = cache.cached(parts, make, scope=cache.STAFF)
    except IncorrectLookupParameters:
        messages.error(request, gettext("These filters cannot be applied."))
        return HttpResponseRedirect(request.path)
    if export == "csv":
        return csv_response(statistics, only if names else "")
    return page(request, chosen, statistics)


def csv_response(statistics, name: str) -> HttpResponse:
    filename = f"statistics-{name}.csv" if name else "statistics.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(breakdowns.TABLE_HEADER)
    for row in breakdowns.table(statistics):
        if not name or row[0] == name:
            writer.writerow([cell(value) for value in row])
    return response


def page(request, chosen, statistics):
    list_url = reverse("admin:cases_case_changelist")
    own = reverse("staff-statistics")

    def link(name: str, row: dict) -> str:
        if not row["count"]:
            return ""
        params = chosen.copy()
        # Added to any the page was opened with: the list is of the cases in both rows.
        params.appendlist(CountedInFilter.parameter_name, f"{name}:{breakdowns.row_key(name, row)}")
        return f"{list_url}?{params.urlencode()}"

    def download(name: str = "") -> str:
        params = chosen.copy()
        params[EXPORT] = "csv"
        if name:
            params[BREAKDOWN] = name
        return f"{own}?{params.urlencode()}"

    sections = [
        {**section, "csv": download(section["name"])}
        for section in charts.sections(statistics, link)
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Statistics"),
        "is_nav_sidebar_enabled": False,  # the width is the charts'
        "statistics": statistics,
        "sections": sections,
        "case_list": f"{list_url}?{chosen.urlencode()}" if chosen else list_url,
        "filtered": bool(chosen),
        "download": download(),
        "archived": ARCHIVED_PARAM in chosen,
    }
    return TemplateResponse(request, "admin/figures/statistics.html", context)


@home_panel
def statistics_panel(request):
    """The admin home page's way in."""
    if not request.user.has_perm("cases.view_case"):
        return None
    own = reverse("staff-statistics")
    return {
        "template": "admin/home_links.html",
        "title": _("Statistics"),
        "url": own,
        "links": [
            (_("Every case you may see"), own, ""),
            (_("Cases added and verified, by month"), f"{own}#added_month", ""),
        ],
    }
