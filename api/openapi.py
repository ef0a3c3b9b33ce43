"""What the partner API's OpenAPI schema says beyond what drf-spectacular reads from the code:
the error answers (400, 401, 404, 429) and examples, drawn from the demo's seed case
(casetracker/demo.py: Kanat Yerezhep). api/views.py attaches them with @extend_schema_view.

Schema only: nothing here runs while a request is served. Every example is an answer the
demo server gave (host replaced), so keep them in step with the API's messages.
"""

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers

from api import patterns
from cases.models import EvidenceLevel
from people.models import Gender

API = "https://casetracker.example.org/api/v1"


# --- Error bodies ------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The body of every 401, 404 and 429 answer."""

    detail = serializers.CharField(help_text="What went wrong.")


class ParameterErrorsSerializer(serializers.Serializer):
    """The body of a 400 answer: see ParameterErrorsScheme."""


class ParameterErrorsScheme(OpenApiSerializerExtension):
    """A 400 names each refused parameter; its keys are parameter names, so no fields."""

    target_class = ParameterErrorsSerializer

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": "Each refused query parameter, with what is wrong with it and, "
            "where it helps, what it accepts.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


def _examples(*pairs):
    return [OpenApiExample(name, value=value) for name, value in pairs]


UNKNOWN_PARAMETER = (
    "Unknown parameter",
    {"colour": ["Unknown parameter. Accepted: cursor, format, page_size."]},
)
PAGE_SIZE = ("page_size out of range", {"page_size": ["A whole number from 1 to 500."]})
INVALID_CURSOR = (
    "Invalid cursor",
    {"cursor": ["Invalid cursor: follow the `next` and `previous` links as given."]},
)


def bad_request(*examples) -> OpenApiResponse:
    return OpenApiResponse(
        ParameterErrorsSerializer,
        "A query parameter is unknown or has a value it does not accept. Nothing is returned: "
        "fix the request rather than retry it.",
        _examples(*examples),
    )


UNAUTHORIZED = OpenApiResponse(
    ErrorSerializer,
    "No usable token: missing or malformed `Authorization` header, a token that is unknown, "
    "revoked or expired, or a partner whose access is suspended. Ask your contact for a new "
    "token.",
    _examples(
        ("No token", {"detail": "Authentication credentials were not provided."}),
        ("Unknown or revoked token", {"detail": "Invalid or revoked token."}),
        ("Expired token", {"detail": "This token has expired."}),
        ("Partner suspended", {"detail": "This partner's access is suspended."}),
        (
            "Malformed header",
            {
                "detail": "Send the token as “Authorization: Token <key>” or "
                "“Authorization: Bearer <key>”."
            },
        ),
    ),
)
THROTTLED = OpenApiResponse(
    ErrorSerializer,
    "Too many requests from this token: more than {partner_burst} or {partner_sustained}. "
    "Wait the number of seconds in `Retry-After`, then repeat the request.".format(
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    ),
    _examples(
        ("Throttled", {"detail": "Request was throttled. Expected available in 60 seconds."})
    ),
)


def not_found(model: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        f"No published {model.lower()} with this key. Records that are not published, or no "
        "longer are, are not found either: the API never tells them apart.",
        _examples(
            ("Unknown key", {"detail": f"No {model} matches the given query."}),
            ("Not a key", {"detail": "Not found."}),
        ),
    )


# The schema's example says it in English; the answer says it in the caller's language
# (api.views.PersonViewSet.retrieve translates it).
MERGED_PERSON_DETAIL = gettext_noop(
    "This person was recorded twice; the records were merged. Use this uid."
)


class MergedRecordSerializer(serializers.Serializer):
    """The body of a 301 answer for a merged person's uid."""

    detail = serializers.CharField()
    uid = serializers.UUIDField(help_text="The surviving record's uid.")
    url = serializers.URLField(help_text="The surviving record's address.")


