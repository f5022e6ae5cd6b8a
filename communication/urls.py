from django.urls import path

from communication import views

app_name = "communication"
urlpatterns = [
    path("students/<id:student_id>/log/", views.log_contact, name="log_contact"),
    path("students/<id:student_id>/good-news/", views.good_news, name="good_news"),
    path("classes/<id:section_id>/introduction/", views.introduction_letter, name="introduction_letter"),
    path(
        "classes/<id:section_id>/introduction/<id:guardian_id>/",
        views.family_introduction,
        name="family_introduction",
    ),
    path("messages/", views.conversations, name="conversations"),
    path("messages/new/", views.new_message, name="new_message"),
    path("messages/<id:thread_id>/", views.conversation, name="conversation"),
    path("messages/office-hours/", views.office_hours, name="office_hours"),
    path("messages/notice/", views.new_notice, name="new_notice"),
    path("messages/waiting/", views.unrouted_replies, name="unrouted_replies"),
    path("messages/waiting/<id:unrouted_id>/", views.place_unrouted, name="place_unrouted"),
]
