"""TOTP two-factor sign-in for staff (django-otp): the admin login form, enrolment, and the code
page for a session that signed in without one (README "Staff account security").

A staff member with a confirmed device types their code on the admin login page. One without
is signed in by password only, then kept on the enrolment page (SecondFactorMiddleware) until
they scan the QR code and confirm a code. Whether the second factor is required at all is
``settings.REQUIRE_2FA``, read on every request.
"""

from base64 import b32encode

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from casetracker.security import SecurityEvent, record


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def pending_device(user) -> TOTPDevice:
    """The device being set up: the same one on every visit, so the QR code stays put."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def confirm(device: TOTPDevice) -> None:
    device.refresh_from_db()  # verifying the code moved its counter on
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.devices_for_user(device.user, confirmed=False).delete()


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (no image request, no data: URI).
    Dark on a white ground, so that it scans in the admin's dark theme too."""
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308 (segno's own markup; the URL is encoded in the modules)


def typed_key(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for apps that cannot scan."""
    key = b32encode(device.bin_key).decode()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def next_step_url(user) -> str:
    """Where a signed-in, unverified user goes: the code page, or enrolment if they have no
    device yet."""
    return reverse("two-factor-verify" if confirmed_device(user) else "two-factor-enrol")


def open_paths() -> set[str]:
    """The only pages a signed-in, unverified user may open."""
    return {
        reverse("two-factor-enrol"),
        reverse("two-factor-verify"),
        reverse("two-factor-sign-out"),
        # The language switcher is on the enrolment and verification pages too.
        reverse("set_language"),
    }


def second_factor_failed(request, user):
    """A wrong code counts as a failed sign-in: logged, and towards the lockout (django-axes)."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username()},
        request=request,
        second_factor=True,
    )


# --- forms ----------------------------------------------------------------------------------


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Authentication code"))
        widget = forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        )
        super().__init__(max_length=10, widget=widget, **kwargs)

    def to_python(self, value):
        return super().to_python(value).replace(" ", "")


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin login: username, password and, once the user has a device, its code.

    Every failure (wrong password, missing or wrong code, locked out) shows the same message,
    so that the page never tells whether the password was right.
    """

    otp_token = CodeField(
        required=False,
        help_text=_(
            "The 6-digit code from your authenticator app. Leave it empty only if you have not "
            "set one up yet."
        ),
    )
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct %(username)s, password and authentication code for a "
            "staff account. Note that the fields may be case-sensitive."
        ),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        if not settings.REQUIRE_2FA:
            # The local demo signs in with the password alone: no code is asked for, nor
            # mentioned when a sign-in fails.
            del self.fields["otp_token"]
            self.error_messages = {
                **self.error_messages,
                "invalid_login": AdminAuthenticationForm.error_messages["invalid_login"],
            }

    def clean(self):
        cleaned_data = super().clean()  # the password: raises unless it was right
        if "otp_token" not in self.fields:
            return cleaned_data
        user = self.get_user()
        device = confirmed_device(user) if user is not None else None
        if device is None:
            return cleaned_data
        token = cleaned_data.get("otp_token")
        verified = django_otp.verify_token(user, device.persistent_id, token) if token else None
        if verified is None:
            second_factor_failed(self.request, user)
            raise self.get_invalid_login_error()
        # django-otp's user_logged_in receiver marks the session as verified by this device.
        user.otp_device = verified
        return cleaned_data


class TokenForm(forms.Form):
    """A code from the given device (confirmed or still being set up)."""

    otp_token = CodeField()

    def __init__(self, user, device, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.device = user, device

    def clean_otp_token(self):
        token = self.cleaned_data["otp_token"]
        self.verified_device = django_otp.verify_token(self.user, self.device.persistent_id, token)
        if self.verified_device is None:
            raise forms.ValidationError(
                _(
                    "That code is not right. Check the time on your phone, then enter the code "
                    "your app shows now."
                ),
                code="invalid_token",
            )
        return token


# --- views ----------------------------------------------------------------------------------


def _verified(request, device):
    """Mark this session as verified by ``device``, with a new session id, and go on."""
    django_otp.login(request, device)
    request.session.cycle_key()
    target = request.POST.get("next") or request.GET.get("next")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("admin:index")
    return redirect(target)


def _render(request, template, title, **context):
    context = {
        **admin.site.each_context(request),
        # No model list for a user who has not passed the second factor.
        "available_apps": [],
        "is_nav_sidebar_enabled": False,
        "title": title,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        **context,
    }
    return TemplateResponse(request, template, context)


@never_cache
@sensitive_post_parameters("otp_token")
@staff_member_required
def enrol(request):
    """Set up an authenticator app: scan the QR code (or type the key), confirm a code."""
    if confirmed_device(request.user) is not None:
        # Enrolment is once: a stolen password must not be enough to add a device.
        return redirect("two-factor-verify")
    device = pending_device(request.user)
    form = TokenForm(request.user, device, request.POST or None)
    if form.is_valid():
        confirm(device)
        record(SecurityEvent.Kind.OTP_ENROLLED, request, request.user.get_username())
        return _verified(request, device)
    if form.errors:
        record(
            SecurityEvent.Kind.OTP_FAILED,
            request,
            request.user.get_username(),
            "while setting up two-factor sign-in",
        )
    return _render(
        request,
        "two_factor/enrol.html",
        gettext("Set up two-factor sign-in"),
        form=form,
        qr_svg=qr_code_svg(device),
        secret=typed_key(device),
    )


@never_cache
@sensitive_post_parameters("otp_token")
@staff_member_required
def verify(request):
    """Enter a code for a session that signed in without one."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect("two-factor-enrol")
    if request.user.is_verified():
        return redirect("admin:index")
    form = TokenForm(request.user, device, request.POST or None)
    if form.is_valid():
        return _verified(request, form.verified_device)
    if form.errors:
        second_factor_failed(request, request.user)
    title = gettext("Enter your authentication code")
    return _render(request, "two_factor/verify.html", title, form=form)
