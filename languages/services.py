"""The reader's interface language: what is supported, what a user chose, and remembering it."""

from django.conf import settings
from django.utils import translation

from languages.models import LanguagePreference

# The column that holds a record's name in each interface language; English is the fallback.
NAME_COLUMNS = {"kk": "name_kk", "ru": "name_ru", "zh-hans": "name_zh"}

# The scripts a reader of each interface language reads people's names in first.
NAME_SCRIPTS = {"kk": ("Cyrl",), "ru": ("Cyrl",), "zh-hans": ("Hans", "Hant")}

# Where a signed-in user's chosen language rides for the rest of their session (set at sign-in
# from their account, so that no page view reads the account for it).
SESSION_KEY = "casetracker_language"


def supported(language: str | None) -> str | None:
    """``language`` if it is one of the interface languages (settings.LANGUAGES), else None."""
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else None


def local_name(record, english: str = "name_en", language: str | None = None) -> str:
    """``record``'s name in the interface language where it has one, else its English name.
    ``record`` is a model instance or a dict of its columns (``values()``). Names of people are
    never translated: this is for places, organisations and charges."""
    column = NAME_COLUMNS.get(language or translation.get_language())
    if isinstance(record, dict):
        return (column and record.get(column)) or record.get(english) or ""
    return (column and getattr(record, column, "")) or getattr(record, english)


def name_scripts(language: str | None = None) -> tuple[str, ...]:
    """The scripts (ISO 15924) whose spelling of a person's name comes first for a reader of
    ``language`` (the active one by default); none for English: the preferred name leads."""
    return NAME_SCRIPTS.get(language or translation.get_language(), ())


def preferred_language(user) -> str | None:
    """The language ``user`` chose, or None if they never chose one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return supported(
        LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()
    )


def remember(request, language: str) -> None:
    """Store ``language`` on the signed-in user's account and in their session, and use it for
    the rest of this request."""
    language = supported(language)
    if language is None:
        raise ValueError("not an interface language")
    if request.user.is_authenticated:
        LanguagePreference.objects.update_or_create(
            user=request.user, defaults={"language": language}
        )
        request.session[SESSION_KEY] = language
    use(request, language)


def use(request, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()


def apply_at_sign_in(request, user) -> None:
    """At sign-in: the account's language wins; an account without one adopts the language the
    person chose with the switcher before signing in (the cookie), not a browser default."""
    language = preferred_language(user)
    if language is None:
        language = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        if language is None:
            return
        LanguagePreference.objects.create(user=user, language=language)
    request.session[SESSION_KEY] = language
    use(request, language)
