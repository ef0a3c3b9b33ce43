from django.urls import path

from website import views

app_name = "website"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("people/<uuid:uid>/", views.person_page, name="person"),
    path("people/<uuid:uid>/portrait.jpg", views.portrait, name="portrait"),
    path("places/<uuid:uid>/", views.place_page, name="place"),
    path("charges/<uuid:uid>/", views.charge_page, name="charge"),
    path("statistics/", views.statistics_page, name="statistics"),
    path("methodology/", views.methodology, name="methodology"),
    path("downloads/", views.downloads_page, name="downloads"),
    path("downloads/<str:name>", views.download_file, name="download"),
    path("language/<str:code>/", views.language, name="language"),
    path("robots.txt", views.robots_txt, name="robots"),
]
