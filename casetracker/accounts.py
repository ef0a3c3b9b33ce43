"""Staff accounts: the user admin, and the record of every change made to an account there.

Nobody changes their own account's roles, staff, superuser or active status, or sets their own
password here: their own password only through "Change password", which asks for the current
one. Every change to someone else's account (created, a role or status granted or removed, the
password set, activated, deactivated) is written as an :class:`AccountChange` (a link of the
audit chain, read by the four-eyes rule) and a security event naming who and whom, in the same
transaction as the change. Administrators see the latest on the admin home page.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import (
    ReadOnlyPasswordHashField,
    ReadOnlyPasswordHashWidget,
    UserChangeForm,
)
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters

from casetracker.admin import HiddenIsNotFound, ReadOnlyAdmin
from casetracker.models import AccountChange
from casetracker.roles import ROLES
from casetracker.security import SecurityEvent, record

Kind = AccountChange.Kind

# The account's own flags, and the roles (status) each stands for in the record.
STATUS_ROLES = {"is_staff": AccountChange.STAFF, "is_superuser": AccountChange.SUPERUSER}
# What nobody may change on their own account.
SELF_LOCKED = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")

SECURITY_KIND = {
    Kind.CREATED: SecurityEvent.Kind.ACCOUNT_CREATED,
    Kind.ROLE_GRANTED: SecurityEvent.Kind.ROLES_CHANGED,
    Kind.ROLE_REMOVED: SecurityEvent.Kind.ROLES_CHANGED,
    Kind.PASSWORD_RESET: SecurityEvent.Kind.PASSWORD_RESET,
    Kind.ACTIVATED: SecurityEvent.Kind.ACCOUNT_STATUS,
    Kind.DEACTIVATED: SecurityEvent.Kind.ACCOUNT_STATUS,
}
# The security log's detail, after "whom=<username>": for machines and auditors, not translated.
DETAIL = {
    Kind.CREATED: "created",
    Kind.ROLE_GRANTED: "granted={role}",
    Kind.ROLE_REMOVED: "removed={role}",
    Kind.PASSWORD_RESET: "password set",
    Kind.ACTIVATED: "activated",
    Kind.DEACTIVATED: "deactivated",
}


def record_change(request, account, kind: str, role: str = "") -> AccountChange:
    """Record one change to ``account`` by the signed-in user: its AccountChange row and its
    security event (who = the actor's username, detail = whom and what), in the caller's
    transaction, so that a change that is rolled back leaves neither."""
    actor = request.user
    with transaction.atomic():
        change = AccountChange.objects.create(actor=actor, account=account, kind=kind, role=role)
        detail = f"whom={account.get_username()} " + DETAIL[kind].format(role=role)
        record(SECURITY_KIND[kind], request, actor.get_username(), detail)
    return change


def granted_roles(account) -> set[str]:
    """The account's roles (groups) and single permissions, as AccountChange names them."""
    groups = set(account.groups.values_list("name", flat=True))
    permissions = account.user_permissions.values_list("content_type__app_label", "codename")
    return groups | {AccountChange.permission(app, codename) for app, codename in permissions}


def is_own_account(request, obj) -> bool:
    return obj is not None and obj.pk == request.user.pk


class OwnPasswordWidget(ReadOnlyPasswordHashWidget):
    """On one's own account, the password button leads to "Change password" (which asks for
    the current password), not to the form that sets someone else's."""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["password_url"] = reverse("admin:password_change")
        context["button_label"] = _("Change password")
        return context


class OwnAccountForm(UserChangeForm):
    password = ReadOnlyPasswordHashField(
        label=_("Password"),
        widget=OwnPasswordWidget,
        help_text=_(
            "Change your own password with “Change password”: it asks for the current one."
        ),
    )


def grantable_permissions():
    """The permissions worth granting: those the roles hold, and those of the records the
    admin shows, on their own pages or inside another's. Libraries' own models that nobody
    opens here (an unused API key table, sign-in lockout rows, second-factor devices, language
    choices) grant nothing a person could use, so they are not offered."""
    models = set(admin.site._registry)
    for model_admin in admin.site._registry.values():
        models.update(inline.model for inline in model_admin.inlines)
    shown = ContentType.objects.get_for_models(*models, for_concrete_models=False)
    held = Q()
    for code in {code for codes in ROLES.values() for code in codes}:
        app_label, codename = code.split(".")
        held |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(Q(content_type__in=shown.values()) | held)


class GrantablePermissions:
    """Offers only :func:`grantable_permissions` in a role's or an account's permission list."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name in ("permissions", "user_permissions"):
            kwargs["queryset"] = grantable_permissions().select_related("content_type")
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)


class RoleAdmin(GrantablePermissions, GroupAdmin):
    pass


class StaffUserAdmin(HiddenIsNotFound, GrantablePermissions, UserAdmin):
    """User admin for Administrators: they manage staff accounts and roles, but only a
    superuser can grant superuser status or single permissions, or touch a superuser.
    Nobody, superusers included, changes their own roles, status or password here."""

    restricted_fields = ("is_superuser", "user_permissions")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                title,
                {**opts, "fields": [f for f in opts["fields"] if f not in self.restricted_fields]},
            )
            for title, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        # Read-only fields are left out of the form: a forged POST cannot change them.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, *SELF_LOCKED) if is_own_account(request, obj) else readonly

    def get_form(self, request, obj=None, **kwargs):
        if is_own_account(request, obj):
            kwargs["form"] = OwnAccountForm
        return super().get_form(request, obj, **kwargs)

    def get_queryset(self, request):
        users = super().get_queryset(request)
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    # --- recording changes (inside the admin's transaction) ---------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            record_change(request, obj, Kind.CREATED)
            return
        fields = ("is_active", *STATUS_ROLES)
        before = User._base_manager.filter(pk=obj.pk).values(*fields).get()
        changed = [field for field in fields if before[field] != getattr(obj, field)]
        if changed and is_own_account(request, obj):
            raise PermissionDenied  # the form cannot do this (read-only fields); refuse anyway
        super().save_model(request, obj, form, change)
        for field in changed:
            now = getattr(obj, field)
            if field == "is_active":
                record_change(request, obj, Kind.ACTIVATED if now else Kind.DEACTIVATED)
            else:
                kind = Kind.ROLE_GRANTED if now else Kind.ROLE_REMOVED
                record_change(request, obj, kind, STATUS_ROLES[field])

    def save_related(self, request, form, formsets, change):
        # Groups and single permissions are saved here, after save_model(): compare them here.
        account = form.instance
        before = granted_roles(account) if change else set()
        super().save_related(request, form, formsets, change)
        after = granted_roles(account)
        if before != after and is_own_account(request, account):
            raise PermissionDenied
        for role in sorted(after - before):
            record_change(request, account, Kind.ROLE_GRANTED, role)
        for role in sorted(before - after):
            record_change(request, account, Kind.ROLE_REMOVED, role)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        """Set someone else's password (or disable it). One's own: "Change password"."""
        account = self.get_object(request, unquote(id))
        if is_own_account(request, account):
            raise PermissionDenied
        with transaction.atomic(using=router.db_for_write(User)):
            response = super().user_change_password(request, id, form_url)
            if account is not None and request.method == "POST":
                stored = User._base_manager.filter(pk=account.pk).values_list("password", flat=True)
                if stored.get() != account.password:
                    record_change(request, account, Kind.PASSWORD_RESET)
        return response


class AccountChangeAdmin(ReadOnlyAdmin):
    """Who changed which staff account, and how: read-only, for superusers and Administrators."""

    list_display = ("created_at", "actor", "kind", "role", "account")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    list_filter = ("kind", "created_at")
    list_select_related = ("actor", "account")
    search_fields = ("actor__username", "account__username", "role")
    date_hierarchy = "created_at"
    list_per_page = 100


admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, RoleAdmin)
admin.site.register(AccountChange, AccountChangeAdmin)
