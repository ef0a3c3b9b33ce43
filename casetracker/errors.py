"""The refused (403) and not-found (404) pages, in the admin's look (wired in casetracker.urls
as ``handler403`` and ``handler404``; templates/403.html, 404.html and 403_csrf.html).

A 403 says, when it is known, which role the refused step needs and that an Administrator gives
roles. It is known when the code that refused raised ``MissingPermission``, or when the page is
one of the admin's own pages of a model (list, add, change, delete, history). A 404 is one and
the same page whatever the reason: a record that does not exist and one the user may not see
answer alike (README "Need to know"), so it never repeats the exception's message or the
address asked for.
"""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import requires_csrf_token

from casetracker import roles


class MissingPermission(PermissionDenied):
    """Refused for want of a permission; any one of ``permissions`` would have done.

    ``raise MissingPermission("cases.verify_case")`` where a view checks a permission itself:
    the 403 page then names the roles that hold it.
    """

    def __init__(self, *permissions: str):
        self.permissions = permissions
        super().__init__(", ".join(permissions))


def roles_with(*permissions: str) -> list[str]:
    """The roles (casetracker.roles) that hold at least one of ``permissions``, in their order
    there. None for what only a superuser may do."""
    return [
        role for role, codes in roles.ROLES.items() if any(perm in codes for perm in permissions)
    ]


# The admin's own pages of a model, by the end of their URL name, and the permissions that
# open them (any one of them).
ADMIN_PAGES = {
    "changelist": ("view", "change"),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "add": ("add",),
    "delete": ("delete",),
}


def admin_page_permissions(request) -> tuple[str, ...]:
    """The permissions that open the admin page of a model that ``request`` asked for; none
    for any other page (the admin's custom pages raise MissingPermission themselves)."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != admin.site.name or not match.url_name:
        return ()
    for model in admin.site._registry:
        opts = model._meta
        for page, actions in ADMIN_PAGES.items():
            if match.url_name == f"{opts.app_label}_{opts.model_name}_{page}":
                return tuple(f"{opts.app_label}.{action}_{opts.model_name}" for action in actions)
    return ()


def needed_permissions(request, exception) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(what the refused step needs, the part of it the user lacks): a user who may view a
    record but not change it is refused the change, not the view."""
    permissions = getattr(exception, "permissions", None) or admin_page_permissions(request)
    user = getattr(request, "user", None)
    lacking = [perm for perm in permissions if user is None or not user.has_perm(perm)]
    return tuple(permissions), tuple(lacking)


def refusal_explanation(permissions, lacking) -> tuple[str, str]:
    """(what the step needs, who can help), in plain words."""
    if not permissions:
        return "", _(
            "Your role does not include this page. If your work needs it, ask an "
            "Administrator: they give staff their roles."
        )
    if not lacking:
        # Refused for another reason than a role: the record does not allow it.
        return _(
            "Your role allows this kind of page, but not for this record: some records are "
            "read-only for everyone, and verified cases are archived rather than deleted."
        ), ""
    holders = roles_with(*lacking)
    if not holders:
        return _(
            "None of the staff roles may do this: some records are read-only for everyone, "
            "and some changes are kept for superusers."
        ), ""
    needs = ngettext(
        "This needs the %(roles)s role.",
        "This needs one of these roles: %(roles)s.",
        len(holders),
    ) % {"roles": ", ".join(holders)}
    return needs, _(
        "An Administrator gives staff their roles: ask one if your work needs this step."
    )


def site_context(request) -> dict:
    """The admin's own context (header, user links, navigation) for whoever is asking, when
    the request got as far as knowing its user."""
    if getattr(request, "user", None) is None:
        return {}
    return admin.site.each_context(request)


@requires_csrf_token
def permission_denied(request, exception):
    needs, ask = refusal_explanation(*needed_permissions(request, exception))
    context = {**site_context(request), "title": _("Access refused"), "needs": needs, "ask": ask}
    return render(request, "403.html", context, status=403)


@requires_csrf_token
def page_not_found(request, exception):
    # Nothing from the exception or the request: hidden and missing records look the same.
    staff = request.path.startswith(("/admin/", "/api/", "/i18n/"))
    if settings.PUBLIC_SITE_ONLY or (settings.PUBLIC_SITE and not staff):
        # A reader of the public website (website app): its own look, no word of accounts.
        context = {"noindex": settings.PUBLIC_SITE_NOINDEX, "language_next": "/"}
        return render(request, "website/not_found.html", context, status=404)
    context = {**site_context(request), "title": _("Page not found"), "language_next": ""}
    return render(request, "404.html", context, status=404)
