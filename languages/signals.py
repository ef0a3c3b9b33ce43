from django.contrib.auth.signals import user_logged_in

from languages import services


def on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        services.apply_at_sign_in(request, user)


def connect_receivers():
    user_logged_in.connect(on_login, dispatch_uid="languages.login")
