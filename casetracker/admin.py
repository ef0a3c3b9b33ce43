"""Admin building blocks shared by the apps' admins."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from casetracker.edtf import edtf_in_words
from casetracker.models import ConcurrentEditError
from casetracker.text import fold


def edtf_column(field: str, description):
    """A changelist column showing an EDTF date in words in the reader's language ("about
    April 2024"), sorted by its earliest day; the stored value stays EDTF."""

    @admin.display(description=description, ordering=f"{field}_earliest")
    def column(self, obj):
        return edtf_in_words(getattr(obj, field)) or "—"

    column.__name__ = f"{field}_in_words"
    return column


def count_of(rows, field: str):
    """How many of ``rows`` (a queryset) point at the listed record through ``field``, as a
    changelist column: a correlated subquery, which the database runs for the rows of the page
    only. An aggregate (``Count("events")``) groups every record of the table before the
    page is taken: 2.5 s for the case list at 200,000 cases."""
    counted = (
        rows.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(total=Count("*"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class CappedPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 rows: a changelist or picker over two million records
    does not count them all on every page load. Past the limit the pages end at COUNT_LIMIT
    rows (20 pages of 50) and the page says "more than 1,000" (``capped``): staff narrow a
    list that long by searching or filtering, not by paging. (A count stopped at 10,000 took
    150 ms on a filtered list of 200,000 cases; at 1,000 it takes a tenth of that.)"""

    COUNT_LIMIT = 1_000

    @cached_property
    def count(self):
        rows = self.object_list
        if not isinstance(rows, models.QuerySet):
            return super().count
        # pk alone: the annotations (counts of related rows) are not computed for a count.
        return rows.order_by().values("pk")[: self.COUNT_LIMIT + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.COUNT_LIMIT


class HiddenIsNotFound:
    """A record that does not exist and one the user may not see answer the same 404.

    Django's admin redirects to the index with "doesn't exist" instead: a redirect that
    differs from a real page is a signal, and a 404 goes to the security log
    (casetracker.middleware.RefusedAccessLogMiddleware) as the probe it may be."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


CONFIRM_REOPEN = "confirm_reopen"


class ReopenGuardForm(forms.ModelForm):
    """Asks before a save sends verified cases back to review that the page did not warn about
    (ReopenGuard). ``reopen_pending`` is set, per request, on the form class the admin builds."""

    confirm_reopen = forms.BooleanField(
        label=_("Send these verified cases back to review"),
        required=False,
        help_text=_(
            "Until a verifier verifies them again, partners keep seeing the version last "
            "verified of those that are published. Untick and change your edit if that is not "
            "what you meant."
        ),
    )
    reopen_pending: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        if self.reopen_pending and not cleaned.get(CONFIRM_REOPEN):
            self.add_error(
                CONFIRM_REOPEN,
                _(
                    "Saving this sends verified case(s) %(references)s back to review. Nothing "
                    "was saved: tick the box to save anyway."
                )
                % {"references": ", ".join(self.reopen_pending)},
            )
        return cleaned


class _Undo(Exception):
    """Raised to roll back a save tried only to see which cases it reopens."""


class ReopenGuard:
    """No save sends a verified case back to review without a warning first, naming it.

    The page warns on opening about the cases it knows a save touches
    (``reopen_warning_cases``); a save that reopens another one (a citation added from the
    source page to a verified case, say) is tried, rolled back, and shown again asking for
    confirmation. The save's own rules decide what it reopens (cases.signals): nothing here
    predicts it. Saves with uploaded files are not tried twice (the file would be stored).
    """

    # The case page says so in its own words (cases/admin.py CaseAdmin).
    reopen_warning_in_page = False

    def reopen_warning_cases(self, request, obj) -> list:
        """The cases that saving this page may send back to review, as far as the page knows
        before the save. Overridden by the admins of case records."""
        return []

    def _warned_cases(self, request, obj) -> list:
        """Those of them that are verified and that the user may see (need to know)."""
        from cases.models import Case  # cases sits above this module

        pks = [case.pk for case in self.reopen_warning_cases(request, obj)]
        return list(
            Case.objects.visible_to(request.user).filter(pk__in=pks, review_state="verified")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and not self.reopen_warning_in_page:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                warn_if_verified(request, self._warned_cases(request, obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        # The confirmation is a declared form field: shown only when a save needs it.
        return [f for f in super().get_fields(request, obj) if f != CONFIRM_REOPEN]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        asking = getattr(request, "_reopen_pending", None) or request.POST.get(CONFIRM_REOPEN)
        if asking and issubclass(self.form, ReopenGuardForm):
            title = _("Verified cases go back to review")
            fieldsets = [(title, {"fields": (CONFIRM_REOPEN,)}), *fieldsets]
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        pending = getattr(request, "_reopen_pending", None)
        if pending and issubclass(form, ReopenGuardForm):
            form = type(form.__name__, (form,), {"reopen_pending": tuple(pending)})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if (
            request.method != "POST"
            or request.POST.get(CONFIRM_REOPEN)
            or request.FILES
            or not issubclass(self.form, ReopenGuardForm)
        ):
            return super().changeform_view(request, object_id, form_url, extra_context)
        # Cases sit above this module: reached at call time.
        from cases.models import Case
        from cases.services import collect_reopened

        obj = self.get_object(request, unquote(object_id)) if object_id else None
        warned = {c.reference for c in self._warned_cases(request, obj)} if obj else set()
        queued = list(_queued_messages(request))
        try:
            with transaction.atomic(), collect_reopened() as reopened:
                response = super().changeform_view(request, object_id, form_url, extra_context)
                # Only cases the user may see are named (and asked about): need to know.
                visible = Case.objects.visible_to(request.user).filter(reference__in=reopened)
                unwarned = sorted(set(visible.values_list("reference", flat=True)) - warned)
                # Something reopened was saved: a redirect, or a popup's closing page.
                if unwarned:
                    raise _Undo
        except _Undo:
            # Nothing was kept: show the form again, asking (ReopenGuardForm.clean).
            _queued_messages(request)[:] = queued  # drop "changed successfully"
            request._reopen_pending = unwarned
            return super().changeform_view(request, object_id, form_url, extra_context)
        return response


def _queued_messages(request) -> list:
    storage = getattr(request, "_messages", None)
    return getattr(storage, "_queued_messages", [])


class DomainAdmin(ReopenGuard, HiddenIsNotFound, SimpleHistoryAdmin):
    """Base admin: history (read-only) on every record, timestamps and public id read-only,
    related-record pickers that offer only what the user may see, and a warning before any
    save that sends a verified case back to review (ReopenGuard)."""

    form = ReopenGuardForm
    list_per_page = 50
    # Nothing on a list page counts a whole table: the count of the filtered rows stops at
    # CappedPaginator.COUNT_LIMIT, the unfiltered total is not shown, and no filter counts
    # its options (facets would count every option over every record).
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ("uid", "created_at", "updated_at")
    # A bare host typed into a URL field is an https address.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def with_counts(self, queryset, **counts):
        """Annotate the changelist's counts (``count_of()`` expressions). The columns showing
        them do not sort by them: a sort would compute the count of every record."""
        return queryset.annotate(**counts)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        paginator = getattr(changelist, "paginator", None)
        if getattr(paginator, "capped", False):
            # Django's note counts the rows ("All 10001 selected"): say what is known.
            context["selection_note_all"] = gettext(
                "All matching %(name)s selected (more than %(count)s)"
            ) % {
                "name": changelist.opts.verbose_name_plural,
                "count": number_format(paginator.COUNT_LIMIT, force_grouping=True),
            }
        return response

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = visible_choices(db_field, request, kwargs.get("queryset"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs["queryset"] = visible_choices(db_field, request, kwargs.get("queryset"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _check_visible(self, request, object_id):
        # simple-history falls back to the history rows of objects the queryset hides:
        # a record the user may not see has no visible history either.
        visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        if not visible and not request.user.is_superuser:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._check_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_visible(request, object_id)
        if request.method != "GET":
            # SIMPLE_HISTORY_REVERT_DISABLED only hides the button: refuse the revert itself.
            raise PermissionDenied("History is read-only.")
        return super().history_form_view(request, object_id, version_id, extra_context)


VERIFIED_WARNING = _(
    "This is part of a verified case (%(references)s). Saving a change sends the case back to "
    "review; until it is verified again, partners keep seeing the version last verified."
)


def warn_if_verified(request, cases) -> None:
    """Say so before the user saves: editing a verified case's records reopens it."""
    references = sorted({case.reference for case in cases if case.review_state == "verified"})
    if references and request.method == "GET":
        messages.warning(request, VERIFIED_WARNING % {"references": ", ".join(references)})


def visible_choices(db_field, request, queryset=None):
    """The related records a picker may offer: those the user may see (need to know)."""
    if queryset is None:
        queryset = db_field.remote_field.model._default_manager.all()
    if hasattr(queryset, "visible_to"):
        queryset = queryset.visible_to(request.user)
    return queryset


class AdminInlineVisibility:
    """For inlines: pickers offer only what the user may see."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs["queryset"] = visible_choices(db_field, request, kwargs.get("queryset"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(HiddenIsNotFound, admin.ModelAdmin):
    """For logs the application alone writes: nobody adds, changes or deletes, superusers
    included; viewing follows the view permission."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StampedForm(ReopenGuardForm):
    """Carries the version the user opened, and asks why they change the record."""

    # Not "version": the model's own field of that name is not editable.
    opened_version = forms.IntegerField(
        label=_("Version opened"), widget=forms.HiddenInput, required=False
    )
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Optional. Kept in the record's history, e.g. “corrected the date from the court "
            "notice”."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opened_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            opened = cleaned.get("opened_version")
            current = type(self.instance)._base_manager.filter(pk=self.instance.pk)
            if opened is None or not current.filter(version=opened).exists():
                self.instance.version = opened or 0
                raise forms.ValidationError(str(ConcurrentEditError(self.instance)))
        return cleaned


class StampedAdmin(DomainAdmin):
    """Stamps created_by/updated_by from the signed-in user, refuses saves based on an older
    version of the record (no lost updates), and records the reason given."""

    form = StampedForm
    readonly_fields = (*DomainAdmin.readonly_fields, "created_by", "updated_by")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        return [*fieldsets, (_("Why"), {"fields": ("change_reason", "opened_version")})]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        else:
            obj.version = form.cleaned_data["opened_version"]
        obj.updated_by = request.user
        reason = form.cleaned_data.get("change_reason", "").strip()
        if reason:
            obj._change_reason = reason
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConcurrentEditError as error:
            # Another save landed between the form's check and ours: nothing was kept.
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)


class NameSearchMixin:
    """The admin search of people and their cases: every spelling of a person's name in every
    script (people.matching.search_people(), the partner API's matching too), the record's
    public id, and the other ``search_fields`` (every word in one of them, as Django's admin
    searches), each answered through an index.

    ``name_search_lookup`` points at PersonName.search_name from this admin's model. ``=uid``
    in ``search_fields`` finds the record whose uid the term is: Django's admin would compare
    ``upper(uid::text)`` with every word of every search, which reads every record. The
    records each part finds are joined as one set of keys (a UNION): an OR of the parts would
    make the database read every record to test them all.
    """

    name_search_lookup = "names__search_name"

    def get_search_results(self, request, queryset, search_term):
        if not fold(search_term):
            return super().get_search_results(request, queryset, search_term)
        from people.matching import search_people  # people sits above this module
        from people.models import Person

        everyone = self.model._default_manager.order_by()
        person = self.name_search_lookup.removesuffix("names__search_name")
        people = search_people(search_term, Person.objects.order_by()).values("pk")
        found = everyone.filter(**{f"{person}pk__in": people}).values("pk")
        fields = [f for f in self.get_search_fields(request) if f != "=uid"]
        if fields:
            words = Q()
            for word in smart_split(search_term):
                if word[:1] in "\"'" and word[:1] == word[-1:]:
                    word = unescape_string_literal(word)
                words &= Q.create([(f"{f}__icontains", word) for f in fields], connector=Q.OR)
            found = found.union(everyone.filter(words).values("pk"))
        uid = _as_uuid(search_term)
        if uid is not None and "=uid" in self.get_search_fields(request):
            found = found.union(everyone.filter(uid=uid).values("pk"))
        return queryset.filter(pk__in=found), False


def _as_uuid(text: str):
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


# The user admin lives with the record of account changes; importing it registers both.
from casetracker import accounts  # noqa: E402, F401
