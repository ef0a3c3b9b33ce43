"""Partner API v1: read-only views over the published cases (api.public)."""

import base64
import binascii
import re
import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils.text import format_lazy
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext, gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, filters, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    schema,
    throttle_classes,
)
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api import openapi, patterns, public
from api.filters import CaseFilter, once_message, parse_time
from api.models import ApiRequest, PartnerToken, loggable_query
from cases import publication
from cases.models import REFERENCE_PATTERN, Case
from people.models import Person, PersonAlias
from snapshots import writer
from snapshots.models import PublishedCase
from sources.models import Source


class Pages(CursorPagination):
    """Cursor pages: stable while records are added, and as fast on page 1,000 as on page 1."""

    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = ("-updated_at", "-pk")
    invalid_cursor_message = gettext_lazy(
        "Invalid cursor: follow the `next` and `previous` links as given."
    )

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model  # read by decode_cursor(), to check the position
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's, but refusing what DRF would take from a cursor it never gave: characters
        around the base64 (which decoding skips), and a position that does not fit the
        ordering (a time where a reference is sorted on, or a NUL), which the database would
        otherwise fail on."""
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            if not patterns.matches(patterns.CURSOR, raw):
                raise ValueError(raw)
            base64.b64decode(raw, validate=True)
            cursor = super().decode_cursor(request)
            position = cursor.position
            if position is not None:
                if "\x00" in position:
                    raise ValueError(position)
                field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
                position = field.to_python(position)
                if hasattr(position, "tzinfo") and is_naive(position):
                    position = make_aware(position)
        except (ValueError, binascii.Error, DjangoValidationError, exceptions.NotFound):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [str(self.invalid_cursor_message)]}
            ) from None
        return Cursor(offset=cursor.offset, reverse=cursor.reverse, position=position)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # ASCII digits only: str.isdigit() would also take "５" and "²".
        if not re.fullmatch("[0-9]+", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    "page_size": [
                        gettext("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)


class Filters(DjangoFilterBackend):
    """django-filter, with errors that say what each parameter accepts."""

    def filter_queryset(self, request, queryset, view):
        # No filter asked for: nothing to apply, and no filter set to build (it deep-copies
        # every filter, a sixth of what a page of the case list costs).
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class and not set(request.query_params) & set(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None and not filterset.is_valid():
            errors = {}
            for name, messages in filterset.errors.items():
                field = filterset.form.fields.get(name)
                choices = [str(value) for value, _ in getattr(field, "choices", []) if value != ""]
                hint = (
                    [gettext("Accepted: %(values)s.") % {"values": ", ".join(choices)}]
                    if choices
                    else []
                )
                errors[name] = [*messages, *hint]
            raise exceptions.ValidationError(errors)
        return filterset


def documents_response(text: str, request) -> HttpResponse:
    """Stored JSON text (snapshots.writer), with the record addresses made absolute for this
    request, as the API's renderer would have written it."""
    body = writer.absolute(text, request.build_absolute_uri("/"))
    return HttpResponse(body, content_type="application/json")


