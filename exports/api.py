"""The partner API's export: GET /api/v1/exports/cases.zip, the same bundle as the admin's
"Export published cases", for a partner token. Routed in api/urls.py; authenticated,
throttled, logged and strict about parameters like every partner endpoint
(api.views.PartnerViewSet)."""

import shutil
import tempfile
from pathlib import Path

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation

from api import openapi, patterns
from api.filters import CaseFilter
from api.views import Filters, PartnerViewSet
from exports import bundle, services
from exports.models import Channel

JSONL = {"true": True, "false": False}


def formats_message(value: str) -> str:
    accepted = {"formats": ", ".join(bundle.FORMATS)}
    unknown = [name for name in value.split(",") if name and name not in bundle.FORMATS]
    if unknown:
        return gettext(
            "Unknown format %(unknown)s: choose from %(formats)s, comma-separated (e.g. "
            "csv,json), or leave formats out for all three."
        ) % {"unknown": ", ".join(unknown), **accepted}
    return (
        gettext(
            "Empty or misspelt: give %(formats)s, comma-separated without spaces (e.g. "
            "csv,json), or leave formats out for all three."
        )
        % accepted
    )


class ErrorsInJson(DefaultContentNegotiation):
    """The answer is a zip whatever the client accepts; errors are JSON (the only renderer).
    A client sending ``Accept: application/zip`` gets the zip, not a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CaseExportView(PartnerViewSet):
    filter_backends = [Filters]  # documents the filters in the schema; applied below
    filterset_class = CaseFilter
    pagination_class = None
    known_params = {"formats", "jsonl", "language"}
    content_negotiation_class = ErrorsInJson

    def get_queryset(self):
        return services.export_queryset()

    @extend_schema(
        operation_id="exports_cases_zip",
        summary="All published cases as a file bundle",
        description=openapi.EXPORT_DESCRIPTION,
        parameters=openapi.EXPORT_PARAMETERS,
        responses=openapi.export_responses(),
    )
    def list(self, request):
        # Exactly as the schema says (api.patterns): an empty or misspelt value is refused,
        # never read as "all formats" or "false".
        formats = request.query_params.get("formats")
        if formats is not None and not patterns.matches(patterns.EXPORT_FORMATS, formats):
            raise exceptions.ValidationError({"formats": [formats_message(formats)]})
        jsonl = request.query_params.get("jsonl", "false")
        if jsonl not in JSONL:
            raise exceptions.ValidationError({"jsonl": [gettext("true or false.")]})
        filters = {
            name: request.query_params.getlist(name)
            for name in request.query_params
            if name not in self.known_params
        }
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        name = f"casetracker-cases-{stamp}.zip"
        work = Path(tempfile.mkdtemp(prefix="casetracker-export-"))
        try:
            result = services.export_cases(
                work / name,
                channel=Channel.API,
                formats=formats.split(",") if formats else bundle.FORMATS,
                jsonl=JSONL[jsonl],
                as_zip=True,
                filters=filters,
                partner=request.auth.partner,
                request=request,
                language=request.query_params.get("language"),
            )
            file = result.path.open("rb")
        except services.FilterError as error:
            raise exceptions.ValidationError(error.errors) from None
        except services.LanguageError as error:
            raise exceptions.ValidationError({"language": [str(error)]}) from None
        except (services.ExportError, bundle.BundleError) as error:
            # An unknown format, or a text too long for an Excel cell: say which formats work.
            raise exceptions.ValidationError({"formats": [str(error)]}) from None
        finally:
            # The open file stays readable until the response is sent.
            shutil.rmtree(work, ignore_errors=True)
        response = FileResponse(file, as_attachment=True, filename=name)
        response["Content-Type"] = "application/zip"
        return response
