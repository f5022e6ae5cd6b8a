"""The Django admin, scoped by school: a leader administers their school, a district administrator their
district; only the platform's superusers see everything. Each change to a student's record is audited."""

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.models import User
from audit.models import AuditAction
from audit.services import record
from roster.access import schools_led_by
from roster.models import (
    CaseloadAssignment,
    District,
    Enrollment,
    Guardian,
    Role,
    School,
    Section,
    StaffRole,
    Student,
    StudentGuardian,
    Term,
)


def _admin_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - the admin site only lets signed-in users through
    return user


class SchoolScopedAdmin(admin.ModelAdmin):
    # The lookup from this model to its school, e.g. "student__school".
    school_path = "school"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = _admin_user(request)
        if user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.school_path}__in": schools_led_by(user)}).distinct()

    def _leads_a_school(self, request: HttpRequest) -> bool:
        user = _admin_user(request)
        return user.is_superuser or (user.is_staff and schools_led_by(user).exists())

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._leads_a_school(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._leads_a_school(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._leads_a_school(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._leads_a_school(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._leads_a_school(request)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A forged id for another school's row gets "Select a valid choice", not someone else's record.
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        user = _admin_user(request)
        # The related model's own admin knows its way to a school; models without one (users) are not scoped.
        related_admin = self.admin_site._registry.get(db_field.related_model)
        if (
            isinstance(related_admin, SchoolScopedAdmin)
            and not user.is_superuser
            and field is not None
            and field.queryset is not None
        ):
            lookup = f"{related_admin.school_path}__in"
            field.queryset = field.queryset.filter(**{lookup: schools_led_by(user)}).distinct()
        return field

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._audit(request, obj, AuditAction.CHANGED if change else AuditAction.CREATED)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self._audit(request, obj, AuditAction.DELETED)
        super().delete_model(request, obj)

    def _audit(self, request: HttpRequest, obj: Model, action: AuditAction) -> None:
        student = obj if isinstance(obj, Student) else getattr(obj, "student", None)
        if isinstance(student, Student) and student.pk is not None:
            label = f"{obj._meta.verbose_name}: {obj}"
            record(actor=_admin_user(request), student=student, action=action, what=f"admin {label}", request=request)


@admin.register(District)
class DistrictAdmin(SchoolScopedAdmin):
    school_path = "schools"
    list_display = ("name",)


@admin.register(School)
class SchoolAdmin(SchoolScopedAdmin):
    school_path = "id"
    list_display = ("name", "district", "contact_cadence_days", "time_zone")
    list_select_related = ("district",)


@admin.register(Term)
class TermAdmin(SchoolScopedAdmin):
    list_display = ("name", "school", "starts_on", "ends_on", "is_current")
    list_select_related = ("school",)


@admin.register(Section)
class SectionAdmin(SchoolScopedAdmin):
    school_path = "term__school"
    list_display = ("name", "code", "grade_level", "term")
    list_select_related = ("term",)
    list_filter = ("term__is_current", "grade_level")
    filter_horizontal = ("teachers",)
    search_fields = ("name", "code")


class StudentGuardianInline(admin.TabularInline):
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("guardian",)


@admin.register(Student)
class StudentAdmin(SchoolScopedAdmin):
    list_display = ("last_name", "first_name", "student_number", "grade_level", "school")
    list_select_related = ("school",)
    search_fields = ("last_name", "first_name", "student_number")
    list_filter = ("grade_level",)
    inlines = (StudentGuardianInline,)


@admin.register(Guardian)
class GuardianAdmin(SchoolScopedAdmin):
    school_path = "student_links__student__school"
    list_display = ("last_name", "first_name", "email", "phone", "preferred_language")
    search_fields = ("last_name", "first_name", "email")
    list_filter = ("preferred_language",)


@admin.register(StudentGuardian)
class StudentGuardianAdmin(SchoolScopedAdmin):
    school_path = "student__school"
    list_display = ("student", "guardian", "relationship", "contact_allowed", "portal_access_allowed")
    list_select_related = ("student", "guardian")
    list_filter = ("contact_allowed", "portal_access_allowed")
    autocomplete_fields = ("student", "guardian")


@admin.register(Enrollment)
class EnrollmentAdmin(SchoolScopedAdmin):
    school_path = "section__term__school"
    list_display = ("student", "section")
    list_select_related = ("student", "section")
    autocomplete_fields = ("student",)


@admin.register(StaffRole)
class StaffRoleAdmin(SchoolScopedAdmin):
    list_display = ("user", "role", "school", "district")
    list_select_related = ("user", "school", "district")

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A school leader may appoint staff at their school, never a district administrator.
        if db_field.name == "role" and not _admin_user(request).is_superuser:
            kwargs["choices"] = [(value, label) for value, label in Role.choices if value != Role.DISTRICT_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(CaseloadAssignment)
class CaseloadAssignmentAdmin(SchoolScopedAdmin):
    school_path = "student__school"
    list_display = ("counselor", "student")
    list_select_related = ("counselor", "student")
    autocomplete_fields = ("student",)
