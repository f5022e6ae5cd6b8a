from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AccessEvent
from roster.admin import SchoolScopedAdmin


@admin.register(AccessEvent)
class AccessEventAdmin(SchoolScopedAdmin):
    # The access log is not itself logged: reading it would add to it.
    audit_reads = False
    list_display = ("at", "actor", "guardian", "action", "what", "student")
    list_filter = ("action",)
    list_select_related = ("actor", "guardian", "student")
    date_hierarchy = "at"
    search_fields = ("what", "actor__email", "student__last_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
