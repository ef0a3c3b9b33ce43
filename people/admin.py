from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy

from casetracker.admin import (
    CONFIRM_REOPEN,
    AdminInlineVisibility,
    DomainAdmin,
    NameSearchMixin,
    StampedAdmin,
    StampedForm,
    count_of,
    edtf_column,
)
from casetracker.edtf import edtf_bounds
from people.matching import INITIAL_ONLY, find_people, shown_reasons, translated_reasons
from people.models import (
    Affiliation,
    CandidateStatus,
    DuplicateCandidate,
    Organisation,
    Person,
    PersonName,
    Relationship,
    RelationshipKind,
)
from people.names import SAME_PERSON_THRESHOLD
from people.services import MergeRefused, dismiss_candidate, merge_people

CONFIRM_FIELD = "confirm_different_person"
DUPLICATES_TITLE = gettext_lazy("Possible duplicates")


class PersonNameFormSet(forms.BaseInlineFormSet):
    # Set by PersonNameInline.get_formset: the signed-in user, for need to know.
    user = None
    # Set by clean() on a new person: the people already recorded that the names may be.
    # PersonAdmin.render_change_form lists them at the top of the page, with the checkbox.
    likely_matches: list = []

    def clean(self):
        # PersonName.clean() filled the script, language and kind left empty: the formset's
        # check of a spelling entered twice (name and language) compares what will be saved.
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            for field in ("script", "language", "kind"):
                if field in data and not data[field]:
                    data[field] = getattr(form.instance, field)
        super().clean()
        preferred = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_preferred") and not form.cleaned_data.get("DELETE")
        ]
        if len(preferred) > 1:
            raise forms.ValidationError(gettext("Mark only one name as preferred."))
        if self.instance.pk is None:
            # Found even when the box is ticked, so that a page shown again for another
            # error keeps the matches and the ticked box together.
            self.likely_matches = self.find_likely_matches()
            if self.likely_matches and not self.data.get(CONFIRM_FIELD):
                raise forms.ValidationError(
                    gettext("This may be someone already recorded: see “%(title)s” above.")
                    % {"title": DUPLICATES_TITLE},
                    code="likely_duplicate",
                )

    def find_likely_matches(self) -> list:
        """Before a new person is saved: people already recorded under a likely spelling of
        one of the names. Only people the user may see are named (need to know); the
        duplicate scan finds the others for those who may see them."""
        names = [
            form.cleaned_data["name"]
            for form in self.forms
            if form.cleaned_data.get("name") and not form.cleaned_data.get("DELETE")
        ]
        if not names or self.user is None:
            return []
        birth_year = None
        try:
            bounds = edtf_bounds(self.data.get("birth_date", "") or "")
            if bounds.earliest and bounds.latest and bounds.earliest.year == bounds.latest.year:
                birth_year = bounds.earliest.year
        except ValidationError:
            pass  # the person form reports it
        place = self.data.get("place_of_origin") or None
        return find_people(
            names,
            queryset=Person.objects.visible_to(self.user),
            birth_year=birth_year,
            place_of_origin=int(place) if place and place.isdigit() else None,
            limit=5,
        )

    def save(self, commit=True):
        # Unmark the old preferred name first, so "one preferred name" holds at every step
        # whatever the order the rows are saved in.
        chosen = [
            form.instance.pk
            for form in self.forms
            if form.cleaned_data.get("is_preferred") and not form.cleaned_data.get("DELETE")
        ]
        if chosen and self.instance.pk:
            for name in self.instance.names.filter(is_preferred=True).exclude(pk__in=chosen):
                name.is_preferred = False
                name.save(update_fields=["is_preferred", "updated_at"])
        return super().save(commit)


class PersonNameInline(admin.TabularInline):
    """The names, first on the person page (templates/admin/people/person/change_form.html).

    A new person gets one blank row (``min_num``), preferred by default (PersonAdmin
    .get_formset_kwargs); a person on file gets none ("Add another name" adds one). Language
    and kind start empty: PersonName.clean() fills them from the script, or asks.
    """

    model = PersonName
    formset = PersonNameFormSet
    fields = ("name", "script", "language", "kind", "is_preferred")
    extra = 0
    min_num = 1
    validate_min = True

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name in ("script", "language", "kind"):
            # Say what an empty choice means: PersonName.clean() derives it.
            kwargs["choices"] = [("", gettext_lazy("(from the name)")), *db_field.choices]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"user": request.user})


