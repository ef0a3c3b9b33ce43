"""Portraits on the public website (website.portraits): the photograph staff chose among the
evidence files, shown only with the family's consent and only for a published case, served as
a copy encoded again from its pixels: the test reads the served bytes and finds none of the
original's metadata."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from cases import services
from people.models import Person
from sources.models import EvidenceFile
from tests.factories import cited_case, fresh, make_source
from website import portraits
from website.models import PublicPortrait

pytestmark = pytest.mark.django_db

GPS = 0x8825
SECRETS = [b"SentinelMaker", b"SentinelModel", b"zqleak", b"2019:05:01", b"SentinelICC"]


def photo(orientation: int = 1, size=(1200, 900)) -> bytes:
    """A JPEG with everything a phone puts in one: GPS position, device, date, description,
    comment, colour profile; left half red, right half blue (to see it turned upright)."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = "SentinelMaker"
    exif[0x0110] = "SentinelModel"
    exif[0x0132] = "2019:05:01 10:00:00"
    exif[0x010E] = "zqleak description of the family"
    exif[0x0112] = orientation
    exif[GPS] = {1: "N", 2: (43.0, 15.0, 30.0), 3: "E", 4: (76.0, 53.0, 10.0)}
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif,
        icc_profile=b"SentinelICC" * 10,
        comment=b"zqleak comment",
        quality=95,
    )
    return out.getvalue()


def with_portrait(data_entry, verifier, content=None, *, consent=True, publish=True):
    """A case whose person has ``content`` as portrait, taken through review (and published)."""
    case = cited_case(data_entry)
    evidence = EvidenceFile.objects.create(
        source=make_source(),
        file=SimpleUploadedFile("family photo.jpg", content or photo(), "image/jpeg"),
    )
    Person.objects.filter(pk=case.person_id).update(portrait=evidence, portrait_consent=consent)
    services.submit_for_review(fresh(case), data_entry, "Ready for review.")
    services.verify(fresh(case), verifier)
    if publish:
        services.publish(fresh(case), verifier)
    return fresh(case)


def served(client, case):
    return client.get(f"/people/{case.person.uid}/portrait.jpg")


def test_the_original_carries_the_metadata_the_copy_must_lose():
    original = Image.open(io.BytesIO(photo()))
    assert original.getexif().get_ifd(GPS)
    assert original.info.get("icc_profile") and original.info.get("comment")


def test_the_portrait_is_served_without_any_metadata_of_the_original(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier)
    response = served(client, case)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    data = response.content
    for secret in SECRETS:
        assert secret not in data, secret
    copy = Image.open(io.BytesIO(data))
    assert copy.format == "JPEG"
    assert len(copy.getexif()) == 0
    assert not copy.getexif().get_ifd(GPS)
    assert {"exif", "icc_profile", "comment", "xmp"}.isdisjoint(copy.info)
    assert max(copy.size) <= portraits.PORTRAIT_SIZE


def test_the_portrait_is_turned_upright_by_its_orientation_before_the_tag_goes(
    client, data_entry, verifier
):
    case = with_portrait(data_entry, verifier, photo(orientation=6))  # turned a quarter
    copy = Image.open(io.BytesIO(served(client, case).content)).convert("RGB")
    width, height = copy.size
    assert height > width  # 1200×900 on its side
    top, bottom = copy.getpixel((width // 2, 5)), copy.getpixel((width // 2, height - 5))
    assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0]  # red above, blue below


def test_the_case_page_shows_the_portrait_with_a_text_alternative(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier)
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert f'src="/people/{case.person.uid}/portrait.jpg"' in page
    assert 'alt="Photograph of ' in page


def test_without_the_familys_consent_there_is_no_portrait(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier, consent=False)
    assert served(client, case).status_code == 404
    assert "portrait.jpg" not in client.get(f"/cases/{case.reference}/").content.decode()


def test_a_case_not_published_shows_no_portrait(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier, publish=False)
    assert served(client, case).status_code == 404


def test_consent_withdrawn_takes_the_portrait_away_at_once(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier)
    assert served(client, case).status_code == 200
    person = Person.objects.get(pk=case.person_id)
    person.portrait_consent = False
    person.save()  # back to review: the page keeps the verified version, not the photograph
    assert served(client, case).status_code == 404


def test_a_file_that_is_no_picture_is_not_served(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier, b"%PDF-1.4 not a photograph")
    assert served(client, case).status_code == 404
    assert not PublicPortrait.objects.exists()


def test_the_api_says_whether_there_is_a_portrait_and_nothing_of_the_file(data_entry, verifier):
    from api.public import PersonSerializer

    case = with_portrait(data_entry, verifier)
    document = PersonSerializer(fresh(case).person, context={}).data
    assert document["portrait"] is True
    evidence = Person.objects.get(pk=case.person_id).portrait
    assert str(evidence.uid) not in str(document) and evidence.sha256 not in str(document)


def test_consent_needs_a_photograph_and_a_photograph_must_be_an_image(data_entry):
    person = cited_case(data_entry).person
    person.portrait_consent = True
    with pytest.raises(ValidationError) as refused:
        person.full_clean()
    assert "portrait_consent" in refused.value.message_dict
    person.portrait = EvidenceFile.objects.create(
        source=make_source(),
        file=SimpleUploadedFile("notice.pdf", b"%PDF-1.4", "application/pdf"),
    )
    with pytest.raises(ValidationError) as refused:
        person.full_clean()
    assert "portrait" in refused.value.message_dict


def test_sync_writes_the_shown_portraits_and_removes_the_others(data_entry, verifier):
    shown = with_portrait(data_entry, verifier)
    hidden = with_portrait(data_entry, verifier, consent=False)
    PublicPortrait.objects.create(
        person_id=hidden.person_id, image=b"old", source_sha256="0" * 64, written_at=timezone.now()
    )
    assert portraits.sync() == {"portraits": 1, "removed": 1}
    assert list(PublicPortrait.objects.values_list("person_id", flat=True)) == [shown.person_id]


def test_a_replaced_photograph_is_encoded_again(client, data_entry, verifier):
    case = with_portrait(data_entry, verifier)
    first = served(client, case).content
    other = EvidenceFile.objects.create(
        source=make_source(),
        file=SimpleUploadedFile("other.jpg", photo(size=(300, 600)), "image/jpeg"),
    )
    Person.objects.filter(pk=case.person_id).update(portrait=other)
    second = served(client, case).content
    assert first != second
    assert Image.open(io.BytesIO(second)).size == (300, 600)


def test_the_public_website_alone_serves_the_copies_written_for_it(
    client, settings, data_entry, verifier
):
    case = with_portrait(data_entry, verifier)
    settings.PUBLIC_SITE_ONLY = True
    assert served(client, case).status_code == 404  # nothing written for it yet
    portraits.sync()
    response = served(client, case)
    assert response.status_code == 200
    assert all(secret not in response.content for secret in SECRETS)
