"""Admin building blocks shared by the apps' admins."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from casetracker.text import fold


class DomainAdmin(SimpleHistoryAdmin):
    """Base admin: history button on every record, timestamps and public id read-only."""

    list_per_page = 50
    show_full_result_count = False
    readonly_fields = ("uid", "created_at", "updated_at")


class StampedAdmin(DomainAdmin):
    """Stamps created_by/updated_by from the signed-in user on every admin save."""

    readonly_fields = (*DomainAdmin.readonly_fields, "created_by", "updated_by")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by", "updated_by")


class NameSearchMixin:
    """Adds search across every spelling of a person's name, in every script.

    ``name_search_lookup`` points at PersonName.search_name from this admin's model. The term
    is folded like the stored names, since SQLite only ignores case for ASCII letters.
    """

    name_search_lookup = "names__search_name"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        folded = fold(search_term)
        if folded:
            by_name = queryset.filter(**{f"{self.name_search_lookup}__contains": folded})
            results = results | by_name
            may_have_duplicates = True
        return results, may_have_duplicates


class ReadOnlyInlineMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


__all__ = ["DomainAdmin", "NameSearchMixin", "ReadOnlyInlineMixin", "StampedAdmin", "admin"]
