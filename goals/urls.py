from django.urls import path

from goals import views

app_name = "goals"
urlpatterns = [
    path("students/<int:student_id>/goals/new/", views.new_goal, name="new_goal"),
    path("goals/<int:goal_id>/", views.goal, name="goal"),
    path("goals/<int:goal_id>/edit/", views.edit_goal, name="edit_goal"),
    path("goals/<int:goal_id>/check-in/", views.add_checkin, name="add_checkin"),
    path("goals/<int:goal_id>/activities/", views.add_activity, name="add_activity"),
    path("goals/activities/<int:activity_id>/remove/", views.remove_activity, name="remove_activity"),
    path("goals/<int:goal_id>/in/<str:language>/", views.goal_translation, name="translation"),
    path("classes/<int:section_id>/goals/", views.class_overview, name="class_goals"),
    # The family's side, in its portal.
    path("family/goals/<int:goal_id>/", views.family_goal, name="family_goal"),
    path("family/goals/<int:goal_id>/agree/", views.family_agrees, name="family_agrees"),
    path("family/goals/<int:goal_id>/at-home/", views.family_checkin, name="family_checkin"),
    path("family/goals/activities/<int:activity_id>/done/", views.family_activity_done, name="family_activity_done"),
]
