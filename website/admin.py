from django.contrib import admin

from casetracker.admin import ReadOnlyAdmin, StampedAdmin
from website.models import Methodology, PublicDownload


@admin.register(Methodology)
class MethodologyAdmin(StampedAdmin):
    list_display = ("title", "language", "updated_at", "updated_by")
    list_select_related = ("updated_by",)
    fields = ("language", "title", "body")


@admin.register(PublicDownload)
class PublicDownloadAdmin(ReadOnlyAdmin):
    """What the public website offers for download; written by the background job (Jobs)."""

    list_display = ("file_name", "written_at", "cases", "size", "sha256")
    fields = ("file_name", "written_at", "cases", "size", "sha256", "manifest_sha256")