class PersonForm(StampedForm):
    # Shown only when the names match people already recorded (PersonAdmin.render_change_form).
    confirm_different_person = forms.BooleanField(
        label=gettext_lazy("I checked: this is a different person"),
        required=False,
        help_text=gettext_lazy("Tick after opening the people listed above, then save again."),
    )


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    fields = ("organisation", "role", "start", "end", "is_former")
    autocomplete_fields = ("organisation",)
    extra = 0


class RelationshipFormSet(forms.BaseInlineFormSet):
    def clean(self):
        # The database cannot refuse a relationship recorded twice (the kind is encrypted, so
        # there is no unique constraint): Relationship.clean() checks the stored ones, this
        # the rows of one submission.
        super().clean()
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data.get("kind") or not data.get("to_person") or data.get("DELETE"):
                continue
            key = (data["kind"], data["to_person"].pk)
            if key in seen:
                raise forms.ValidationError(gettext("The same relationship is entered twice."))
            seen.add(key)


class RelationshipInline(AdminInlineVisibility, admin.TabularInline):
    model = Relationship
    formset = RelationshipFormSet
    fk_name = "from_person"
    fields = ("kind", "to_person", "notes")
    autocomplete_fields = ("to_person",)
    extra = 0
    verbose_name_plural = gettext_lazy("relationships (restricted: never shown to partners)")


@admin.register(Person)
class PersonAdmin(NameSearchMixin, StampedAdmin):
    list_display = (
        "display_name",
        "gender",
        "ethnicity",
        "birth_date_in_words",
        "place_of_origin",
        "consent",
        "case_count",
        "updated_at",
    )
    list_filter = ("ethnicity", "gender", "consent")
    birth_date_in_words = edtf_column("birth_date", gettext_lazy("date of birth"))
    list_select_related = ("place_of_origin",)
    # Every spelling of every name, in every script, is searched by NameSearchMixin.
    search_fields = ("=uid",)
    autocomplete_fields = ("place_of_origin",)
    # The evidence files are many: picked by key, from the list of those the user may see.
    raw_id_fields = ("portrait",)
    inlines = (PersonNameInline, AffiliationInline, RelationshipInline)
    form = PersonForm
    fieldsets = (
        (None, {"fields": ("gender", "birth_date", "ethnicity", "citizenship")}),
        (
            gettext_lazy("Background"),
            {"fields": ("place_of_origin", "occupation", "public_summary")},
        ),
        (
            gettext_lazy("Publication"),
            {"fields": ("consent", "portrait", "portrait_consent")},
        ),
        (
            gettext_lazy("Restricted — staff only"),
            {
                "fields": ("internal_notes", "contact_details"),
                "description": gettext_lazy("Never shown to partners, never exported."),
            },
        ),
        (
            gettext_lazy("Record"),
            {"fields": StampedAdmin.readonly_fields, "classes": ("collapse",)},
        ),
    )

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, PersonNameInline) and obj.pk is None:
            # The first name of a new person is the one shown, as imports do.
            kwargs["initial"] = [{"is_preferred": True}]
        return kwargs

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The page starts with what the save waits for (the possible duplicates and their
        checkbox, or verified cases going back to review), then the names, then the rest:
        the template reads ``leading_fieldsets`` and ``names_prefix``."""
        adminform = context.get("adminform")
        inlines = context.get("inline_admin_formsets", [])
        names = next((i.formset for i in inlines if i.formset.model is PersonName), None)
        if adminform is not None and names is not None and names.likely_matches:
            adminform.fieldsets = [
                self.duplicates_fieldset(names.likely_matches),
                *adminform.fieldsets,
            ]
        confirmations = {CONFIRM_FIELD, CONFIRM_REOPEN}
        leading = 0
        for _name, options in adminform.fieldsets if adminform is not None else ():
            if not set(options.get("fields", ())) <= confirmations:
                break
            leading += 1
        context["leading_fieldsets"] = leading
        context["names_prefix"] = names.prefix if names is not None else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    def duplicates_fieldset(self, matches) -> tuple:
        """The people a new person's names match, with the box that saves anyway."""
        links = format_html_join(
            "",
            '<li><a href="{}" target="_blank">{}</a> ({}): {}</li>',
            (
                (
                    reverse("admin:people_person_change", args=[m.person.pk]),
                    m.person,
                    f"{m.score:.0%}",
                    " ".join(translated_reasons(m.reasons)),
                )
                for m in matches
            ),
        )
        warning = format_html(
            "<p>{}</p><ul>{}</ul><p>{}</p>",
            gettext("This may be someone already recorded:"),
            links,
            gettext(
                "Open them to check (each opens in a new tab). If this is a different "
                "person, tick the box below and save again; if it is the same person, add "
                "what is new to their record instead."
            ),
        )
        options = {
            "fields": (CONFIRM_FIELD,),
            "description": warning,
            "classes": ("likely-duplicates",),
        }
        return (DUPLICATES_TITLE, options)

    def reopen_warning_cases(self, request, obj):
        return list(obj.cases.all())

    def get_queryset(self, request):
        people = super().get_queryset(request).visible_to(request.user)
        # Only the cases the user may see are counted: a total would tell of hidden ones.
        cases = apps.get_model("cases", "Case").objects.visible_to(request.user)
        return self.with_counts(people, case_total=count_of(cases, "person"))

    @admin.display(description=gettext_lazy("cases"))
    def case_count(self, obj):
        return obj.case_total


