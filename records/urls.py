from django.urls import path

from records import views

app_name = "records"
urlpatterns = [
    path("students/<id:student_id>/record/", views.education_record, name="record"),
]
