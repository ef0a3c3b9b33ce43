"""Admin building blocks shared by the apps' admins."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db import models
from simple_history.admin import SimpleHistoryAdmin

from casetracker.text import fold


class DomainAdmin(SimpleHistoryAdmin):
    """Base admin: history button on every record, timestamps and public id read-only."""

    list_per_page = 50
    show_full_result_count = False
    readonly_fields = ("uid", "created_at", "updated_at")
    # A bare host typed into a URL field is an https address.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def with_counts(self, queryset, **counts):
        """Annotate counts for the changelist. An aggregate's GROUP BY drops Meta.ordering,
        and autocomplete pages through this queryset: order it explicitly again."""
        return queryset.annotate(**counts).order_by(*self.model._meta.ordering)


class StampedAdmin(DomainAdmin):
    """Stamps created_by/updated_by from the signed-in user on every admin save."""

    readonly_fields = (*DomainAdmin.readonly_fields, "created_by", "updated_by")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


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


class StaffUserAdmin(UserAdmin):
    """User admin for Administrators: they manage staff accounts and roles, but only a
    superuser can grant superuser status or single permissions, or touch a superuser."""

    restricted_fields = ("is_superuser", "user_permissions")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                title,
                {**opts, "fields": [f for f in opts["fields"] if f not in self.restricted_fields]},
            )
            for title, opts in fieldsets
        ]

    def get_queryset(self, request):
        users = super().get_queryset(request)
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
