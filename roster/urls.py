from django.urls import path

from roster import views

app_name = "roster"
urlpatterns = [
    path("classes/", views.section_list, name="section_list"),
    path("caseload/", views.caseload, name="caseload"),
    path("families/invite/", views.invite_families, name="invite_families"),
    path("roster/export.zip", views.export_roster, name="export_roster"),
    path("roster/import/", views.import_roster, name="import_roster"),
    path("roster/import/template.csv", views.import_template, name="import_template"),
    path("roster/import/<id:import_id>/", views.import_detail, name="import_detail"),
    path("roster/import/<id:import_id>/confirm/", views.import_confirm, name="import_confirm"),
]