def merged_person() -> OpenApiResponse:
    return OpenApiResponse(
        MergedRecordSerializer,
        "The uid of a record merged into another (one person recorded twice). `Location` "
        "and `url` give the surviving record, whose uid to use from now on.",
        _examples(
            (
                "Merged record",
                {
                    "detail": MERGED_PERSON_DETAIL,
                    "uid": "0f8e2c1a-7b3d-4e5f-9a6b-1c2d3e4f5a6b",
                    "url": f"{API}/people/0f8e2c1a-7b3d-4e5f-9a6b-1c2d3e4f5a6b/",
                },
            ),
        ),
    )


# Response headers of the error answers.
ERROR_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[401],
        description='Token realm="casetracker partner API"',
    ),
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[429],
        description="Seconds to wait before the next request.",
    ),
]

# --- Parameters whose generated description says too little ------------------------------
#
# Each says what the server accepts, exactly: where a pattern can say it, the server checks
# the same pattern (api/patterns.py). Three values no pattern can pin down carry a format of
# their own, with the rule in words: `cursor` (only as `next` and `previous` give it),
# `edtf` (a date that exists, in EDTF) and `place` (a place's uid or its name).

CURSOR = OpenApiParameter(
    "cursor",
    {"type": "string", "format": "cursor", "pattern": patterns.CURSOR},
    description=_(
        "Where a page starts. Opaque: take it from the `next` or `previous` link of "
        "the page before, as it is, rather than building it. Any other value is refused (400), "
        "whatever its shape."
    ),
)
LIST_PARAMETERS = [
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
        description=_("Records per page: 1 to 500 (default 50)."),
    ),
    CURSOR,
    *ERROR_HEADERS,
]
EDTF = _(
    "In EDTF (the Library of Congress Extended Date/Time Format, "
    "https://www.loc.gov/standards/datetime/), as the date fields take it: a day `2024-04-05`, "
    "a month `2024-04`, a year `2024`, a decade `201X` or a century `20XX`, with `~` "
    "(about), `?` (uncertain) or `%` (both) after it if you like, which do not move its "
    "bounds; an interval `2019/2023`, or one open at an end, `2019/..` or `../2020`. The day "
    "must exist, the year be from 1 to 9999, and an interval must not end before it starts."
)
TIME = _(
    "An ISO 8601 time: a day that exists, `T`, hours and minutes (seconds, and up to six "
    "decimals, if you like), and `Z` or an offset such as `+06:00`; without one it is read as "
    "UTC. In a URL, write `+` as `%2B` (a bare `+` is a space)."
)
TEXT = {"type": "string", "pattern": patterns.TEXT}
FILTER_PARAMETERS = [
    OpenApiParameter(
        "date_from",
        {"type": "string", "format": "edtf", "minLength": 1},
        description=format_lazy(
            "{} {}",
            _(
                "Cases with an event that may have happened on or after this date (its "
                "earliest day): an event dated 2019/2023 matches date_from=2020."
            ),
            EDTF,
        ),
        examples=[
            OpenApiExample("A year", value="2020"),
            OpenApiExample("A month", value="2020-04"),
            OpenApiExample("A decade", value="201X"),
        ],
    ),
    OpenApiParameter(
        "date_to",
        {"type": "string", "format": "edtf", "minLength": 1},
        description=format_lazy(
            "{} {}",
            _(
                "Cases with an event that may have happened on or before this date (its "
                "latest day); not before date_from."
            ),
            EDTF,
        ),
        examples=[
            OpenApiExample("A day", value="2024-04-05"),
            OpenApiExample("A year", value="2023"),
        ],
    ),
    OpenApiParameter(
        "updated_since",
        {"type": "string", "pattern": patterns.TIME},
        description=format_lazy(
            "{} {}",
            _(
                "Cases changed at or after this time, for incremental sync (see also "
                "/api/v1/cases/withdrawn/)."
            ),
            TIME,
        ),
        examples=[OpenApiExample("UTC", value="2024-11-05T00:00:00Z")],
    ),
    OpenApiParameter(
        "search",
        TEXT,
        description=_(
            "A person's name, or part of one, in any script and any case: Kanat "
            "Yerezhep, Қанат Ережеп, قانات ەرەجەپ. Blank text, or one holding a NUL, is refused; "
            "text with only separators in it (`-`) finds nothing."
        ),
    ),
    OpenApiParameter(
        "location",
        {**TEXT, "format": "place"},
        description=_(
            "A place, by its `uid` or by its full name in any of its languages (exact, "
            "in any case: Ili Kazakh Autonomous Prefecture, Іле Қазақ автономиялық облысы, "
            "伊犁哈萨克自治州): cases with an event in it or anywhere inside it (a prefecture "
            "includes its counties, towns and facilities). A name no place bears is refused "
            "(400), and so is a name several places bear, with each one's uid, names and where "
            "it lies. A uid no published case's place has finds nothing."
        ),
    ),
    OpenApiParameter(
        "min_evidence_level",
        {"type": "integer", "enum": EvidenceLevel.values},
        description=_("1 reported · 2 testimony · 3 corroborated · 4 documented."),
    ),
    OpenApiParameter(
        "gender",
        OpenApiTypes.STR,
        enum=Gender.values,
        description=_("The detained person's gender, as recorded."),
    ),
]
CASE_LIST_PARAMETERS = [
    *LIST_PARAMETERS,
    OpenApiParameter(
        "ordering",
        {"type": "string", "pattern": patterns.ordering(["updated_at", "reference"])},
        description=_(
            "Sort by `updated_at` or `reference`; a leading `-` sorts downwards, and "
            "several are separated by commas, without spaces: `-updated_at`, `reference`, "
            "`reference,-updated_at`. Default: `-updated_at` (last changed first)."
        ),
        examples=[
            OpenApiExample("Last changed first", value="-updated_at"),
            OpenApiExample("By reference", value="reference"),
        ],
    ),
    *FILTER_PARAMETERS,
]

