from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("children/<id:student_id>/", views.child_detail, name="child_detail"),
    path("messages/<id:thread_id>/", views.conversation, name="conversation"),
]
