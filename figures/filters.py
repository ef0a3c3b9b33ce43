"""The case list's filter behind the staff statistics page's links: the cases one row of one
breakdown counts (figures.breakdowns.in_row), by the rule that counted them, so that a
chart's bar and the list it leads to always agree."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from figures import breakdowns, staff

# The case list's own filter of archived cases: when it is set, the statistics counted them.
ARCHIVED_PARAM = "archived_at__isempty"


class CountedInFilter(admin.SimpleListFilter):
    title = _("statistics")
    parameter_name = "counted_in"

    def lookups(self, request, model_admin):
        # Shown only while it filters (a link from the statistics page brought it).
        value = self.value()
        return [(value, _("the cases of one figure"))] if value else []

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # Every row given (a bar of a page that a row already restricted): the cases in all.
        facts = staff.counted_for(request.user, archived=ARCHIVED_PARAM in request.GET)
        for value in request.GET.getlist(self.parameter_name):
            name, _sep, key = value.partition(":")
            facts = breakdowns.in_row(facts, name, key)
            if facts is None:
                return queryset.none()
        return queryset.filter(pk__in=facts.values("case_id"))
