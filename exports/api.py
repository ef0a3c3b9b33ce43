"""The partner API's exports, the same bundle as the admin's "Export published cases", for a
partner token. Routed in api/urls.py; authenticated, throttled, logged and strict about
parameters like every partner endpoint (api.views.PartnerViewSet).

- ``POST /api/v1/exports/?filters…`` asks for a bundle of any size: a background job writes it
  (exports.tasks.partner_bundle); ``GET /api/v1/exports/<uid>/`` follows it, and
  ``GET /api/v1/exports/<uid>/file/`` downloads it once made. A partner sees only its own.
- ``GET /api/v1/exports/cases.zip?filters…`` writes the bundle inside the request, for up to
  ``PARTNER_DIRECT_EXPORT_MAX_CASES`` cases; more are refused with the way to ask for them.
"""

import json
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from api import openapi, patterns
from api.authentication import IsPartner
from api.filters import CaseFilter
from api.models import Partner
from api.views import Filters, PartnerViewSet
from exports import bundle, services, tasks
from exports.models import Channel, PartnerExport
from jobs import services as jobs
from jobs.models import OPEN_STATES, Kind, State

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


def export_options(request, known_params) -> dict:
    """The formats, jsonl, language and filters of an export request, each checked: a bad
    one is a 400 naming it (never read as "all formats" or "false")."""
    formats = request.query_params.get("formats")
    if formats is not None and not patterns.matches(patterns.EXPORT_FORMATS, formats):
        raise exceptions.ValidationError({"formats": [formats_message(formats)]})
    jsonl = request.query_params.get("jsonl", "false")
    if jsonl not in JSONL:
        raise exceptions.ValidationError({"jsonl": [gettext("true or false.")]})
    language = request.query_params.get("language")
    try:
        language = services.check_language(language)
    except services.LanguageError as error:
        raise exceptions.ValidationError({"language": [str(error)]}) from None
    filters = {
        name: request.query_params.getlist(name)
        for name in request.query_params
        if name not in known_params
    }
    return {
        "formats": formats.split(",") if formats else list(bundle.FORMATS),
        "jsonl": JSONL[jsonl],
        "language": language,
        "filters": filters,
    }


def filtered(filters: dict):
    """The published cases the filters pick (refused filters: a 400 naming each)."""
    try:
        cases, _recorded = services.filter_cases(services.export_queryset(), filters)
    except services.FilterError as error:
        raise exceptions.ValidationError(error.errors) from None
    return cases


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
        summary="Published cases as a file bundle, written while you wait (small exports)",
        description=openapi.EXPORT_DESCRIPTION,
        parameters=openapi.EXPORT_PARAMETERS,
        responses=openapi.export_responses(),
    )
    def list(self, request):
        options = export_options(request, self.known_params)
        limit = settings.PARTNER_DIRECT_EXPORT_MAX_CASES
        # Counted no further than the limit: a bounded read whatever the archive's size.
        if filtered(options["filters"])[: limit + 1].count() > limit:
            raise exceptions.ValidationError(
                {
                    "export": [
                        gettext(
                            "More than %(limit)s cases match: too many to write while you "
                            "wait. Ask for this export as a background job: POST "
                            "/api/v1/exports/ with the same parameters, then follow it."
                        )
                        % {"limit": f"{limit:,}"}
                    ]
                }
            )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        name = f"casetracker-cases-{stamp}.zip"
        work = Path(tempfile.mkdtemp(prefix="casetracker-export-"))
        try:
            result = services.export_cases(
                work / name,
                channel=Channel.API,
                formats=options["formats"],
                jsonl=options["jsonl"],
                as_zip=True,
                filters=options["filters"],
                partner=request.auth.partner,
                request=request,
                language=options["language"],
            )
            file = result.path.open("rb")
        except services.FilterError as error:
            raise exceptions.ValidationError(error.errors) from None
        except (services.ExportError, bundle.BundleError) as error:
            # An unknown format, or a text too long for an Excel cell: say which formats work.
            raise exceptions.ValidationError({"formats": [str(error)]}) from None
        finally:
            # The open file stays readable until the response is sent.
            shutil.rmtree(work, ignore_errors=True)
        response = FileResponse(file, as_attachment=True, filename=name)
        response["Content-Type"] = "application/zip"
        return response


# --- exports as background jobs ---------------------------------------------------------------


class MayAskForExports(IsPartner):
    """A partner token reads, and may also ask for an export (POST): the one write a partner
    makes, allowed on this endpoint alone."""

    def has_permission(self, request, view):
        return self.may_read(request) and request.method in ("GET", "HEAD", "OPTIONS", "POST")


