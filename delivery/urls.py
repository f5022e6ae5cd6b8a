from django.urls import path

from delivery import views

app_name = "delivery"
urlpatterns = [
    path("hooks/sms/", views.incoming_text, name="incoming_text"),
    path("hooks/sms/status/", views.text_status, name="text_status"),
    path("hooks/email/", views.incoming_email, name="incoming_email"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