class StrictOrdering(filters.OrderingFilter):
    """Like DRF's, but an unknown ordering is a 400 instead of being ignored, and the value
    must be exactly what the schema says (patterns.ordering): no spaces, no empty terms."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is not None:
            if not patterns.matches(patterns.ordering(view.ordering_fields), raw):
                allowed = {f for field in view.ordering_fields for f in (field, f"-{field}")}
                raise exceptions.ValidationError(
                    {
                        "ordering": [
                            gettext("Use one of: %(allowed)s; several separated by commas.")
                            % {"allowed": ", ".join(sorted(allowed))}
                        ]
                    }
                )
            asked = raw.split(",")
            return [*asked, "-pk" if asked[0].startswith("-") else "pk"]
        return self.get_default_ordering(view)


class ReadOnly:
    """A write to a read-only endpoint, by a caller who may read it, is answered 405 with the
    `Allow` header (DRF adds it to every answer), not 403. Permissions still run first and
    still refuse every write (deny by default): this only changes the answer. Without usable
    credentials it stays 401; throttling counts the refused write like any request."""

    def permission_denied(self, request, message=None, code=None):
        if (
            request.method not in SAFE_METHODS
            and request.method not in self.allowed_methods
            and all(
                getattr(permission, "may_read", lambda request: False)(request)
                for permission in self.get_permissions()
            )
        ):
            self.check_throttles(request)
            raise exceptions.MethodNotAllowed(request.method)
        super().permission_denied(request, message, code)


class PartnerViewSet(ReadOnly, viewsets.ReadOnlyModelViewSet):
    """Base of every partner endpoint: read-only, records by uid, no caching anywhere, every
    token-authenticated request logged (without the token), unknown parameters refused."""

    lookup_field = "uid"
    lookup_url_kwarg = "uid"
    pagination_class = Pages
    known_params = {"cursor", "page_size", "format"}

    @classmethod
    def as_view(cls, *args, **kwargs):
        # Reads only, outside the per-request transaction, so that the request log is kept
        # for refused requests too (an error rolls the request's transaction back).
        return transaction.non_atomic_requests(super().as_view(*args, **kwargs))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        allowed = self.known_params | self.filter_params()
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise exceptions.ValidationError(
                {
                    name: [
                        gettext("Unknown parameter. Accepted: %(names)s.")
                        % {"names": ", ".join(sorted(allowed))}
                    ]
                    for name in unknown
                }
            )
        # One value a parameter, except the filters that take several (status): of two, only
        # one would count, and the other would be silently dropped.
        repeated = sorted(
            name
            for name, values in request.query_params.lists()
            if len(values) > 1 and name not in CaseFilter.repeatable()
        )
        if repeated:
            raise exceptions.ValidationError({name: [once_message(name)] for name in repeated})

    def filter_params(self) -> set[str]:
        if self.action == "withdrawn":
            return {"since"}
        params = set()
        if getattr(self, "filterset_class", None):
            params |= set(self.filterset_class.base_filters)
        if getattr(self, "ordering_fields", None):
            params.add("ordering")
        return params

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        token = getattr(request, "auth", None)
        if isinstance(token, PartnerToken):
            log_request(
                ApiRequest(
                    partner_id=token.partner_id,
                    token_name=token.name,
                    method=request.method,
                    path=request.path[:300],
                    # Which parameters, and only the values that are codes, uids and times:
                    # never the text of a search or a place's name (api.models.loggable_query).
                    query=loggable_query(request.query_params)[:1000],
                    status=response.status_code,
                )
            )
        return response


def log_request(entry: ApiRequest) -> None:
    """Keep a request in the log. On PostgreSQL, without waiting for the disk to confirm the
    commit (synchronous_commit off, for this row alone): a crash can lose the last fraction
    of a second of log rows, never anything else, and requests do not queue on the disk."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        entry.save()


