from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from languages import services


@require_POST
def set_language(request):
    """Django's set_language (cookie, safe ``next`` redirect), and for a signed-in user the
    choice stored on their account too."""
    response = django_set_language(request)
    language = services.supported(request.POST.get("language"))
    if language:
        services.remember(request, language)
    return response
