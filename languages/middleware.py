from django.conf import settings

from languages import services


class AccountLanguageMiddleware:
    """After Django's LocaleMiddleware (which reads the cookie, then Accept-Language): a signed-in
    user's own choice, carried in their session since sign-in, wins. The answer refreshes the
    language cookie so that the next sign-in page, after sign-out, speaks the same language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._session_language(request)
        if language:
            services.use(request, language)
        response = self.get_response(request)
        # Read again: signing in or choosing a language during this request may have set it.
        language = self._session_language(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response

    @staticmethod
    def _session_language(request):
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is None or user is None or not user.is_authenticated:
            return None
        return services.supported(session.get(services.SESSION_KEY))
