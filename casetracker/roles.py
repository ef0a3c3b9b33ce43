"""Staff roles as Django groups. ``setup_roles`` makes them exist with exactly these rights.

Deny by default: a role has only the model permissions listed here. Nobody but a superuser
deletes case records (records are archived, not deleted).
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

DATA_ENTRY = "Data entry"
VERIFIER = "Verifier"
ADMINISTRATOR = "Administrator"

# Records staff enter and correct.
CASE_RECORDS = [
    "people.person",
    "people.personname",
    "people.affiliation",
    "people.relationship",
    "people.organisation",
    "cases.case",
    "cases.detentionevent",
    "sources.source",
    "sources.citation",
    "sources.evidencefile",
]
# Shared lists that shape every case: kept tidy by administrators.
VOCABULARIES = ["cases.location", "cases.charge", "cases.incident"]


def _perms(models: list[str], actions: tuple[str, ...]) -> list[str]:
    return [f"{m.split('.')[0]}.{action}_{m.split('.')[1]}" for m in models for action in actions]


ROLES: dict[str, list[str]] = {
    DATA_ENTRY: _perms(CASE_RECORDS, ("view", "add", "change")) + _perms(VOCABULARIES, ("view",)),
    VERIFIER: _perms(CASE_RECORDS, ("view", "add", "change"))
    + _perms(VOCABULARIES, ("view",))
    + _perms(["cases.incident"], ("add", "change")),
    ADMINISTRATOR: _perms(CASE_RECORDS, ("view",))
    + _perms(VOCABULARIES, ("view", "add", "change", "delete"))
    # Users and their roles, but not what a role may do: changing a group's permissions, or
    # making anyone a superuser, is for superusers (casetracker.admin.StaffUserAdmin).
    + _perms(["auth.user"], ("view", "add", "change"))
    + _perms(["auth.group"], ("view",)),
}


@transaction.atomic
def setup_roles() -> dict[str, int]:
    """Create or correct every role's group; returns the number of permissions per role."""
    counts = {}
    for role, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = set()
        for code in codes:
            app_label, codename = code.split(".")
            wanted.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        if set(group.permissions.all()) != wanted:
            group.permissions.set(wanted)
        counts[role] = len(wanted)
    return counts
