"""The gazetteer below prefecture level: Xinjiang's county-level divisions ship with the project
(cases/data/gazetteer.csv, cases 0008), and staff add townships, villages and facilities."""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from cases.data import gazetteer
from cases.models import FacilityType, Location, LocationKind
from casetracker import integrity
from casetracker.audit import acting_as
from casetracker.integrity import verify_chain
from casetracker.roles import DATA_ENTRY
from tests.admin_forms import AdminForm, assert_saved, errors_of
from tests.factories import make_location, staff_in

pytestmark = pytest.mark.django_db

XINJIANG = "Xinjiang Uyghur Autonomous Region"
ILI = "Ili Kazakh Autonomous Prefecture"
SHIPPED = [row for row in gazetteer.read_rows() if row.kind == LocationKind.COUNTY]
GAZETTEER_REFUSED = (
    "Only Administrators add or change countries, regions, prefectures and counties. "
    "Add a township, village or facility instead."
)


def place(name_en, parent=None):
    query = Location.objects.filter(name_en=name_en)
    return query.get(parent__name_en=parent) if parent else query.get()


def counties():
    xinjiang = place(XINJIANG)
    return Location.objects.within(xinjiang).filter(kind=LocationKind.COUNTY)


def migrated_apps():
    """The models as the migrations know them: what the data migration runs on."""
    return MigrationLoader(connection).project_state().apps


# --- what ships ------------------------------------------------------------------------------


def test_every_county_level_division_of_xinjiang_is_there_after_migrate():
    assert 100 <= counties().count() == len(SHIPPED) <= 120


@pytest.mark.parametrize(
    ("name_zh", "name_en", "parent", "name_kk", "name_ru"),
    [
        ("伊宁市", "Yining (Ghulja)", ILI, "Құлжа қаласы", "Кульджа (Инин)"),
        ("伊宁县", "Yining County", ILI, "Құлжа ауданы", "уезд Инин"),
        ("阿勒泰市", "Altay", "Altay Prefecture", "Алтай қаласы", "Алтай"),
        (
            "塔城市",
            "Tacheng (Chuguchak)",
            "Tacheng Prefecture",
            "Шәуешек қаласы",
            "Чугучак (Тачэн)",
        ),
        ("石河子市", "Shihezi", XINJIANG, "", "Шихэцзы"),
    ],
)
def test_a_county_level_division_has_its_names_and_parent(
    name_zh, name_en, parent, name_kk, name_ru
):
    county = Location.objects.get(name_zh=name_zh)
    assert (county.name_en, county.parent.name_en, county.name_kk, county.name_ru) == (
        name_en,
        parent,
        name_kk,
        name_ru,
    )
    assert county.kind == LocationKind.COUNTY


def test_ili_prefecture_has_its_three_cities_and_eight_counties():
    assert set(place(ILI).children.values_list("name_zh", flat=True)) == {
        "伊宁市",
        "奎屯市",
        "霍尔果斯市",
        "伊宁县",
        "察布查尔锡伯自治县",
        "霍城县",
        "巩留县",
        "新源县",
        "昭苏县",
        "特克斯县",
        "尼勒克县",
    }


def test_every_county_lies_in_a_prefecture_or_directly_in_the_region():
    parents = set(counties().values_list("parent__kind", flat=True))
    assert parents == {LocationKind.PREFECTURE, LocationKind.REGION}
    direct = counties().filter(parent__kind=LocationKind.REGION)
    assert set(direct.values_list("name_en", flat=True)) >= {"Shihezi", "Aral", "Kokdala"}


def test_every_county_has_the_names_the_file_ships():
    stored = {
        (p.parent.name_en, p.name_en): (p.name_kk, p.name_zh, p.name_ru)
        for p in counties().select_related("parent")
    }
    for row in SHIPPED:
        assert stored[(row.parent, row.name_en)] == (row.name_kk, row.name_zh, row.name_ru)
        assert row.name_zh and row.name_ru


def test_county_seats_lie_in_xinjiang_and_only_where_known():
    mapped = counties().exclude(latitude=None)
    assert mapped.count() == sum(row.latitude is not None for row in SHIPPED) >= 100
    for lat, lng in mapped.values_list("latitude", "longitude"):
        assert Decimal(34) < lat < Decimal(50) and Decimal(73) < lng < Decimal(97)
    yining = place("Yining (Ghulja)", ILI)
    assert (yining.latitude, yining.longitude) == (Decimal("43.907"), Decimal("81.275"))
    assert counties().get(name_zh="和安县").latitude is None  # created in 2024: no seat known