# --- Answers -----------------------------------------------------------------------------


def list_responses(serializer, refused=(UNKNOWN_PARAMETER, PAGE_SIZE, INVALID_CURSOR)) -> dict:
    return {
        200: serializer,
        400: bad_request(*refused),
        401: UNAUTHORIZED,
        429: THROTTLED,
    }


def detail_responses(serializer, model: str, unknown=UNKNOWN_PARAMETER) -> dict:
    return {
        200: serializer,
        400: bad_request(unknown),
        401: UNAUTHORIZED,
        404: not_found(model),
        429: THROTTLED,
    }


CASE_FILTER_ERRORS = (
    (
        "Unknown parameter",
        {
            "colour": [
                "Unknown parameter. Accepted: charge, cursor, date_from, date_to, dates, "
                "ethnicity, event_kind, facility, format, gender, incident, location, "
                "min_evidence_level, ordering, page_size, search, status, updated_since."
            ]
        },
    ),
    (
        "Not a date",
        {
            "date_from": [
                "“2020-13” is not a valid date: it is not a date in EDTF. Accepted forms: "
                "2024-04-05, 2024-04, 2024, 2019/2023, 2024-04~, 2024-04?, 201X, 2019/.., "
                "../2020."
            ]
        },
    ),
    ("Dates the wrong way round", {"date_to": ["date_to is before date_from."]}),
    (
        "Not a status",
        {
            "status": [
                "Select a valid choice. jailed is not one of the available choices.",
                "Accepted: detained, sentenced, released, released_under_restrictions, "
                "disappeared, deceased, unknown.",
            ]
        },
    ),
    (
        "Not a time",
        {
            "updated_since": [
                "An ISO 8601 time that exists, e.g. 2024-11-05T00:00:00Z or "
                "2024-11-05T06:00:00+06:00 (UTC when no zone is given)."
            ]
        },
    ),
    (
        "Empty",
        {
            "charge": [
                "Empty: leave charge out, or give the uid of a charge (see /api/v1/charges/)."
            ]
        },
    ),
    (
        "Ambiguous place name",
        {
            "location": [
                "“Shonzhy” is the name of 2 places: give the uid of the one you mean.",
                "5b0e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4: Shonzhy / Шонжы (county or "
                "county-level city in China › Xinjiang Uyghur Autonomous Region › Altay "
                "Prefecture)",
                "9c8d7e6f-5a4b-4c3d-9e2f-1a0b9c8d7e6f: Shonzhy (county or county-level city "
                "in China › Xinjiang Uyghur Autonomous Region › Ili Kazakh Autonomous "
                "Prefecture)",
            ]
        },
    ),
    (
        "Unknown ordering",
        {
            "ordering": [
                "Use one of: -reference, -updated_at, reference, updated_at; several "
                "separated by commas."
            ]
        },
    ),
    PAGE_SIZE,
    INVALID_CURSOR,
)


