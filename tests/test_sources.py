"""Citations tie a source to one subject; evidence files are fingerprinted, fixed and guarded."""

import hashlib
import os
from pathlib import PurePath

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sources.models import Citation, EvidenceFile
from tests.factories import (
    make_case,
    make_event,
    make_person,
    make_source,
    make_user,
    raises_constraint,
)

pytestmark = pytest.mark.django_db

ORIGINAL_NAME = "Kanat Yerezhep testimony.pdf"


def random_content(size=200 * 1024):
    return os.urandom(size)


def make_evidence(content=None, name=ORIGINAL_NAME, content_type="application/pdf", **kw):
    upload = SimpleUploadedFile(
        name, random_content() if content is None else content, content_type
    )
    return EvidenceFile.objects.create(
        source=kw.pop("source", None) or make_source(), file=upload, **kw
    )


def stored_row(evidence):
    return (
        EvidenceFile.objects.filter(pk=evidence.pk)
        .values_list("file", "sha256", "size", "original_name")
        .get()
    )


def download_url(evidence):
    return reverse("evidence-download", kwargs={"uid": evidence.uid})


def body_of(response):
    try:
        return b"".join(response.streaming_content)
    finally:
        response.close()


# --- citations -------------------------------------------------------------------------------


def test_citation_without_a_subject_is_refused():
    source = make_source()
    with raises_constraint("sources_citation_exactly_one_subject"):
        Citation.objects.create(source=source, claim="Detained in 2019.")


@pytest.mark.parametrize(
    "subjects",
    [("case", "person"), ("case", "event"), ("event", "person"), ("case", "event", "person")],
)
def test_citation_of_more_than_one_subject_is_refused(subjects):
    event = make_event()
    available = {"case": event.case, "event": event, "person": event.case.person}
    source = make_source()
    with raises_constraint("sources_citation_exactly_one_subject"):
        Citation.objects.create(
            source=source, claim="Detained in 2019.", **{s: available[s] for s in subjects}
        )


@pytest.mark.parametrize(
    ("subject", "make_subject"),
    [("case", make_case), ("event", make_event), ("person", make_person)],
)
def test_citation_of_exactly_one_subject_is_stored(subject, make_subject):
    citation = Citation.objects.create(
        source=make_source(), claim="Detained in 2019.", **{subject: make_subject()}
    )
    assert Citation.objects.filter(pk=citation.pk).exists()


def test_full_clean_refuses_a_citation_of_two_subjects_with_the_constraint_message():
    event = make_event()
    citation = Citation(source=make_source(), claim="x", case=event.case, event=event)
    with pytest.raises(ValidationError, match="exactly one case, event or person"):
        citation.full_clean()


# --- evidence files --------------------------------------------------------------------------


def test_upload_records_the_sha256_of_the_content():
    content = random_content()
    evidence = make_evidence(content)
    assert EvidenceFile.objects.get(pk=evidence.pk).sha256 == hashlib.sha256(content).hexdigest()


def test_upload_records_the_size_of_the_content():
    content = random_content()
    evidence = make_evidence(content)
    assert EvidenceFile.objects.get(pk=evidence.pk).size == len(content)


def test_upload_keeps_the_original_file_name():
    evidence = make_evidence()
    assert EvidenceFile.objects.get(pk=evidence.pk).original_name == ORIGINAL_NAME


def test_upload_keeps_the_content_type_claimed_by_the_browser():
    evidence = make_evidence(content_type="image/jpeg", name="scan.jpg")
    assert EvidenceFile.objects.get(pk=evidence.pk).content_type == "image/jpeg"


def test_stored_file_name_does_not_reveal_the_original_name():
    evidence = make_evidence()
    stored_name = EvidenceFile.objects.get(pk=evidence.pk).file.name
    assert PurePath(ORIGINAL_NAME).stem not in stored_name
    assert "Kanat" not in stored_name
    assert stored_name.startswith("evidence/")


def test_two_uploads_of_the_same_name_are_stored_under_different_names():
    first, second = make_evidence(), make_evidence()
    assert first.file.name != second.file.name


def test_stored_file_holds_exactly_the_uploaded_bytes():
    content = random_content()
    evidence = EvidenceFile.objects.get(pk=make_evidence(content).pk)
    with evidence.file.open("rb") as handle:
        assert handle.read() == content


def test_replacing_the_file_of_an_evidence_file_is_refused():
    evidence = make_evidence()
    before = stored_row(evidence)
    evidence.file = SimpleUploadedFile("forged.pdf", random_content(), "application/pdf")
    with pytest.raises(ValidationError):
        evidence.save()
    assert stored_row(evidence) == before


def test_changing_the_fingerprint_of_an_evidence_file_is_refused():
    evidence = make_evidence()
    before = stored_row(evidence)
    evidence.sha256 = "0" * 64
    with pytest.raises(ValidationError):
        evidence.save()
    assert stored_row(evidence) == before


def test_changing_the_description_of_an_evidence_file_is_allowed():
    evidence = make_evidence()
    before = stored_row(evidence)
    evidence.description = "Scan of the detention notice, page 1."
    evidence.save()
    stored = EvidenceFile.objects.get(pk=evidence.pk)
    assert stored.description == "Scan of the detention notice, page 1."
    assert stored_row(evidence) == before


def test_description_can_be_changed_on_a_freshly_loaded_evidence_file():
    evidence = EvidenceFile.objects.get(pk=make_evidence().pk)
    evidence.description = "Page 2."
    evidence.save()
    assert EvidenceFile.objects.get(pk=evidence.pk).description == "Page 2."


# --- download --------------------------------------------------------------------------------


def test_superuser_downloads_the_exact_bytes_as_an_attachment(admin_client):
    content = random_content()
    evidence = make_evidence(content)
    response = admin_client.get(download_url(evidence))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert body_of(response) == content


def test_download_is_named_after_the_original_file(admin_client):
    response = admin_client.get(download_url(make_evidence()))
    disposition = response["Content-Disposition"]
    body_of(response)
    assert "testimony.pdf" in disposition


def test_anonymous_user_is_redirected_to_the_admin_login(client):
    evidence = make_evidence()
    response = client.get(download_url(evidence))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_view_permission_gets_not_found(client):
    client.force_login(make_user())
    response = client.get(download_url(make_evidence()))
    assert response.status_code == 404


def test_staff_with_the_view_permission_can_download(client):
    user = make_user()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="sources", codename="view_evidencefile")
    )
    client.force_login(user)
    content = random_content()
    response = client.get(download_url(make_evidence(content)))
    assert response.status_code == 200
    assert body_of(response) == content


def test_unknown_evidence_id_is_not_found(admin_client):
    evidence = make_evidence()
    url = download_url(evidence)
    EvidenceFile.objects.filter(pk=evidence.pk).delete()
    assert admin_client.get(url).status_code == 404
