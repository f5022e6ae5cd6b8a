from django.contrib import admin
from django.urls import include, path, register_converter
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from homeroom.ids import IdConverter

# Before the apps' patterns are read: they name ids `<id:…>`.
register_converter(IdConverter, "id")

handler500 = "homeroom.views.server_error"

admin.site.site_header = _("Homeroom administration")
admin.site.site_title = _("Homeroom")

urlpatterns = [
    path("", account_views.home, name="home"),
    path("language/", account_views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("", include("roster.urls")),
    path("", include("students.urls")),
    path("", include("delivery.urls")),
    path("", include("communication.urls")),
    path("", include("intake.urls")),
    path("", include("goals.urls")),
    path("", include("behavior.urls")),
    path("", include("records.urls")),
    path("family/", include("portal.urls")),
    path("leader/", include("insights.urls")),
    path("admin/", admin.site.urls),
]
