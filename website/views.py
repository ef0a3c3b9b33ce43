"""The public website: read-only pages of the published cases (website.pages), in the four
interface languages, without JavaScript, cacheable by any proxy.

Every page says how long it may be kept (``Cache-Control``) and carries an ``ETag``: a
reader's second visit is a 304. With ``PUBLIC_SITE_NOINDEX`` every page asks search engines
not to index it (the ``X-Robots-Tag`` header and ``robots.txt``).
"""

from functools import wraps

from django.conf import settings
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.middleware.http import ConditionalGetMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.decorators import decorator_from_middleware
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from cases.models import EvidenceLevel, FacilityType, LocationKind
from figures import breakdowns, cache, charts
from languages.services import local_name
from website import downloads, pages, portraits, throttling
from website.models import Methodology

conditional = decorator_from_middleware(ConditionalGetMiddleware)
# The statistics the home page draws.
HEADLINE = ("status", "detention_year")


def public_page(view):
    """Read-only (GET and HEAD), cached for PUBLIC_SITE_CACHE_SECONDS by anyone, per
    language, with an ETag; noindex where the organisation asks for it."""

    @wraps(view)
    @require_safe
    @conditional
    def page(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            # A staff member signed in on the same host: their answer may carry the session
            # cookie (saved on every request); no shared cache may keep it.
            patch_cache_control(response, private=True, no_store=True)
        elif response.status_code in (200, 301, 410):
            # must-revalidate: a cache that cannot reach the site does not go on serving a
            # case that may have been withdrawn meanwhile.
            patch_cache_control(
                response,
                public=True,
                max_age=settings.PUBLIC_SITE_CACHE_SECONDS,
                must_revalidate=True,
            )
        patch_vary_headers(response, ["Accept-Language", "Cookie"])
        if settings.PUBLIC_SITE_NOINDEX:
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return page


def context(**values) -> dict:
    return {"noindex": settings.PUBLIC_SITE_NOINDEX, **values}


def limited(request, scope: str) -> HttpResponse | None:
    """A 429 page if the client asked too often (website.throttling); else None."""
    seconds = throttling.wait(request, scope)
    if seconds is None:
        return None
    response = render(request, "website/limited.html", context(seconds=seconds), status=429)
    response["Retry-After"] = str(seconds)
    patch_cache_control(response, no_store=True)
    return response


def not_published(request) -> HttpResponse:
    """The answer for an address that shows nothing published: 404, or 429 to a client that
    asks for such addresses too often (walking references, uids)."""
    if throttled := limited(request, throttling.MISSING):
        return throttled
    raise Http404


def published_statistics():
    """Every breakdown of the published cases, small counts hidden, as partners get them:
    from the kept counts, cached per generation of the published set (figures.cache)."""
    today = timezone.localdate()
    parts = ["website", translation.get_language(), settings.STATISTICS_MIN_CELL, today]
    return cache.cached(
        parts,
        lambda: breakdowns.suppress(
            breakdowns.compute(None, today=today), settings.STATISTICS_MIN_CELL
        ),
    )


@public_page
def home(request):
    # The kept counts (figures.tally): no count of the table per visit. A total below the
    # minimum cell size is not shown, as in every public output.
    statistics = published_statistics()
    total = None if statistics.total_suppressed else statistics.total
    headline = [
        {"name": name, "breakdown": statistics.breakdowns[name]}
        for name in HEADLINE
        if name in statistics.breakdowns
    ]
    for chart in headline:
        chart["chart"] = charts.chart(chart["name"], chart["breakdown"])
    return render(
        request,
        "website/home.html",
        context(
            total=total,
            headline=headline,
            latest=[pages.CasePage(pages.document(s)) for s in pages.latest()],
        ),
    )


@public_page
def case_page(request, reference):
    if not pages.is_reference(reference):
        raise Http404
    if reference != reference.upper():
        return HttpResponsePermanentRedirect(reverse("website:case", args=[reference.upper()]))
    snapshot = pages.published_case(reference)
    if snapshot is None:
        gone = pages.withdrawn_at(reference)
        if gone is None:
            return not_published(request)
        if throttled := limited(request, throttling.MISSING):
            return throttled
        return render(
            request,
            "website/withdrawn.html",
            context(reference=reference.upper(), withdrawn_at=gone),
            status=410,
        )
    page = pages.CasePage(pages.document(snapshot))
    address = request.build_absolute_uri(reverse("website:case", args=[snapshot.reference]))
    return render(request, "website/case.html", context(case=page, address=address))


@public_page
def person_page(request, uid):
    survivor = pages.survivor_of(uid)
    if survivor is not None:
        return HttpResponsePermanentRedirect(reverse("website:person", args=[survivor]))
    cases = pages.person_cases(uid)
    if not cases:
        return not_published(request)
    shown = [pages.CasePage(pages.document(snapshot)) for snapshot in cases]
    return render(request, "website/person.html", context(person=shown[0], cases=shown))


def cursor(request) -> str:
    return request.GET.get("after", "").replace("\x00", "")[:100]


@public_page
def place_page(request, uid):
    place = pages.published_place(uid)
    if place is None:
        return not_published(request)
    role = request.GET.get("role", pages.HELD)
    if role not in (pages.HELD, pages.ORIGIN):
        raise Http404
    found, following = [], ""
    if place.kind not in pages.BROAD_LEVELS:
        if throttled := limited(request, throttling.LIST):
            return throttled
        snapshots, following = pages.listed(
            lambda before: pages.place_cases(place, role, before), cursor(request)
        )
        found = [pages.CasePage(pages.document(s)) for s in snapshots]
    document = pages.place_document(place)
    return render(
        request,
        "website/place.html",
        context(
            place=document,
            name=pages.place_name(document),
            place_names=pages.place_names(document),
            kind=pages.label(LocationKind, place.kind),
            facility_type=pages.label(FacilityType, place.facility_type),
            within=pages.place_within(place),
            inside=pages.places_inside(place) if place.kind in pages.BROAD_LEVELS else [],
            listed=place.kind not in pages.BROAD_LEVELS,
            role=role,
            roles=[(pages.HELD, _("Held here")), (pages.ORIGIN, _("From here"))],
            found=found,
            following=following,
        ),
    )


@public_page
def charge_page(request, uid):
    charge = pages.published_charge(uid)
    if charge is None:
        return not_published(request)
    if throttled := limited(request, throttling.LIST):
        return throttled
    snapshots, following = pages.listed(
        lambda before: pages.charge_cases(charge, before), cursor(request)
    )
    document = pages.charge_document(charge)
    return render(
        request,
        "website/charge.html",
        context(
            charge=document,
            name=local_name(document, "name"),
            found=[pages.CasePage(pages.document(s)) for s in snapshots],
            following=following,
        ),
    )


@public_page
def statistics_page(request):
    statistics = published_statistics()

    def link(name: str, row: dict) -> str:
        if not row["count"] or not breakdowns.is_uid(str(row["value"] or "")):
            return ""
        if name == "charges":
            return reverse("website:charge", args=[row["value"]])
        if name in breakdowns.PLACE_BREAKDOWNS:
            role, _kind = breakdowns.PLACE_BREAKDOWNS[name]
            return f"{reverse('website:place', args=[row['value']])}?role={role}"
        return ""

    sections = charts.sections(statistics, link)
    return render(
        request,
        "website/statistics.html",
        context(statistics=statistics, sections=sections, min_cell=settings.STATISTICS_MIN_CELL),
    )


@public_page
def methodology(request):
    return render(
        request,
        "website/methodology.html",
        context(
            text=Methodology.objects.for_language(translation.get_language()),
            levels=[label for _value, label in EvidenceLevel.choices],
            organisation=settings.SUBMITTING_ORGANISATION,
        ),
    )


@public_page
def downloads_page(request):
    return render(
        request,
        "website/downloads.html",
        context(download=downloads.latest(), site_url=settings.PUBLIC_SITE_URL),
    )


@require_safe
@conditional
def download_file(request, name):
    """The bundle on offer, and no other: an older one may hold a case withdrawn since."""
    download = downloads.latest()
    if download is None or name != download.file_name:
        raise Http404
    try:
        handle = downloads.path_of(download).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=download.file_name)
    response["Content-Type"] = "application/zip"
    response["ETag"] = f'"{download.sha256}"'
    # Checked again like every page: the bundle is taken down when a case in it is withdrawn.
    patch_cache_control(
        response, public=True, max_age=settings.PUBLIC_SITE_CACHE_SECONDS, must_revalidate=True
    )
    if settings.PUBLIC_SITE_NOINDEX:
        response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@public_page
