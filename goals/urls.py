from django.urls import path

from goals import views

app_name = "goals"
urlpatterns = [
    path("students/<id:student_id>/goals/new/", views.new_goal, name="new_goal"),
    path("goals/<id:goal_id>/", views.goal, name="goal"),
    path("goals/<id:goal_id>/edit/", views.edit_goal, name="edit_goal"),
    path("goals/<id:goal_id>/check-in/", views.add_checkin, name="add_checkin"),
    path("goals/<id:goal_id>/activities/", views.add_activity, name="add_activity"),
    path("goals/activities/<id:activity_id>/remove/", views.remove_activity, name="remove_activity"),
    path("goals/<id:goal_id>/in/<str:language>/", views.goal_translation, name="translation"),
    path("goals/<id:goal_id>/tell-family/", views.send_goal_to_family, name="tell_family"),
    path("goals/<id:goal_id>/replies/<id:reply_id>/count/", views.count_family_reply, name="count_reply"),
    path("classes/<id:section_id>/goals/", views.class_overview, name="class_goals"),
    # The family's side, in its portal.
    path("family/goals/<id:goal_id>/", views.family_goal, name="family_goal"),
    path("family/goals/<id:goal_id>/agree/", views.family_agrees, name="family_agrees"),
    path("family/goals/<id:goal_id>/at-home/", views.family_checkin, name="family_checkin"),
    path(
        "family/goals/<id:goal_id>/activities/<id:activity_id>/done/",
        views.family_activity_done,
        name="family_activity_done",
    ),
    # The same, through the link a family member was sent: no account needed.
    path("goal/<str:token>/", views.link_goal, name="link_goal"),
    path("goal/<str:token>/agree/", views.link_agrees, name="link_agrees"),
    path("goal/<str:token>/at-home/", views.link_checkin, name="link_checkin"),
    path("goal/<str:token>/activities/<id:activity_id>/done/", views.link_activity_done, name="link_activity_done"),
]