def case_list_responses(serializer) -> dict:
    return list_responses(serializer, refused=CASE_FILTER_ERRORS)


def case_detail_responses(serializer) -> dict:
    return detail_responses(serializer, "Case", unknown=CASE_FILTER_ERRORS[0])


def withdrawn_responses(serializer) -> dict:
    return {
        200: serializer,
        400: bad_request(
            (
                "since missing or not a time",
                {
                    "since": [
                        "Required: an ISO 8601 time that exists, e.g. 2024-11-05T00:00:00Z "
                        "(UTC when no zone is given)."
                    ]
                },
            )
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    }


# --- The seed case, as the demo server answers with it ------------------------------------

_XINJIANG = {
    "uid": "935f9aca-75ed-49e6-9198-d5c05aff4a0c",
    "url": f"{API}/locations/935f9aca-75ed-49e6-9198-d5c05aff4a0c/",
    "kind": "region",
    "facility_type": "",
    "name_en": "Xinjiang Uyghur Autonomous Region",
    "name_kk": "Шыңжаң Ұйғыр автономиялық ауданы",
    "name_ru": "Синьцзян-Уйгурский автономный район",
    "name_zh": "新疆维吾尔自治区",
}
_DETAINED = "4de2b442-ec2c-53f0-9b7e-01438a4eca63"
_NOTIFIED = "d1d1767e-8253-5b39-87b9-924cd4602b65"


def _publisher(uid, abbreviation, kind, name, name_kk, name_ru, name_zh=""):
    return {
        "uid": uid,
        "url": f"{API}/organisations/{uid}/",
        "name": name,
        "name_kk": name_kk,
        "name_ru": name_ru,
        "name_zh": name_zh,
        "abbreviation": abbreviation,
        "kind": kind,
    }


def _day(day):
    return {"edtf": day, "earliest": day, "latest": day}


SEED_CASE = {
    "uid": "91b0d23f-8ede-5d14-bff5-3bfa6b1d8f6f",
    "reference": "CT-2026-00001",
    "url": f"{API}/cases/CT-2026-00001/",
    "status": "detained",
    "evidence_level": 3,
    "verified_at": "2026-11-28T05:33:37.591856Z",
    "updated_at": "2026-11-28T05:33:37.597877Z",
    "public_summary": "Former director of Xinjiang TV's Kazakh-language service. Detained at "
    "some time between 2019 and 2023; his family was notified verbally by the authorities "
    "only in April 2024. Accused of separatism and treason; the authorities have not "
    "disclosed specific charges.",
    "person": {
        "uid": "f8385e76-d116-5ec1-96df-33752b45997d",
        "url": f"{API}/people/f8385e76-d116-5ec1-96df-33752b45997d/",
        "name": "Kanat Yerezhep",
        "names": [
            {
                "name": "Kanat Yerezhep",
                "script": "Latn",
                "language": "en",
                "kind": "transliteration",
                "preferred": True,
            },
            {
                "name": "Қанат Ережеп",
                "script": "Cyrl",
                "language": "kk",
                "kind": "native",
                "preferred": False,
            },
            {
                "name": "قانات ەرەجەپ",
                "script": "Arab",
                "language": "kk",
                "kind": "native",
                "preferred": False,
            },
        ],
        "gender": "male",
        "birth_date": None,
        "ethnicity": "kazakh",
        "place_of_origin": None,
        "occupation": "Former director of Xinjiang TV's Kazakh-language service",
        "public_summary": "Former director of the Kazakh-language service of Xinjiang "
        "Television, named by Atajurt among Kazakh officials and intellectuals detained in "
        "Xinjiang.",
    },
    "events": [
        {
            "uid": _DETAINED,
            "kind": "detained",
            "date": {"edtf": "2019/2023", "earliest": "2019-01-01", "latest": "2023-12-31"},
            "location": _XINJIANG,
            "facility": None,
            "authority": None,
            "charges": [
                {
                    "uid": "57c2793d-1d8a-4c9d-86e9-48070e7ec3fd",
                    "url": f"{API}/charges/57c2793d-1d8a-4c9d-86e9-48070e7ec3fd/",
                    "name": "Splitting the state",
                    "name_zh": "分裂国家罪",
                    "article": "103(1)",
                    "description": "Often reported as “separatism”.",
                },
                {
                    "uid": "accbe7a7-6180-4abe-b543-32e27a00a6cd",
                    "url": f"{API}/charges/accbe7a7-6180-4abe-b543-32e27a00a6cd/",
                    "name": "Treason",
                    "name_zh": "背叛国家罪",
                    "article": "102",
                    "description": "",
                },
            ],
            "charge_basis": "reported",
            "sentence": "",
            "description": "Detained at an unknown date between 2019 and 2023.",
        },
        {
            "uid": _NOTIFIED,
            "kind": "family_notified",
            "date": {"edtf": "2024-04", "earliest": "2024-04-01", "latest": "2024-04-30"},
            "location": _XINJIANG,
            "facility": None,
            "authority": None,
            "charges": [],
            "charge_basis": "",
            "sentence": "",
            "description": "The authorities notified the family of the detention, verbally.",
        },
    ],
    "incidents": [
        {
            "uid": "a82abf02-2884-5c06-be69-f7dfe2615ec3",
            "url": f"{API}/incidents/a82abf02-2884-5c06-be69-f7dfe2615ec3/",
            "name": "2024 arrests of Kazakh officials and intellectuals in Xinjiang",
            "date": {"edtf": "2024-04/2024-11", "earliest": "2024-04-01", "latest": "2024-11-30"},
        }
    ],
    "sources": [
        {
            "uid": "89f249a1-d8a3-52d4-8680-52cf428d96e7",
            "url": f"{API}/sources/89f249a1-d8a3-52d4-8680-52cf428d96e7/",
            "title": "Atajurt list of Kazakh officials and intellectuals detained in Xinjiang "
            "since 2024",
            "kind": "ngo_report",
            "publisher": _publisher(
                "5a5299d3-fc75-5e10-a3fd-1e81e7def54c",
                "Atajurt",
                "ngo",
                "Atajurt Kazakh Human Rights",
                "Атажұрт еріктілері",
                "Атажурт",
            ),
            "author": "Atajurt Kazakh Human Rights",
            "link": None,
            "archive_url": "",
            "published": _day("2024-11-05"),
            "language": "kk",
            "reliability": "B",
            "citations": [{"locator": "list of detainees", "supports": "case", "event": None}],
        },
        {
            "uid": "d031fca0-21c5-5715-b8fc-c9f96e40cc3b",
            "url": f"{API}/sources/d031fca0-21c5-5715-b8fc-c9f96e40cc3b/",
            "title": "Over thirty Kazakhs secretly arrested in Xinjiang, Atajurt says",
            "kind": "news_report",
            "publisher": _publisher(
                "cb2c381e-5d92-57ce-b8bf-ec29bcbc1899",
                "RFA",
                "media",
                "Radio Free Asia",
                "Азат Азия радиосы",
                "Радио Свободная Азия",
                "自由亚洲电台",
            ),
            "author": "",
            "link": None,
            "archive_url": "",
            "published": _day("2024-11-05"),
            "language": "en",
            "reliability": "B",
            "citations": [
                {"locator": "paragraph 3", "supports": "case", "event": None},
                {"locator": "paragraph 4", "supports": "event", "event": _DETAINED},
                {"locator": "paragraph 4", "supports": "event", "event": _NOTIFIED},
            ],
        },
    ],
    # No opinion yet; one reads {"number": "23/2025", "adopted": "2025-05-02", "finding":
    # "arbitrary", "categories": ["I", "II", "V"], "link": "https://www.ohchr.org/…"}.
    "un_opinions": [],
}

SEED_CASE_EXAMPLE = OpenApiExample(
    "Kanat Yerezhep",
    value=SEED_CASE,
    summary="The demo's seed case",
    description="Detained at an unknown date between 2019 and 2023 (EDTF `2019/2023`); the "
    "family was notified in April 2024.",
    response_only=True,
)
WITHDRAWN_EXAMPLE = OpenApiExample(
    "Seed case unpublished",
    value={
        "uid": "91b0d23f-8ede-5d14-bff5-3bfa6b1d8f6f",
        "reference": "CT-2026-00001",
        "withdrawn_at": "2026-11-28T06:20:09.802775Z",
    },
    summary="The seed case, once a verifier unpublished it",
    response_only=True,
)


RECORDS = {
    # model: (plural, what the list holds)
    "Person": (
        "people",
        "People named in published cases, with every recorded spelling of their names and the "
        "published cases that name them.",
    ),
    "Incident": ("incidents", "Waves and operations that published cases are part of."),
    "Organisation": (
        "organisations",
        "Authorities named in published events, and publishers of the public sources.",
    ),
    "Location": (
        "locations",
        "Places and facilities that published cases name, and the places they lie in "
        "(follow `parent`).",
    ),
    "Charge": (
        "charges",
        "Charges in published events, with their article of the PRC Criminal Law.",
    ),
    "Source": (
        "sources",
        "Public sources that published cases cite. Restricted and confidential sources are "
        "never listed.",
    ),
}


def record_schema(serializer, model: str) -> dict:
    """extend_schema_view() arguments for a list-and-detail endpoint of published records."""
    plural, description = RECORDS[model]
    return {
        "list": extend_schema(
            summary=f"Published {plural}",
            description=description,
            parameters=LIST_PARAMETERS,
            responses=list_responses(serializer),
        ),
        "retrieve": extend_schema(
            summary=f"One {model.lower()}",
            description=f"By its `uid`. {description}",
            parameters=[
                OpenApiParameter(
                    "uid",
                    OpenApiTypes.UUID,
                    OpenApiParameter.PATH,
                    description=f"The {model.lower()}'s uid, as lists and cases give it. It "
                    "never changes.",
                ),
                *ERROR_HEADERS,
            ],
            responses=detail_responses(serializer, model)
            | ({301: merged_person()} if model == "Person" else {}),
        ),
    }


# --- Post-processing (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) -----------------------

SITE = API.removesuffix("/api/v1")
NEXT_CURSOR = "cD0yMDI2LTExLTI4KzA1JTNBMzMlM0EzNy40MTc1MTUlMkIwMCUzQTAw"
PREVIOUS_CURSOR = "cj0xJnA9MjAyNi0xMS0yOCswNSUzQTMzJTNBMzcuNDE3NTE1JTJCMDAlM0EwMA"


def cursor_links(result, generator, request, public):
    """DRF's cursor pagination documents `next` and `previous` with another API's links
    (http://api.example.org/accounts/…, one with a stray quote): show this API's own."""
    schemas = result.get("components", {}).get("schemas", {})
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            for media in content.values():
                name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if not name.startswith("Paginated") or name not in schemas:
                    continue
                properties = schemas[name]["properties"]
                properties["next"]["example"] = f"{SITE}{path}?cursor={NEXT_CURSOR}"
                properties["previous"]["example"] = f"{SITE}{path}?cursor={PREVIOUS_CURSOR}"
                for example in media.get("examples", {}).values():
                    # A first page: where the next one starts, and nothing before it.
                    example["value"].update(next=properties["next"]["example"], previous=None)
    return result


# --- The export bundle (exports/api.py) ---------------------------------------------------

DIRECT_LIMIT = settings.PARTNER_DIRECT_EXPORT_MAX_CASES
EXPORT_DESCRIPTION = f"""\
Every published case matching the filters (the same filters as `/api/v1/cases/`; no paging)
as one zip file: `cases.csv`, `events.csv`, `names.csv`, `sources.csv`, `un_opinions.csv`
(joined by case reference and uid), `cases.json` (each case exactly as
`/api/v1/cases/<reference>/` gives it), `cases.xlsx` (the same tables as sheets, with a data
dictionary), `DATA-DICTIONARY.md` (every column: meaning, type, allowed values; EDTF dates
explained) and `manifest.json` (when, filters, record counts, and the SHA-256 of every
file). Files are ordered by case reference; the same data and filters give the same bytes,
apart from `manifest.json`'s `generated_at`. Record addresses (`url`) point at this server.
The zip is built before the answer starts, so this endpoint takes up to {DIRECT_LIMIT:,}
cases; more are refused (400, `export`) with the way to ask for them: `POST
/api/v1/exports/`, a background export of any size."""

EXPORT_PARAMETERS = [
    OpenApiParameter(
        "formats",
        {"type": "string", "pattern": patterns.EXPORT_FORMATS},
        description=_(
            "Which files, comma-separated without spaces: `csv`, `json`, `xlsx` (default: "
            "all three). The data dictionary and the manifest are always there."
        ),
        examples=[OpenApiExample("CSV and JSON", value="csv,json")],
    ),
    OpenApiParameter(
        "jsonl",
        OpenApiTypes.BOOL,
        description=_(
            "`true`: `cases.jsonl` (JSON Lines, one case a line) instead of `cases.json`; "
            "`false` (the default) for `cases.json`."
        ),
    ),
    OpenApiParameter(
        "language",
        {"type": "string", "enum": [code for code, _name in settings.LANGUAGES]},
        description=_(
            "Language of `DATA-DICTIONARY.md` and of the column headings and dictionary sheet "
            "of `cases.xlsx` (default: the one `Accept-Language` asks for, else `en`). CSV and "
            "JSON keep their English column codes."
        ),
    ),
    *FILTER_PARAMETERS,
    *ERROR_HEADERS,
]


def export_responses() -> dict:
    return {
        (200, "application/zip"): OpenApiResponse(
            OpenApiTypes.BINARY,
            "The bundle, as an attachment (`Content-Disposition`). Check it with the "
            "hashes in its `manifest.json`.",
        ),
        400: bad_request(
            CASE_FILTER_ERRORS[0],
            CASE_FILTER_ERRORS[1],
            (
                "Unknown format",
                {
                    "formats": [
                        "Unknown format pdf: choose from csv, json, xlsx, comma-separated "
                        "(e.g. csv,json), or leave formats out for all three."
                    ]
                },
            ),
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    }


# --- Exports as background jobs (exports/api.py: ExportJobViewSet) ---------------------------


class ExportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Cases written so far.")
    total = serializers.IntegerField(allow_null=True, help_text="Cases to write; null until known.")
    percent = serializers.IntegerField(allow_null=True)


class ExportFileSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Download the zip here (GET, with your token).")
    name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="SHA-256 of the zip file.")
    manifest_sha256 = serializers.CharField(help_text="SHA-256 of its manifest.json.")
    expires_at = serializers.DateTimeField(help_text="The file is deleted after this time.")


class ExportJobSerializer(serializers.Serializer):
    uid = serializers.UUIDField(help_text="The export's key, as in its `url`.")
    url = serializers.URLField(help_text="Follow the export here.")
    state = serializers.ChoiceField(
        choices=["queued", "running", "succeeded", "failed", "cancelled", "interrupted"],
        help_text="queued and running: wait and ask again; succeeded: `file` is ready; "
        "failed, cancelled, interrupted: `error` says why; ask again.",
    )
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = ExportProgressSerializer()
    formats = serializers.ListField(child=serializers.CharField())
    jsonl = serializers.BooleanField()
    language = serializers.CharField()
    cases = serializers.IntegerField(allow_null=True, help_text="Cases in the bundle, once made.")
    error = serializers.CharField(allow_null=True)
    file = ExportFileSerializer(allow_null=True, help_text="Null until made, and once deleted.")


CONFLICT = OpenApiResponse(
    ErrorSerializer,
    "The export has no file: not made yet (follow it), or it did not succeed.",
    _examples(
        (
            "Not made yet",
            {
                "detail": "The export is not made yet (Running): follow it at "
                f"{API}/exports/3f0c9a52-5d1e-4b8e-9a47-0b3d2c1e7f10/."
            },
        )
    ),
)
GONE = OpenApiResponse(
    ErrorSerializer,
    "The file was deleted when its time was up (`file.expires_at`): ask for the export again.",
)
EXPORT_JOB_NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    "No export of yours with this id: another partner's exports are not found either.",
    _examples(("Unknown id", {"detail": "No PartnerExport matches the given query."})),
)

