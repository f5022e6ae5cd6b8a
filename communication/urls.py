from django.urls import path

from communication import views

app_name = "communication"
urlpatterns = [
    path("today/", views.today, name="today"),
    path("students/<int:student_id>/log/", views.log_contact, name="log_contact"),
    path("classes/<int:section_id>/introduction/", views.introduction_letter, name="introduction_letter"),
    path("messages/", views.conversations, name="conversations"),
    path("messages/new/", views.new_message, name="new_message"),
    path("messages/<int:thread_id>/", views.conversation, name="conversation"),
]
