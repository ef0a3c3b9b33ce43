from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import APIKey

from api.models import DEFAULT_TOKEN_DAYS, ApiRequest, Partner, PartnerToken
from casetracker.admin import DomainAdmin, ReadOnlyAdmin, count_of

# The library's own key model is not used: partner tokens are PartnerToken.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=50, required=False, help_text=_("e.g. “sync server”.")
    )
    days = forms.IntegerField(
        label=_("valid for (days)"), min_value=1, max_value=3650, initial=DEFAULT_TOKEN_DAYS
    )


class PartnerTokenInline(admin.TabularInline):
    model = PartnerToken
    fields = ("name", "prefix", "created", "expiry_date", "last_used_at", "revoked")
    readonly_fields = ("name", "prefix", "created", "expiry_date", "last_used_at")
    extra = 0
    can_delete = False
    verbose_name_plural = _("tokens (revoke by ticking; a revoked token cannot be restored)")

    def has_add_permission(self, request, obj=None):
        return False  # tokens are issued with the "Issue a token" button: shown once


@admin.register(Partner)
class PartnerAdmin(DomainAdmin):
    list_display = ("name", "organisation", "contact", "is_active", "token_count")
    list_filter = ("is_active",)
    list_select_related = ("organisation",)
    # The contact fields are encrypted: they can be neither searched nor sorted on.
    search_fields = ("name",)
    autocomplete_fields = ("organisation",)
    inlines = (PartnerTokenInline,)
    fields = (
        "name",
        "organisation",
        "contact_name",
        "contact_email",
        "is_active",
        "notes",
        "issue_token_link",
        *DomainAdmin.readonly_fields,
    )
    readonly_fields = (*DomainAdmin.readonly_fields, "issue_token_link")

    @admin.display(description=_("contact name"))
    def contact(self, obj):
        return obj.contact_name

    @admin.display(description=_("tokens"))
    def token_count(self, obj):
        return obj.token_total

    def get_queryset(self, request):
        live = PartnerToken.objects.filter(revoked=False)
        return self.with_counts(
            super().get_queryset(request), token_total=count_of(live, "partner")
        )

    @admin.display(description=_("new token"))
    def issue_token_link(self, obj):
        if not obj.pk:
            return gettext("Save the partner first.")
        url = reverse("admin:api_partner_issue_token", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Issue a token"))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/issue-token/",
                self.admin_site.admin_view(self.issue_token_view),
                name="api_partner_issue_token",
            ),
            *super().get_urls(),
        ]

    def issue_token_view(self, request, object_id):
        partner = self.get_object(request, unquote(object_id))
        if partner is None:
            raise Http404
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        form = TokenForm(request.POST or None)
        key = None
        if request.method == "POST" and form.is_valid():
            token, key = partner.issue_token(form.cleaned_data["name"], form.cleaned_data["days"])
            messages.success(
                request, gettext("Token “%(name)s” issued; copy it now.") % {"name": token.name}
            )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Issue a token for %(partner)s") % {"partner": partner},
            "opts": self.model._meta,
            "original": partner,
            "form": form,
            "key": key,
        }
        response = TemplateResponse(request, "admin/api/partner/issue_token.html", context)
        response["Cache-Control"] = "no-store"  # the key is on this page, once
        return response


@admin.register(ApiRequest)
class ApiRequestAdmin(ReadOnlyAdmin):
    list_display = ("at", "partner", "token_name", "method", "path", "query", "status")
    list_filter = ("status", "partner")
    list_select_related = ("partner",)
    search_fields = ("path", "query", "partner__name")
    date_hierarchy = "at"