def test_the_shipped_prefectures_and_region_have_russian_names():
    assert place(ILI).name_ru == "Или-Казахский автономный округ"
    assert place(XINJIANG).name_ru == "Синьцзян-Уйгурский автономный район"
    prefectures = Location.objects.filter(kind=LocationKind.PREFECTURE, parent__name_en=XINJIANG)
    assert prefectures.count() == 14
    assert not prefectures.filter(name_ru="").exists()


def test_a_county_lies_within_its_prefecture():
    assert Location.objects.within(place(ILI)).filter(name_en="Yining (Ghulja)").exists()


def test_a_place_is_labelled_with_where_it_lies():
    camp = make_location(
        "Camp No. 3",
        LocationKind.FACILITY,
        place("Yining County", ILI),
        facility_type=FacilityType.INTERNMENT_CAMP,
    )
    assert place("Yining (Ghulja)", ILI).label == f"Yining (Ghulja) — {ILI}"
    assert camp.label == f"Camp No. 3 — Yining County, {ILI}"
    assert place("China").label == "China"


# --- the loader --------------------------------------------------------------------------------


def test_the_chain_verifies_after_migrate():
    assert verify_chain().ok


def test_the_loader_writes_history_for_the_places_it_adds_and_the_chain_verifies(tmp_path):
    # Not the migration's own rows: a transactional test elsewhere empties the history, and
    # tests/conftest.py's vocabularies_kept puts back the places only.
    csv = tmp_path / "places.csv"
    csv.write_text(
        "kind,adcode,parent,name_en,name_kk,name_zh,name_ru,latitude,longitude\n"
        f"country,,,China,,,,,\nregion,,China,{XINJIANG},,,,,\n"
        f"prefecture,,{XINJIANG},{ILI},,,,,\n"
        f"county,,{ILI},Testkent,,测试县,уезд Тест,43.5,81.5\n",
        encoding="utf-8",
    )
    assert gazetteer.load(migrated_apps(), path=csv) == {"created": 1, "filled": 0}
    added = place("Testkent", ILI).history.get()
    assert (added.history_type, added.history_user) == ("+", None)
    assert added.history_change_reason == gazetteer.REASON
    assert added.name_ru == "уезд Тест"
    integrity.chain_unlinked()  # as the migration's last operation does
    assert verify_chain().ok


def test_loading_again_creates_and_changes_nothing():
    places, history = Location.objects.count(), Location.history.count()
    assert gazetteer.load(migrated_apps()) == {"created": 0, "filled": 0}
    assert (Location.objects.count(), Location.history.count()) == (places, history)


def test_loading_reuses_a_place_staff_added_under_its_plain_name(tmp_path, data_entry):
    with acting_as(data_entry):
        staff_added = make_location("Testkent", LocationKind.COUNTY, place(ILI), name_zh="")
    csv = tmp_path / "places.csv"
    csv.write_text(
        "# a test file\n"
        "kind,adcode,parent,name_en,name_kk,name_zh,name_ru,latitude,longitude\n"
        f"country,,,China,Қытай,中国,Китай,,\n"
        f"region,650000,China,{XINJIANG},,,,,\n"
        f"prefecture,654000,{XINJIANG},{ILI},,,,,\n"
        f"county,654099,{ILI},Testkent (Ghulja Test),Тесткент,测试县,уезд Тест,43.5,81.5\n",
        encoding="utf-8",
    )
    before = Location.objects.count()
    assert gazetteer.load(migrated_apps(), path=csv) == {"created": 0, "filled": 1}
    staff_added.refresh_from_db()
    assert Location.objects.count() == before
    assert staff_added.name_en == "Testkent"  # what staff wrote stays
    assert (staff_added.name_zh, staff_added.name_ru) == ("测试县", "уезд Тест")
    assert staff_added.history.latest("history_id").history_change_reason == gazetteer.REASON
    assert gazetteer.load(migrated_apps(), path=csv) == {"created": 0, "filled": 0}


def test_a_place_staff_added_stands_for_one_shipped_place_only(tmp_path):
    make_location("Testkent", LocationKind.COUNTY, place(ILI))
    csv = tmp_path / "places.csv"
    csv.write_text(
        "kind,adcode,parent,name_en,name_kk,name_zh,name_ru,latitude,longitude\n"
        f"country,,,China,,,,,\nregion,,China,{XINJIANG},,,,,\n"
        f"prefecture,,{XINJIANG},{ILI},,,,,\n"
        f"county,,{ILI},Testkent (Old Name),,测试市,,,\n"
        f"county,,{ILI},Old Name (Testkent),,测试县,,,\n",
        encoding="utf-8",
    )
    assert gazetteer.load(migrated_apps(), path=csv) == {"created": 1, "filled": 1}
    assert place("Testkent", ILI).name_zh == "测试市"
    assert place("Old Name (Testkent)", ILI).name_zh == "测试县"


