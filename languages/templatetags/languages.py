from django import template
from django.conf import settings
from django.utils.translation import get_language, get_language_info

from casetracker.edtf import edtf_in_words

register = template.Library()


@register.inclusion_tag("languages/switcher.html", takes_context=True)
def language_switcher(context):
    """The language buttons shown on every page: each language named in itself."""
    request = context.get("request")
    current = get_language()
    # A page may say where the switcher leads back to: the 404 page gives "" (the browser's
    # Referer then decides), so that nothing on it depends on the address asked for.
    if "language_next" in context:
        next_url = context["language_next"]
    else:
        next_url = request.get_full_path() if request is not None else ""
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "next": next_url,
        "languages": [
            {
                "code": code,
                "name": get_language_info(code)["name_local"],
                "current": code == current,
            }
            for code, _name in settings.LANGUAGES
        ],
    }


@register.filter
def in_words(value):
    """An EDTF date as a reader says it, in the page's language ("about April 2024")."""
    return edtf_in_words(value)
