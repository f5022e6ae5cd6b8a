from django.urls import path

from behavior import views

app_name = "behavior"
urlpatterns = [
    path("students/<id:student_id>/behavior/new/", views.new_note, name="new_note"),
    path("students/<id:student_id>/behavior/guide/", views.guide, name="guide"),
    path("behavior/", views.school_overview, name="school"),
]
