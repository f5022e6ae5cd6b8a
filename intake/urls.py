from django.urls import path

from intake import views

app_name = "intake"
urlpatterns = [
    path("classes/<id:section_id>/ask/", views.class_families, name="class_families"),
    path("classes/<id:section_id>/ask/send/", views.ask_families, name="ask_families"),
    path("classes/<id:section_id>/ask/questions/", views.customise, name="customise"),
    path("classes/<id:section_id>/ask/<id:link_id>/type-in/", views.type_in_answers, name="type_in_answers"),
    path("ask/links/<id:invitation_id>/revoke/", views.revoke, name="revoke"),
    path("ask/questions/", views.school_questions, name="school_questions"),
    path("ask/questions/<id:questionnaire_id>/", views.questions, name="questions"),
    path("students/<id:student_id>/observations/", views.observe, name="observe"),
    # The family's own link: no sign-in, the link is the key.
    path("about-your-child/<str:token>/", views.answer, name="answer"),
]