def test_the_chain_verifies_after_the_loader_fills_places_in(tmp_path):
    csv = tmp_path / "places.csv"
    csv.write_text(
        "kind,adcode,parent,name_en,name_kk,name_zh,name_ru,latitude,longitude\n"
        "country,,,Testland,,,Тестландия,,\n",
        encoding="utf-8",
    )
    make_location("Testland")
    assert gazetteer.load(migrated_apps(), path=csv) == {"created": 0, "filled": 1}
    integrity.chain_unlinked()  # as the migration's last operation does
    assert verify_chain().ok


# --- the audit chain and name_ru ------------------------------------------------------------


def test_a_history_row_without_a_russian_name_is_hashed_as_before_the_column_existed(
    administrator,
):
    with acting_as(administrator):
        village = make_location("Aqtam", LocationKind.VILLAGE, place("Tekes County", ILI))
    row = village.history.latest("history_id")
    assert "name_ru" not in integrity.canonical_content(row)


def test_the_chain_verifies_after_a_place_gets_a_russian_name(admin_client):
    ili = place(ILI)
    form = AdminForm(admin_client, reverse("admin:cases_location_change", args=[ili.pk]))
    assert_saved(form.post(name_ru="Или (округ)"))
    row = ili.history.latest("history_id")
    assert integrity.canonical_content(row)["name_ru"] == "Или (округ)"
    assert verify_chain().ok


# --- data entry adds places below county level ---------------------------------------------


def add_url(**query):
    url = reverse("admin:cases_location_add")
    return f"{url}?{urlencode(query)}" if query else url


def test_data_entry_adds_a_village_in_a_county(client, data_entry):
    client.force_login(data_entry)
    county = place("Tekes County", ILI)
    response = AdminForm(client, add_url()).post(
        name_en="Aqsu village", kind=LocationKind.VILLAGE, parent=county.pk
    )
    assert_saved(response)
    village = Location.objects.get(name_en="Aqsu village")
    assert village.parent == county
    added = village.history.get(history_type="+")
    assert added.history_user == data_entry


def test_data_entry_adds_a_facility_from_the_event_form_s_plus(client, data_entry):
    client.force_login(data_entry)
    county = place("Yining County", ILI)
    form = AdminForm(client, add_url(_to_field="id", _popup=1, kind=LocationKind.FACILITY))
    assert form.data["kind"] == LocationKind.FACILITY
    response = form.post(
        name_en="Yining County Detention Centre",
        name_zh="伊宁县看守所",
        facility_type=FacilityType.DETENTION_CENTRE,
        parent=county.pk,
        _popup="1",  # the hidden inputs of a popup's form
        _to_field="id",
    )
    facility = Location.objects.get(name_en="Yining County Detention Centre")
    assert response.status_code == 200
    handed_back = json.loads(response.context["popup_response_data"])  # to the event form
    assert handed_back["value"] == str(facility.pk)
    assert (facility.kind, facility.parent) == (LocationKind.FACILITY, county)
    assert facility.history.get(history_type="+").history_user == data_entry


def test_the_quick_facility_form_asks_only_what_a_facility_needs(client, data_entry):
    client.force_login(data_entry)
    response = client.get(add_url(kind=LocationKind.FACILITY))
    form = response.context["adminform"].form
    assert form.fields["kind"].widget.is_hidden
    visible = {name for name in form.fields if not form.fields[name].widget.is_hidden}
    assert visible == {
        "name_en",
        "name_kk",
        "name_zh",
        "name_ru",
        "facility_type",
        "parent",
        "latitude",
        "longitude",
    }


def test_the_event_form_s_facility_picker_opens_the_quick_facility_form(client, data_entry):
    client.force_login(data_entry)
    page = client.get(reverse("admin:cases_detentionevent_add")).content.decode()
    assert f"{add_url()}?_to_field=id&amp;_popup=1&amp;kind=facility" in page
    assert reverse("admin:cases_location_autocomplete") in page


@pytest.mark.parametrize(
    ("kind", "parent"),
    [(LocationKind.COUNTY, ILI), (LocationKind.PREFECTURE, XINJIANG)],
)
def test_data_entry_cannot_add_a_county_or_a_prefecture(client, data_entry, kind, parent):
    client.force_login(data_entry)
    before = Location.objects.count()
    response = AdminForm(client, add_url()).post(
        name_en="New division", kind=kind, parent=place(parent).pk
    )
    assert response.status_code == 200
    assert GAZETTEER_REFUSED in errors_of(response)
    assert Location.objects.count() == before


def test_data_entry_adds_nothing_directly_in_a_prefecture(client, data_entry):
    client.force_login(data_entry)
    response = AdminForm(client, add_url()).post(
        name_en="Some village", kind=LocationKind.VILLAGE, parent=place(ILI).pk
    )
    assert response.status_code == 200
    assert any("inside a county" in message for message in errors_of(response))