@extend_schema_view(
    list=extend_schema(
        summary="Published cases",
        description="Verified, published cases.",
        parameters=openapi.CASE_LIST_PARAMETERS,
        responses=openapi.case_list_responses(public.CaseSerializer),
        examples=[openapi.SEED_CASE_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One published case",
        description="A published case by its reference or uid.",
        parameters=[
            OpenApiParameter(
                "key",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="The case's reference (CT-2024-00017) or uid.",
            ),
            *openapi.ERROR_HEADERS,
        ],
        responses=openapi.case_detail_responses(public.CaseSerializer),
        examples=[openapi.SEED_CASE_EXAMPLE],
    ),
)
class CaseViewSet(PartnerViewSet):
    """Cases are written out from their published snapshots (snapshots.writer): the stored
    text of what public.CaseSerializer gives, made when the case was published or changed.
    The serializer is still the schema's description of a case."""

    serializer_class = public.CaseSerializer
    filter_backends = [Filters, StrictOrdering]
    filterset_class = CaseFilter
    ordering_fields = ["updated_at", "reference"]
    ordering = ["-updated_at", "-pk"]  # the key breaks ties: no repeats or gaps across pages
    lookup_url_kwarg = "key"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema: the fields are described from the case.
            return Case.objects.none()
        return PublishedCase.objects.all()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        links = {
            "next": self.paginator.get_next_link(),
            "previous": self.paginator.get_previous_link(),
        }
        # {"next":…,"previous":…,"results":[…]}, as the paginator's response would be.
        results = ",".join(snapshot.document for snapshot in page)
        text = f'{writer.document_text(links)[:-1]},"results":[{results}]}}'
        return documents_response(text, request)

    def retrieve(self, request, *args, **kwargs):
        return documents_response(self.get_object().document, request)

    def get_object(self):
        """By reference (CT-2024-00017) or by uid; anything else is simply not found."""
        key = self.kwargs["key"]
        if re.fullmatch(REFERENCE_PATTERN, key.upper()):
            lookup = {"reference": key.upper()}
        else:
            try:
                lookup = {"uid": uuid.UUID(key)}
            except ValueError:
                raise exceptions.NotFound() from None
        snapshot = self.get_queryset().filter(**lookup).first()
        if snapshot is None:
            # As the schema documents it (api.openapi.not_found): named after the case.
            raise Http404(f"No {Case._meta.object_name} matches the given query.")
        return snapshot

    @extend_schema(
        summary="Cases withdrawn from partners",
        description="Cases that left the published set at or after `since` (unpublished, "
        "consent withdrawn, marked sensitive, archived) and are not published again. Delete "
        "them from local copies. Use with `updated_since` on the case list. A correction in "
        "review does not withdraw a case: its last verified version stays until the "
        "correction is verified, then the case is listed as changed.",
        parameters=[
            OpenApiParameter(
                "since",
                {"type": "string", "pattern": patterns.TIME},
                required=True,
                description=format_lazy(
                    "{} {}", gettext_lazy("Cases withdrawn at or after this time."), openapi.TIME
                ),
            ),
            *openapi.ERROR_HEADERS,
        ],
        responses=openapi.withdrawn_responses(public.WithdrawalSerializer(many=True)),
        examples=[openapi.WITHDRAWN_EXAMPLE],
    )
    @action(detail=False, url_path="withdrawn", filter_backends=[], pagination_class=None)
    def withdrawn(self, request):
        raw = request.query_params.get("since")
        since = parse_since(raw)
        latest = {}
        for record in publication.withdrawn_since(since):
            latest[record.case_id] = record
        data = public.WithdrawalSerializer(list(latest.values()), many=True).data
        return Response(data)


def parse_since(raw):
    when = parse_time(raw or "")
    if when is None:
        raise exceptions.ValidationError(
            {
                "since": [
                    gettext(
                        "Required: an ISO 8601 time that exists, e.g. 2024-11-05T00:00:00Z "
                        "(UTC when no zone is given)."
                    )
                ]
            }
        )
    return when


@extend_schema_view(**openapi.record_schema(public.PersonRecordSerializer, "Person"))
class PersonViewSet(PartnerViewSet):
    serializer_class = public.PersonRecordSerializer

    def get_queryset(self):
        return (
            public.published_people()
            .defer(*public.secret_fields(Person))
            .select_related("place_of_origin")
            .prefetch_related(
                "names",
                Prefetch("cases", queryset=public.published_cases(), to_attr="published_cases"),
            )
        )

    def retrieve(self, request, *args, **kwargs):
        """A merged person's uid redirects to the surviving record, if that is published;
        otherwise it is not found, exactly like any unknown uid."""
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            survivor = PersonAlias.resolve(self.kwargs["uid"])
            if survivor is None or not self.get_queryset().filter(pk=survivor.pk).exists():
                raise
        url = reverse("api:person-detail", kwargs={"uid": survivor.uid}, request=request)
        detail = gettext(openapi.MERGED_PERSON_DETAIL)
        body = {"detail": detail, "uid": str(survivor.uid), "url": url}
        return Response(body, status=301, headers={"Location": url})


@extend_schema_view(**openapi.record_schema(public.IncidentSerializer, "Incident"))
class IncidentViewSet(PartnerViewSet):
    serializer_class = public.IncidentSerializer

    def get_queryset(self):
        return public.published_incidents()


@extend_schema_view(**openapi.record_schema(public.OrganisationSerializer, "Organisation"))
class OrganisationViewSet(PartnerViewSet):
    serializer_class = public.OrganisationSerializer

    def get_queryset(self):
        return public.published_organisations()


@extend_schema_view(**openapi.record_schema(public.LocationSerializer, "Location"))
class LocationViewSet(PartnerViewSet):
    serializer_class = public.LocationSerializer

    def get_queryset(self):
        return public.published_locations().select_related("parent")


@extend_schema_view(**openapi.record_schema(public.ChargeSerializer, "Charge"))
class ChargeViewSet(PartnerViewSet):
    serializer_class = public.ChargeSerializer

    def get_queryset(self):
        return public.published_charges()


@extend_schema_view(**openapi.record_schema(public.SourceSerializer, "Source"))
class SourceViewSet(PartnerViewSet):
    serializer_class = public.SourceSerializer

    def get_queryset(self):
        return (
            public.published_sources()
            .defer(*public.secret_fields(Source))
            .select_related("publisher")
        )


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the partner token in the OpenAPI schema."""

    target_class = "api.authentication.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` (or `Bearer <key>`), as issued by your contact.",
        }


@api_view(["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
@schema(None)
def not_found(request, path=""):
    """Any other address under /api/v1/: a JSON 404 like the rest of the API, never cached."""
    response = Response({"detail": gettext("Not found.")}, status=404)
    response["Cache-Control"] = "no-store"
    return response