def portrait(request, uid):
    shown = portraits.current(uid)
    if shown is None:
        raise Http404
    response = HttpResponse(bytes(shown.image), content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@public_page
def search(request):
    # A NUL can be in no name (and PostgreSQL refuses it in a query): nothing to look for.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    found, following = [], ""
    if query:
        if throttled := limited(request, throttling.SEARCH):
            return throttled
        snapshots, following = pages.search(query, cursor(request))
        found = [pages.CasePage(pages.document(s)) for s in snapshots]
    return render(
        request,
        "website/search.html",
        context(query=query, found=found, following=following),
    )


@require_safe
def language(request, code):
    """The reader's language, chosen by a link (no form, so no CSRF cookie on every page,
    which would keep proxies from caching them): remembered in Django's language cookie,
    then back to the page the reader was on."""
    if code not in dict(settings.LANGUAGES):
        raise Http404
    following = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        following, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        following = reverse("website:home")
    response = HttpResponseRedirect(following)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        secure=request.is_secure(),
    )
    return response


@public_page
def robots_txt(request):
    rules = "Disallow: /" if settings.PUBLIC_SITE_NOINDEX else "Disallow: /admin/\nDisallow: /api/"
    return HttpResponse(f"User-agent: *\n{rules}\n", content_type="text/plain")
