from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Count

from casetracker.admin import (
    AdminInlineVisibility,
    DomainAdmin,
    NameSearchMixin,
    StampedAdmin,
    warn_if_verified,
)
from people.models import Affiliation, Organisation, Person, PersonName, Relationship


class PersonNameFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        preferred = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_preferred") and not form.cleaned_data.get("DELETE")
        ]
        if len(preferred) > 1:
            raise forms.ValidationError("Mark only one name as preferred.")

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
    model = PersonName
    formset = PersonNameFormSet
    fields = ("name", "script", "language", "kind", "is_preferred")
    extra = 1
    min_num = 1
    validate_min = True


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    fields = ("organisation", "role", "start", "end", "is_former")
    autocomplete_fields = ("organisation",)
    extra = 0


class RelationshipInline(AdminInlineVisibility, admin.TabularInline):
    model = Relationship
    fk_name = "from_person"
    fields = ("kind", "to_person", "notes")
    autocomplete_fields = ("to_person",)
    extra = 0
    verbose_name_plural = "relationships (restricted: never shown to partners)"


@admin.register(Person)
class PersonAdmin(NameSearchMixin, StampedAdmin):
    list_display = (
        "display_name",
        "gender",
        "ethnicity",
        "birth_date",
        "place_of_origin",
        "consent",
        "case_count",
        "updated_at",
    )
    list_filter = ("ethnicity", "gender", "consent")
    list_select_related = ("place_of_origin",)
    search_fields = ("display_name", "=uid")
    autocomplete_fields = ("place_of_origin",)
    inlines = (PersonNameInline, AffiliationInline, RelationshipInline)
    fieldsets = (
        (None, {"fields": ("gender", "birth_date", "ethnicity", "citizenship")}),
        ("Background", {"fields": ("place_of_origin", "occupation", "public_summary")}),
        ("Publication", {"fields": ("consent",)}),
        (
            "Restricted — staff only",
            {
                "fields": ("internal_notes", "contact_details"),
                "description": "Never shown to partners, never exported.",
            },
        ),
        ("Record", {"fields": StampedAdmin.readonly_fields, "classes": ("collapse",)}),
    )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        person = self.get_object(request, unquote(object_id))
        if person is not None:
            warn_if_verified(request, person.cases.all())
        return super().change_view(request, object_id, form_url, extra_context)

    def get_queryset(self, request):
        people = super().get_queryset(request).visible_to(request.user)
        return self.with_counts(people, case_total=Count("cases", distinct=True))

    @admin.display(description="cases", ordering="case_total")
    def case_count(self, obj):
        return obj.case_total


@admin.register(Organisation)
class OrganisationAdmin(DomainAdmin):
    list_display = ("name", "abbreviation", "kind", "parent", "location")
    list_filter = ("kind",)
    list_select_related = ("parent", "location")
    search_fields = ("name", "name_kk", "name_zh", "abbreviation")
    autocomplete_fields = ("parent", "location")
    fields = (
        "name",
        "name_kk",
        "name_zh",
        "abbreviation",
        "kind",
        "parent",
        "location",
        "website",
        "description",
        *DomainAdmin.readonly_fields,
    )


@admin.register(Relationship)
class RelationshipAdmin(DomainAdmin):
    list_display = ("from_person", "kind", "to_person")
    list_filter = ("kind",)
    list_select_related = ("from_person", "to_person")
    search_fields = ("from_person__display_name", "to_person__display_name")
    autocomplete_fields = ("from_person", "to_person")
    fields = ("from_person", "kind", "to_person", "notes", *DomainAdmin.readonly_fields)

    def get_queryset(self, request):
        people = Person.objects.visible_to(request.user)
        return super().get_queryset(request).filter(from_person__in=people, to_person__in=people)
