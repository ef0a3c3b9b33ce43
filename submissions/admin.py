"""UN submissions in the admin: the tracker (a list with filters, each submission with its
history), the page that generates a draft, consents to UN submission, the draft log, and the
submissions of a case on its page (cases.admin.CaseAdmin gets the inline from here)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.admin import CaseAdmin
from cases.models import Case
from casetracker.admin import NameSearchMixin, ReadOnlyAdmin, StampedAdmin, StampedForm
from people.models import Person
from submissions import drafts, services
from submissions.models import Category, DraftLog, Submission, SubmissionConsent


class CategoriesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=Category.choices, required=False, **kwargs)


class SubmissionForm(StampedForm):
    arbitrary_categories = CategoriesField(
        label=_("categories of arbitrary detention"),
        help_text=_("The Working Group's categories this detention falls under."),
    )
    found_categories = CategoriesField(
        label=_("categories found"),
        help_text=_("The categories the opinion found the detention to fall under."),
    )


@admin.register(Submission)
class SubmissionAdmin(StampedAdmin):
    form = SubmissionForm
    change_form_template = "admin/submissions/submission/change_form.html"
    list_display = (
        "case",
        "mechanism",
        "status",
        "sent_on",
        "un_reference",
        "opinion_number",
        "finding",
        "updated_at",
    )
    list_filter = ("mechanism", "status", "finding", "sent_on", "adopted_on")
    list_select_related = ("case__person",)
    search_fields = ("case__reference", "un_reference", "opinion_number")
    autocomplete_fields = ("case",)
    date_hierarchy = "sent_on"
    fieldsets = (
        (None, {"fields": ("case", "mechanism", "status")}),
        (
            _("For the draft (in English)"),
            {
                "fields": (
                    "arrest_forces",
                    "warrant_shown",
                    "reasons_given",
                    "arbitrary_categories",
                    "arbitrariness",
                    "domestic_steps",
                    "risk",
                )
            },
        ),
        (
            _("Sent and answered"),
            {"fields": ("sent_on", "un_reference", "transmitted_on", "replied_on")},
        ),
        (
            _("Opinion of the Working Group"),
            {
                "fields": (
                    "opinion_number",
                    "adopted_on",
                    "finding",
                    "found_categories",
                    "opinion_url",
                )
            },
        ),
        (_("Afterwards"), {"fields": ("follow_up", "internal_notes")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        # A submission stays with its case: its drafts were made of that case, and its
        # history would otherwise name a case that a reader may not see.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "case") if obj else fields

    def get_urls(self):
        return [
            path(
                "<path:object_id>/draft/",
                self.admin_site.admin_view(self.draft_view),
                name="submissions_submission_draft",
            ),
            *super().get_urls(),
        ]

    def draft_view(self, request, object_id):
        """What the draft will lack and whether it may be generated (GET); the draft itself,
        logged, as a download (POST)."""
        submission = self.get_object(request, unquote(object_id))
        if submission is None:
            raise Http404
        if not self.has_view_or_change_permission(request, submission):
            raise PermissionDenied
        if request.method == "POST":
            try:
                draft = services.generate(submission, request.user)
            except services.DraftRefused as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
                return HttpResponseRedirect(request.path)
            response = HttpResponse(
                draft.content,
                content_type=(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                ),
            )
            response["Content-Disposition"] = f'attachment; filename="{draft.filename}"'
            response["Cache-Control"] = "no-store"
            return response
        user = request.user
        consent = services.consent_of(submission.case)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Draft of %(submission)s") % {"submission": submission},
            "opts": self.model._meta,
            "original": submission,
            "submission": submission,
            "variant": services.variant_of(submission),
            "refusals": services.refusals(submission, request.user),
            "gaps": drafts.missing(submission),
            "consent": consent if user.has_perm("submissions.view_submissionconsent") else None,
            "consent_hidden": not user.has_perm("submissions.view_submissionconsent"),
            "past_drafts": (
                submission.drafts.select_related("user")[:10]
                if user.has_perm("submissions.view_draftlog")
                else []
            ),
        }
        return TemplateResponse(request, "admin/submissions/submission/draft.html", context)


class SubmissionConsentForm(StampedForm):
    class Meta:
        model = SubmissionConsent
        fields = ("person", "state", "given_on", "means", "record")


@admin.register(SubmissionConsent)
class SubmissionConsentAdmin(NameSearchMixin, StampedAdmin):
    form = SubmissionConsentForm
    name_search_lookup = "person__names__search_name"
    list_display = ("person", "state", "given_on", "means", "updated_at")
    list_filter = ("state", "means")
    list_select_related = ("person",)
    # The person's name in any spelling and script (NameSearchMixin), or the record's uid.
    search_fields = ("=uid",)
    autocomplete_fields = ("person",)
    fields = ("person", "state", "given_on", "means", "record")

    def get_queryset(self, request):
        visible = Person.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(person__in=visible)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "person") if obj else fields


@admin.register(DraftLog)
class DraftLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "case", "variant", "user", "size", "sha256")
    list_filter = ("variant",)
    list_select_related = ("case__person", "user")
    search_fields = ("sha256", "case__reference", "user__username")
    date_hierarchy = "at"
    fields = ("at", "case", "submission", "variant", "user", "size", "sha256", "missing")

    def get_queryset(self, request):
        visible = Case.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(case__in=visible)


class SubmissionInline(admin.TabularInline):
    """The case's UN submissions, on its page: read here, changed on their own page (a save
    of the case form never touches them)."""

    model = Submission
    template = "admin/submissions/submission/case_inline.html"
    fields = (
        "mechanism",
        "status",
        "sent_on",
        "un_reference",
        "opinion_number",
        "finding",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("UN submissions")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Submissions sit above cases: this app adds its inline to the case's page.
CaseAdmin.inlines = (*CaseAdmin.inlines, SubmissionInline)
