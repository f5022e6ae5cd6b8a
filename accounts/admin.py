from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User


def _is_superuser(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return isinstance(user, User) and user.is_active and user.is_superuser


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Records that span schools (accounts, groups, sign-in addresses and keys, background tasks): managed by the
    platform's superusers alone, whatever Django permissions anyone else was given. Their foreign keys offer every
    account, so a leader must not reach them."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_superuser(request)


# The admins of the apps installed before this one (Django's groups, allauth's addresses and authenticators, the
# task queue's results) become superusers' alone. Homeroom's own admins are scoped by the access policy
# (roster/admin.py); the admin walk in roster/tests/test_authorization_matrix.py fails on any other.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, SuperuserOnlyAdmin):
        admin.site.unregister(_model)
        admin.site.register(_model, type(type(_model_admin).__name__, (SuperuserOnlyAdmin, type(_model_admin)), {}))


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, BaseUserAdmin):
    # Accounts span schools, so only the platform's superusers manage them here.
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_staff", "is_superuser")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)
