"""The staff's statistics page (/admin/figures/casefacts/): every breakdown of the cases the
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
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from exports.tables import cell
from figures import breakdowns, cache, charts
from figures.filters import ARCHIVED_PARAM, CountedInFilter
from figures.models import CaseFacts

# The page's own parameters; every other one is the case list's.
EXPORT, BREAKDOWN = "_export", "_breakdown"


class StatisticsAdmin(admin.ModelAdmin):
    """Not a list of records: the statistics page, in the admin's index as "Statistics"."""

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None):
        # Whoever may see cases may count them: the counts are of the cases they may see.
        return request.user.has_perm("cases.view_case")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "",
                self.admin_site.admin_view(self.statistics_view),
                name="figures_casefacts_changelist",
            )
        ]

    def statistics_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        case_admin = self.admin_site.get_model_admin(Case)
        chosen = request.GET.copy()
        export, only = chosen.pop(EXPORT, [""])[-1], chosen.pop(BREAKDOWN, [""])[-1]
        # The case list's filters, search and need to know, applied by the case list itself.
        as_list = copy.copy(request)
        as_list.GET = chosen
        try:
            case_list = case_admin.get_changelist_instance(as_list)
        except IncorrectLookupParameters:
            messages.error(request, gettext("These filters cannot be applied."))
            return HttpResponseRedirect(request.path)
        filtered = case_list.has_active_filters or bool(case_list.query)
        archived = ARCHIVED_PARAM in chosen
        today = timezone.localdate()
        names = {only} if only in breakdowns.STAFF_NAMES else None
        parts = [
            "staff",
            request.user.pk,
            translation.get_language(),
            sorted(chosen.lists()),
            sorted(names or ()),
            today,
        ]

        def make():
            cases = case_list.queryset if filtered else None
            return breakdowns.compute_staff(
                request.user, cases, only=names, today=today, archived=archived
            )

        statistics = cache.cached(parts, make, scope=cache.STAFF)
        if export == "csv":
            return self.csv_response(statistics, only if names else "")
        return self.page(request, case_admin, chosen, statistics)

    def csv_response(self, statistics, name: str) -> HttpResponse:
        filename = f"statistics-{name}.csv" if name else "statistics.csv"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        writer.writerow(breakdowns.TABLE_HEADER)
        for row in breakdowns.table(statistics):
            if not name or row[0] == name:
                writer.writerow([cell(value) for value in row])
        return response

    def page(self, request, case_admin, chosen, statistics):
        list_url = reverse("admin:cases_case_changelist")
        own = reverse("admin:figures_casefacts_changelist")

        def link(name: str, row: dict) -> str:
            if not row["count"]:
                return ""
            params = chosen.copy()
            params[CountedInFilter.parameter_name] = f"{name}:{breakdowns.row_key(name, row)}"
            return f"{list_url}?{params.urlencode()}"

        def download(name: str = "") -> str:
            params = chosen.copy()
            params[EXPORT] = "csv"
            if name:
                params[BREAKDOWN] = name
            return f"{own}?{params.urlencode()}"

        sections = [
            {
                "name": name,
                "breakdown": breakdown,
                "chart": charts.chart(name, breakdown, link),
                "rows": [{**row, "link": link(name, row)} for row in breakdown.rows],
                "csv": download(name),
            }
            for name, breakdown in statistics.breakdowns.items()
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Statistics"),
            "opts": self.model._meta,
            "statistics": statistics,
            "sections": sections,
            "case_list": f"{list_url}?{chosen.urlencode()}" if chosen else list_url,
            "filtered": bool(chosen),
            "download": download(),
            "archived": ARCHIVED_PARAM in chosen,
        }
        return TemplateResponse(request, "admin/figures/statistics.html", context)


admin.site.register(CaseFacts, StatisticsAdmin)
