from django.contrib import admin

from casetracker.admin import StampedAdmin
from website.models import Methodology


@admin.register(Methodology)
class MethodologyAdmin(StampedAdmin):
    list_display = ("title", "language", "updated_at", "updated_by")
    list_select_related = ("updated_by",)
    fields = ("language", "title", "body")