def describe(export: PartnerExport, request) -> dict:
    """What a partner is told of its export: state, progress, and its file once made."""
    job = export.job
    address = request.build_absolute_uri(reverse("api:export-job", args=[job.pk]))
    made = job.state == State.SUCCEEDED and jobs.has_file(job)
    return {
        "uid": str(job.pk),
        "url": address,
        "state": job.state,
        "requested_at": job.requested_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "progress": {"done": job.done, "total": job.total, "percent": job.percent},
        "formats": job.parameters.get("formats"),
        "jsonl": job.parameters.get("jsonl", False),
        "language": job.parameters.get("language"),
        "cases": job.outcome.get("cases"),
        "error": job.error or None,
        "file": {
            "url": address + "file/",
            "name": job.file_name,
            "size": job.file_size,
            "sha256": job.file_sha256,
            "manifest_sha256": job.outcome.get("manifest_sha256"),
            "expires_at": job.file_expires_at,
        }
        if made
        else None,
    }


class ExportJobViewSet(PartnerViewSet):
    permission_classes = [MayAskForExports]
    serializer_class = openapi.ExportJobSerializer  # what OPTIONS describes
    content_negotiation_class = ErrorsInJson
    filter_backends = []  # the filters of POST are checked and applied by the export
    pagination_class = None
    lookup_field = "job_id"  # an export is known by its job's key
    lookup_url_kwarg = "uid"

    @property
    def known_params(self):
        return {"formats", "jsonl", "language"} if self.action == "create" else set()

    def filter_params(self) -> set[str]:
        return set(CaseFilter.base_filters) if self.action == "create" else set()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PartnerExport.objects.none()
        return PartnerExport.objects.filter(partner=self.request.auth.partner).select_related("job")

    @extend_schema(**openapi.EXPORT_JOB_SCHEMAS["list"])
    def list(self, request):
        exports = self.get_queryset().order_by("-job__requested_at")[:RECENT]
        return Response([describe(export, request) for export in exports])

    @extend_schema(**openapi.EXPORT_JOB_SCHEMAS["retrieve"])
    def retrieve(self, request, uid=None):
        return Response(describe(self.get_object(), request))

    @extend_schema(**openapi.EXPORT_JOB_SCHEMAS["create"])
    def create(self, request):
        if request.body.strip() not in (b"", b"{}"):
            raise exceptions.ValidationError(
                {"body": [gettext("Give the export's parameters in the query string, as for GET.")]}
            )
        options = export_options(request, self.known_params)
        filtered(options["filters"])  # refused filters: a 400 now, not a failed job later
        partner = request.auth.partner
        with transaction.atomic():
            # A partner's open exports counted under a lock on its row: two requests at once
            # cannot both pass the limit.
            # (The base manager: the audited models' own select_for_update also takes the
            # audit chain's lock, which a request that writes no audited row does not need.)
            locked = Partner._base_manager.select_for_update().filter(pk=partner.pk)
            list(locked.values_list("pk"))
            waiting = PartnerExport.objects.filter(partner=partner, job__state__in=OPEN_STATES)
            at_once = settings.PARTNER_EXPORTS_AT_ONCE
            if waiting.count() >= at_once:
                raise exceptions.Throttled(
                    detail=ngettext(
                        "%(count)s of your exports is waiting or running: ask for another once "
                        "it has ended.",
                        "%(count)s of your exports are waiting or running: ask for another "
                        "once one of them has ended.",
                        at_once,
                    )
                    % {"count": at_once}
                )
            job = jobs.start(
                tasks.partner_bundle,
                Kind.EXPORT,
                parameters={
                    "formats": options["formats"],
                    "jsonl": options["jsonl"],
                    "language": options["language"],
                    "base_url": services.base_url_of(request),
                },
            )
            export = PartnerExport.objects.create(
                job=job, partner=partner, filters=json.dumps(options["filters"])
            )
        body = describe(export, request)
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})

    @extend_schema(**openapi.EXPORT_JOB_SCHEMAS["file"])
    def file(self, request, uid=None):
        export = self.get_object()
        job = export.job
        if job.state != State.SUCCEEDED:
            if job.state in OPEN_STATES:
                message = gettext("The export is not made yet (%(state)s): follow it at %(url)s.")
            else:
                message = gettext("The export did not succeed (%(state)s): see %(url)s.")
            raise Conflict(
                message
                % {
                    "state": job.get_state_display(),
                    "url": request.build_absolute_uri(reverse("api:export-job", args=[job.pk])),
                }
            )
        # A HEAD (a client checking the size first) is not a download.
        reader = jobs.read_file(job, count=request.method != "HEAD")
        if reader is None:
            raise Gone(
                gettext(
                    "The file was kept until %(expires)s and is gone: ask for the export again."
                )
                % {"expires": job.file_expires_at.isoformat() if job.file_expires_at else "—"}
            )
        response = FileResponse(reader, as_attachment=True, filename=job.file_name)
        response["Content-Type"] = "application/zip"
        return response


# A partner's recent exports listed by GET /api/v1/exports/.
RECENT = 50


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Gone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "gone"
