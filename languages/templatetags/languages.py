from django import template
from django.conf import settings
from django.utils.translation import get_language, get_language_info

register = template.Library()


@register.inclusion_tag("languages/switcher.html", takes_context=True)
def language_switcher(context):
    """The language buttons shown on every page: each language named in itself."""
    request = context.get("request")
    current = get_language()
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path() if request is not None else "",
        "languages": [
            {
                "code": code,
                "name": get_language_info(code)["name_local"],
                "current": code == current,
            }
            for code, _name in settings.LANGUAGES
        ],
    }