@admin.register(Organisation)
class OrganisationAdmin(DomainAdmin):
    list_display = ("name", "name_kk", "name_ru", "name_zh", "abbreviation", "kind", "parent")
    list_filter = ("kind",)
    list_select_related = ("parent", "location")
    search_fields = ("name", "name_kk", "name_ru", "name_zh", "abbreviation")
    autocomplete_fields = ("parent", "location")
    fields = (
        "name",
        "name_kk",
        "name_ru",
        "name_zh",
        "abbreviation",
        "kind",
        "parent",
        "location",
        "website",
        "description",
        *DomainAdmin.readonly_fields,
    )


class RelationshipKindFilter(admin.SimpleListFilter):
    """The kind is encrypted: the database cannot filter on it, so rows are picked in Python
    (relationships are few, and the list is staff-only)."""

    title = gettext_lazy("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return RelationshipKind.choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        kinds = queryset.order_by().values_list("pk", "kind")
        return queryset.filter(pk__in=[pk for pk, kind in kinds if kind == self.value()])


@admin.register(Relationship)
class RelationshipAdmin(DomainAdmin):
    list_display = ("from_person", "kind_display", "to_person")
    list_filter = (RelationshipKindFilter,)
    list_select_related = ("from_person", "to_person")
    search_fields = ("from_person__display_name", "to_person__display_name")
    autocomplete_fields = ("from_person", "to_person")
    fields = ("from_person", "kind", "to_person", "notes", *DomainAdmin.readonly_fields)

    def get_queryset(self, request):
        people = Person.objects.visible_to(request.user)
        return super().get_queryset(request).filter(from_person__in=people, to_person__in=people)

    @admin.display(description=gettext_lazy("kind"))  # not sortable: the column holds ciphertext
    def kind_display(self, obj):
        return obj.get_kind_display()


class CandidateStatusFilter(admin.SimpleListFilter):
    """The queue opens on the pairs still to review; decided ones are a click away."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*CandidateStatus.choices, ("all", gettext("All"))]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": (self.value() or CandidateStatus.OPEN) == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or CandidateStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


class MatchFilter(admin.SimpleListFilter):
    """Likely duplicates (names scored the same) or possible ones (an initial that could
    stand for the other's name)."""

    title = gettext_lazy("match")
    parameter_name = "match"

    def lookups(self, request, model_admin):
        return [("likely", gettext("Likely")), ("possible", gettext("Possible"))]

    def queryset(self, request, queryset):
        if self.value() == "likely":
            return queryset.filter(score__gte=SAME_PERSON_THRESHOLD)
        if self.value() == "possible":
            return queryset.filter(score__lt=SAME_PERSON_THRESHOLD)
        return queryset


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(DomainAdmin):
    """The review queue: pairs of records that may be one person. Staff open a pair, compare
    the two side by side, and merge them or mark them as different people. A pair is listed
    only to staff who may see both people (need to know)."""

    list_display = ("pair", "score_percent", "match", "status", "first_reason", "updated_at")
    list_filter = (CandidateStatusFilter, MatchFilter)
    list_select_related = ("person_a", "person_b", "decided_by")
    search_fields = ("person_a__display_name", "person_b__display_name")
    change_form_template = "admin/people/duplicatecandidate/change_form.html"
    fields = (
        "person_a",
        "person_b",
        "score",
        "status",
        "decided_by",
        "decided_at",
        "decision_reason",
        "absorbed_uid",
        *DomainAdmin.readonly_fields,
    )
    readonly_fields = fields

    def get_queryset(self, request):
        visible = Person.objects.visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(
                Q(person_a__isnull=True) | Q(person_a__in=visible),
                Q(person_b__isnull=True) | Q(person_b__in=visible),
            )
        )

    def has_add_permission(self, request):
        return False  # found by the scan, an import, or the add-person warning

    def has_delete_permission(self, request, obj=None):
        return False  # decided, never deleted: "not the same person" must stay known

    @admin.display(description=gettext_lazy("records"))
    def pair(self, obj):
        return str(obj)

    @admin.display(description=gettext_lazy("score"), ordering="score")
    def score_percent(self, obj):
        return f"{obj.score:.0%}"

    @admin.display(description=gettext_lazy("match"), ordering="score")
    def match(self, obj):
        return gettext("Possible") if obj.possible else gettext("Likely")

    @admin.display(description=gettext_lazy("why"))
    def first_reason(self, obj):
        # A pair with an initial: why it is only possible comes first.
        shown = shown_reasons(obj.reasons) or [""]
        initial = gettext(INITIAL_ONLY)
        return initial if initial in shown else shown[0]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/merge/",
                view(self.merge_view),
                name="people_duplicatecandidate_merge",
            ),
            path(
                "<path:object_id>/dismiss/",
                view(self.dismiss_view),
                name="people_duplicatecandidate_dismiss",
            ),
            *super().get_urls(),
        ]

    def _side(self, request, person):
        Case = apps.get_model("cases", "Case")
        return {
            "person": person,
            "names": list(person.names.all()),
            "cases": list(Case.objects.visible_to(request.user).filter(person=person)),
            "affiliations": list(person.affiliations.select_related("organisation")),
            "url": reverse("admin:people_person_change", args=[person.pk]),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        candidate = self.get_object(request, unquote(object_id))
        context = {"show_save": False, "show_save_and_continue": False}
        if candidate is not None:
            people = [("a", candidate.person_a), ("b", candidate.person_b)]
            is_open = candidate.status == CandidateStatus.OPEN
            context |= {
                "sides": [(key, self._side(request, p)) for key, p in people if p is not None],
                "reasons": shown_reasons(candidate.reasons),
                "can_merge": is_open and request.user.has_perm("people.merge_person"),
                "can_dismiss": is_open
                and request.user.has_perm("people.change_duplicatecandidate"),
            }
        return super().change_view(
            request, object_id, form_url, {**context, **(extra_context or {})}
        )

    def _decide(self, request, object_id, decide):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        candidate = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if candidate is None:
            raise Http404
        if not self.has_view_or_change_permission(request, candidate):
            raise PermissionDenied
        back = reverse("admin:people_duplicatecandidate_change", args=[candidate.pk])
        try:
            message, target = decide(candidate, request.POST.get("reason", ""))
        except MergeRefused as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(target or back)

    def merge_view(self, request, object_id):
        def merge(candidate, reason):
            survivor_side = request.POST.get("survivor")
            if survivor_side not in ("a", "b") or candidate.status != CandidateStatus.OPEN:
                raise MergeRefused(gettext("Choose which record to keep."))
            sides = {"a": candidate.person_a, "b": candidate.person_b}
            survivor = sides[survivor_side]
            absorbed = sides["b" if survivor_side == "a" else "a"]
            result = merge_people(survivor, absorbed, user=request.user, reason=reason)
            return result.summary(), reverse("admin:people_person_change", args=[survivor.pk])

        return self._decide(request, object_id, merge)

    def dismiss_view(self, request, object_id):
        def dismiss(candidate, reason):
            dismiss_candidate(candidate, user=request.user, reason=reason)
            return gettext("Marked as two different people."), None

        return self._decide(request, object_id, dismiss)