EXPORT_JOB_SCHEMAS = {
    "list": {
        "operation_id": "exports_list",
        "summary": "Your recent exports",
        "description": "The last 50 exports you asked for, newest first, as `GET "
        "/api/v1/exports/{uid}/` describes each.",
        "parameters": ERROR_HEADERS,
        "responses": {200: ExportJobSerializer(many=True), 401: UNAUTHORIZED, 429: THROTTLED},
    },
    "create": {
        "operation_id": "exports_create",
        "summary": "Ask for a bundle of published cases, of any size",
        "description": "The same bundle as `GET /api/v1/exports/cases.zip`, with the same "
        "parameters, given in the query string (no body), written by a background job. "
        "The answer (202) describes the export; `Location` and `url` are where to follow it. "
        "Ask again every few seconds until `state` is `succeeded`, then download "
        "`file.url`. The file is kept for a day (`file.expires_at`). You may have "
        f"{settings.PARTNER_EXPORTS_AT_ONCE} exports waiting or running at once; another is "
        "refused with 429 until one ends.",
        "parameters": EXPORT_PARAMETERS,
        "request": None,
        "responses": {
            202: ExportJobSerializer,
            400: bad_request(CASE_FILTER_ERRORS[0], CASE_FILTER_ERRORS[1]),
            401: UNAUTHORIZED,
            429: THROTTLED,
        },
    },
    "retrieve": {
        "operation_id": "exports_retrieve",
        "summary": "Follow an export",
        "description": "Its state, how far it has got and, once made, its file.",
        "parameters": ERROR_HEADERS,
        "responses": {
            200: ExportJobSerializer,
            401: UNAUTHORIZED,
            404: EXPORT_JOB_NOT_FOUND,
            429: THROTTLED,
        },
    },
    "file": {
        "operation_id": "exports_file",
        "summary": "Download an export's bundle",
        "description": "The zip, as an attachment. Check it against `file.sha256` and the "
        "hashes in its `manifest.json`.",
        "parameters": ERROR_HEADERS,
        "responses": {
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, "The bundle."),
            401: UNAUTHORIZED,
            404: EXPORT_JOB_NOT_FOUND,
            409: CONFLICT,
            410: GONE,
            429: THROTTLED,
        },
    },
}
