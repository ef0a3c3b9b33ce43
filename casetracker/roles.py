"""Staff roles as Django groups. ``setup_roles`` makes them exist with exactly these rights.

Deny by default: a role has only the permissions listed here. Data entry records cases and
submits them for review, and adds places below county level; verifiers also verify, publish
and archive, and see sensitive cases; administrators manage users, roles and vocabularies.
Nobody but a superuser deletes case records (verified records are archived, never deleted).
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
# Places below county level (townships, villages, facilities): staff add them while entering
# events, and change those they added; verifiers also correct those others added. Countries,
# regions, prefectures and counties stay with administrators (cases.models.Location.check_editor).
PLACES_BELOW_COUNTY = ["cases.add_location", "cases.change_location"]
CURATE_PLACES = ["cases.curate_location"]
GAZETTEER = ["cases.manage_gazetteer"]


def _perms(models: list[str], actions: tuple[str, ...]) -> list[str]:
    return [f"{m.split('.')[0]}.{action}_{m.split('.')[1]}" for m in models for action in actions]


# The verification workflow (cases.services) and the need-to-know rule.
WORKFLOW = [
    "cases.verify_case",
    "cases.publish_case",
    "cases.archive_case",
    "sources.archive_source",
]
SEE_SENSITIVE = ["cases.view_sensitive_case"]
# The duplicate review queue: data entry reviews pairs and marks different people; merging
# two records is a verifier's decision (people.services.merge_people).
DUPLICATE_REVIEW = ["people.view_duplicatecandidate", "people.change_duplicatecandidate"]
MERGE = ["people.merge_person"]
WORKFLOW_LOG = ["cases.view_casetransition"]
# Exports (exports.services): a staff export of unpublished cases, and the export log.
EXPORT_UNPUBLISHED = ["exports.export_unpublished", "exports.view_exportlog"]
# Bulk import of case lists (imports.services): upload, preview, confirm, see past imports.
IMPORTS = ["imports.add_importbatch", "imports.view_importbatch"]
# UN submissions (submissions app): data entry records a family's consent and follows the
# tracker; verifiers keep the tracker and generate drafts of verified cases.
UN_CONSENT = [
    "submissions.view_submissionconsent",
    "submissions.add_submissionconsent",
    "submissions.change_submissionconsent",
]
UN_SUBMISSIONS = [
    "submissions.view_submission",
    "submissions.add_submission",
    "submissions.change_submission",
    "submissions.generate_draft",
    "submissions.view_draftlog",
]

ROLES: dict[str, list[str]] = {
    DATA_ENTRY: _perms(CASE_RECORDS, ("view", "add", "change"))
    + _perms(VOCABULARIES, ("view",))
    + PLACES_BELOW_COUNTY
    + WORKFLOW_LOG
    + IMPORTS
    + DUPLICATE_REVIEW
    + UN_CONSENT
    + ["submissions.view_submission"],
    VERIFIER: _perms(CASE_RECORDS, ("view", "add", "change"))
    + _perms(VOCABULARIES, ("view",))
    + _perms(["cases.incident"], ("add", "change"))
    + PLACES_BELOW_COUNTY
    + CURATE_PLACES
    + WORKFLOW
    + SEE_SENSITIVE
    + WORKFLOW_LOG
    + IMPORTS
    + DUPLICATE_REVIEW
    + MERGE
    + EXPORT_UNPUBLISHED
    + UN_CONSENT
    + UN_SUBMISSIONS,
    ADMINISTRATOR: _perms(CASE_RECORDS, ("view",))
    + SEE_SENSITIVE
    + WORKFLOW_LOG
    + ["people.view_duplicatecandidate"]
    + _perms(VOCABULARIES, ("view", "add", "change", "delete"))
    + GAZETTEER
    # Users and their roles, but not what a role may do: changing a group's permissions, or
    # making anyone a superuser, is for superusers (casetracker.accounts.StaffUserAdmin).
    + _perms(["auth.user"], ("view", "add", "change"))
    + _perms(["auth.group"], ("view",))
    # Partner groups, their tokens (issue, revoke) and what they asked the API.
    + _perms(["api.partner"], ("view", "add", "change"))
    + _perms(["api.partnertoken"], ("view", "change"))
    + _perms(["api.apirequest"], ("view",))
    # Who exported what (exports.models.ExportLog), who generated which UN draft.
    + _perms(["exports.exportlog"], ("view",))
    + ["submissions.view_submission", "submissions.view_draftlog"]
    # The security log: sign-ins, lockouts, refused access (casetracker.security).
    + _perms(["casetracker.securityevent"], ("view",))
    # Who changed which staff account: created, re-roled, password set (casetracker.accounts).
    + _perms(["casetracker.accountchange"], ("view",))
    # The public website's methodology page, in each language, and its data downloads.
    + _perms(["website.methodology"], ("view", "add", "change"))
    + ["website.view_publicdownload"]
    # The audit chain and its head, to keep a copy outside the server (casetracker.integrity).
    + _perms(["casetracker.auditlink"], ("view",))
    # Every staff member follows their own background jobs (jobs.admin); these see them all.
    + ["jobs.view_every_job", "jobs.run_maintenance"],
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