def test_data_entry_is_offered_only_the_kinds_below_county_level(client, data_entry):
    client.force_login(data_entry)
    form = client.get(add_url()).context["adminform"].form
    offered = {value for value, _ in form.fields["kind"].widget.choices if value}
    assert offered == {LocationKind.TOWNSHIP, LocationKind.VILLAGE, LocationKind.FACILITY}


def test_data_entry_cannot_change_a_prefecture(client, data_entry):
    client.force_login(data_entry)
    ili = place(ILI)
    url = reverse("admin:cases_location_change", args=[ili.pk])
    assert client.get(url).status_code == 200  # to view
    response = client.post(url, {"name_en": "Ili", "kind": "prefecture", "parent": ili.parent_id})
    assert response.status_code == 403
    ili.refresh_from_db()
    assert ili.name_en == ILI


@pytest.fixture
def facility_added_by(administrator):
    def add(user):
        with acting_as(user):
            return make_location(
                "Tekes Prison",
                LocationKind.FACILITY,
                place("Tekes County", ILI),
                facility_type=FacilityType.PRISON,
            )

    return add


def test_data_entry_changes_a_facility_they_added(client, data_entry, facility_added_by):
    facility = facility_added_by(data_entry)
    client.force_login(data_entry)
    url = reverse("admin:cases_location_change", args=[facility.pk])
    assert_saved(AdminForm(client, url).post(name_kk="Текес түрмесі"))
    facility.refresh_from_db()
    assert facility.name_kk == "Текес түрмесі"


def test_data_entry_cannot_change_a_facility_someone_else_added(
    client, data_entry, facility_added_by
):
    facility = facility_added_by(staff_in(DATA_ENTRY, "another_data_entry"))
    client.force_login(data_entry)
    url = reverse("admin:cases_location_change", args=[facility.pk])
    response = client.post(url, {"name_en": "Renamed", "kind": "facility"})
    assert response.status_code == 403


def test_a_verifier_corrects_a_facility_data_entry_added(
    client, verifier, data_entry, facility_added_by
):
    facility = facility_added_by(data_entry)
    client.force_login(verifier)
    url = reverse("admin:cases_location_change", args=[facility.pk])
    assert_saved(AdminForm(client, url).post(name_en="Tekes County Prison"))


def test_a_verifier_cannot_turn_a_facility_into_a_county(
    client, verifier, data_entry, facility_added_by
):
    facility = facility_added_by(data_entry)
    client.force_login(verifier)
    url = reverse("admin:cases_location_change", args=[facility.pk])
    response = AdminForm(client, url).post(kind=LocationKind.COUNTY, facility_type="")
    assert GAZETTEER_REFUSED in errors_of(response)


def test_an_administrator_adds_a_county(client, administrator):
    client.force_login(administrator)
    response = AdminForm(client, add_url()).post(
        name_en="New County", kind=LocationKind.COUNTY, parent=place(ILI).pk
    )
    assert_saved(response)


# --- finding places --------------------------------------------------------------------------


def autocomplete(client, term, field="location", model="detentionevent"):
    query = urlencode(
        {"app_label": "cases", "model_name": model, "field_name": field, "term": term}
    )
    response = client.get(f"{reverse('admin:cases_location_autocomplete')}?{query}")
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


@pytest.mark.parametrize("term", ["Құлжа қаласы", "伊宁市", "Кульджа", "Ghulja"])
def test_autocomplete_finds_a_county_by_any_of_its_names_and_shows_where_it_lies(
    client, data_entry, term
):
    client.force_login(data_entry)
    assert autocomplete(client, term) == [f"Yining (Ghulja) — {ILI}"]


def test_autocomplete_offers_data_entry_no_prefecture_as_a_parent(client, data_entry):
    client.force_login(data_entry)
    assert autocomplete(client, "Ili Kazakh", field="parent", model="location") == []
    assert f"Tekes County — {ILI}" in autocomplete(client, "Tekes", "parent", "location")


def test_autocomplete_serves_places_only(client, data_entry):
    client.force_login(data_entry)
    query = urlencode({"app_label": "cases", "model_name": "case", "field_name": "person"})
    response = client.get(f"{reverse('admin:cases_location_autocomplete')}?{query}")
    assert response.status_code == 403


def test_the_place_list_is_searched_by_the_russian_name(client, data_entry):
    client.force_login(data_entry)
    response = client.get(reverse("admin:cases_location_changelist"), {"q": "Чугучак"})
    assert [p.name_en for p in response.context["cl"].result_list] == ["Tacheng (Chuguchak)"]
