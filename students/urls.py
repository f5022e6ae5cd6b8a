from django.urls import path

from students import views

app_name = "students"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("classes/<id:section_id>/", views.section_detail, name="section_detail"),
    path("students/<id:student_id>/", views.student_detail, name="student_detail"),
]
