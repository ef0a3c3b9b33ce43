from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from sources.views import download_evidence

admin.site.site_header = "casetracker"
admin.site.site_title = "casetracker"
admin.site.index_title = "Case records"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("evidence/<uuid:uid>/download/", download_evidence, name="evidence-download"),
    path("admin/", admin.site.urls),
]
