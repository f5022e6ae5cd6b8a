"""The Django admin, scoped by school: a leader administers their school, a district administrator their
district; only the platform's superusers see everything. Every list, form field (inlines included), list filter and
autocomplete search asks the one access policy (roster/access.py) which records it may show or take, and each read
or change of a student's record is audited."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelChoiceField, ModelForm
from django.http import HttpRequest, HttpResponse

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_many, record_views
from roster.access import admin_choices, admin_rows, districts_administered_by, schools_led_by
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


def admin_user(request: HttpRequest) -> User | None:
    """The signed-in account behind an admin request; None for a visitor (the admin's own login page asks every
    model admin whether to list it, signed in or not)."""
    user = getattr(request, "user", None)
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


def is_superuser(request: HttpRequest) -> bool:
    user = admin_user(request)
    return user is not None and user.is_superuser


def leads_a_school(request: HttpRequest) -> bool:
    # Asked of every model admin for the navigation of each page: answered once per request.
    cached: bool | None = getattr(request, "_homeroom_leads_a_school", None)
    if cached is None:
        user = admin_user(request)
        cached = user is not None and (user.is_superuser or (user.is_staff and schools_led_by(user).exists()))
        request._homeroom_leads_a_school = cached  # type: ignore[attr-defined]  # a per-request memo
    return cached


def _choices_for(request: HttpRequest, model: type[Model]) -> QuerySet[Any]:
    user = admin_user(request)
    return admin_choices(user, model) if user is not None else model._default_manager.none()


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A list filter on a related record, offering only the records the access policy lets this user pick."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:  # type: ignore[override]  # a plain str is a label too
        ordering = self.field_admin_ordering(field, request, model_admin)
        rows = _choices_for(request, field.related_model).order_by(*ordering)
        return [(str(row.pk), str(row)) for row in rows]


class ScopedChoicesMixin:
    """Every foreign key and many-to-many field of the form (a select, an autocomplete or a raw id alike) takes its
    choices from the access policy: a forged id out of reach gets "Select a valid choice"."""

    def get_field_queryset(self, db: str | None, db_field: Any, request: HttpRequest) -> QuerySet[Any] | None:
        queryset: QuerySet[Any] | None = super().get_field_queryset(db, db_field, request)  # type: ignore[misc]
        if is_superuser(request):
            return queryset
        model = db_field.remote_field.model
        base = queryset if queryset is not None else model._default_manager.using(db).all()
        return base.filter(pk__in=_choices_for(request, model).order_by().values("pk"))


class ScopedInlineFormSet(BaseInlineFormSet):
    """An inline row is named by its id in the POST: only the parent's own rows may be named, never another
    school's."""

    def add_fields(self, form: ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        pk_field = form.fields.get(self.model._meta.pk.name)
        if isinstance(pk_field, ModelChoiceField):
            pk_field.queryset = self.get_queryset()


class ScopedTabularInline(ScopedChoicesMixin, admin.TabularInline):
    formset = ScopedInlineFormSet

    # The inline belongs to its parent's admin: whoever may administer the parent may administer its rows.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)


def students_concerned(obj: Model) -> list[Student]:
    """The students whose record a change to `obj` is part of: the student, a guardian's children, the student of
    a link, an enrollment or a caseload."""
    if isinstance(obj, Student):
        return [obj] if obj.pk is not None else []
    if isinstance(obj, Guardian):
        return list(Student.objects.filter(guardian_links__guardian_id=obj.pk)) if obj.pk is not None else []
    student_id = getattr(obj, "student_id", None)
    return list(Student.objects.filter(pk=student_id)) if student_id is not None else []


class SchoolScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    # Opening a record, or a list of them, that shows a student's data is logged as a view of that student.
    audit_reads = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = admin_user(request)
        if user is None:
            return queryset.none()
        if user.is_superuser:
            return queryset
        return queryset.filter(pk__in=admin_rows(user, self.model).order_by().values("pk"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = request.resolver_match
        # The autocomplete of another form's field: what that field may take, no more than its choices.
        if match is not None and match.url_name == "autocomplete" and not is_superuser(request):
            queryset = queryset.filter(pk__in=_choices_for(request, self.model).order_by().values("pk"))
        return queryset, may_have_duplicates

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry: Any) -> Any:
        if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
            return (entry, ScopedRelatedFieldListFilter)
        return entry

    def has_module_permission(self, request: HttpRequest) -> bool:
        return leads_a_school(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return leads_a_school(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return leads_a_school(request)

    # --- The access log: every read and change of a student's record made here ---------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and not add and self.audit_reads:
            self._audit(request, obj, AuditAction.VIEWED)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        user = admin_user(request)
        if changelist is not None and user is not None and self.audit_reads:
            rows = changelist.result_list
            ids = {row.pk if isinstance(row, Student) else getattr(row, "student_id", None) for row in rows}
            ids.discard(None)
            if ids:
                what = f"admin list of {self.opts.verbose_name_plural}"
                record_views(actor=user, students=Student.objects.filter(pk__in=ids), what=what, request=request)
        return response

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._audit(request, obj, AuditAction.CHANGED if change else AuditAction.CREATED)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            self._audit(request, obj, AuditAction.CREATED)
        for obj, _fields in formset.changed_objects:
            self._audit(request, obj, AuditAction.CHANGED)
        for obj in formset.deleted_objects:
            self._audit(request, obj, AuditAction.DELETED)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self._audit(request, obj, AuditAction.DELETED)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self._audit(request, obj, AuditAction.DELETED)
        super().delete_queryset(request, queryset)

    def _audit(self, request: HttpRequest, obj: Model, action: AuditAction) -> None:
        user = admin_user(request)
        concerned = students_concerned(obj)
        if user is not None and concerned:
            what = f"admin {obj._meta.verbose_name}: {obj}"
            record_many(actor=user, students=concerned, action=action, what=what, request=request)


@admin.register(District)
class DistrictAdmin(SchoolScopedAdmin):
    """A leader sees their district; only its administrators (and superusers) change it."""

    list_display = ("name",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = admin_user(request)
        if user is None or not leads_a_school(request):
            return False
        administered = districts_administered_by(user)
        return user.is_superuser or (administered.filter(pk=obj.pk) if obj is not None else administered).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


def _administers_a_district(request: HttpRequest) -> bool:
    user = admin_user(request)
    return user is not None and (user.is_superuser or districts_administered_by(user).exists())


@admin.register(School)
class SchoolAdmin(SchoolScopedAdmin):
    list_display = ("name", "district", "contact_cadence_days", "time_zone")
    list_select_related = ("district",)

    # Schools are opened and closed by their district; a leader keeps their own school's settings.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return _administers_a_district(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _administers_a_district(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if _administers_a_district(request) else (*fields, "district")


@admin.register(Term)
class TermAdmin(SchoolScopedAdmin):
    list_display = ("name", "school", "starts_on", "ends_on", "is_current")
    list_select_related = ("school",)
    list_filter = ("school", "is_current")


@admin.register(Section)
class SectionAdmin(SchoolScopedAdmin):
    list_display = ("name", "code", "grade_level", "term")
    list_select_related = ("term",)
    list_filter = ("term__school", "term__is_current", "grade_level")
    filter_horizontal = ("teachers",)
    search_fields = ("name", "code")


class StudentGuardianInline(ScopedTabularInline):
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("guardian",)


@admin.register(Student)
class StudentAdmin(SchoolScopedAdmin):
    list_display = ("last_name", "first_name", "student_number", "grade_level", "school")
    list_select_related = ("school",)
    search_fields = ("last_name", "first_name", "student_number")
    list_filter = ("school", "grade_level")
    inlines = (StudentGuardianInline,)

    # A student's record is kept with its access history (FERPA): a student who leaves is made inactive.
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Guardian)
class GuardianAdmin(SchoolScopedAdmin):
    list_display = ("last_name", "first_name", "email", "phone", "preferred_language")
    search_fields = ("last_name", "first_name", "email")
    list_filter = ("preferred_language",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The sign-in account is the family's own, made when they first sign in: a member of staff who could set
        # it could sign in as the family and read every child of a guardian shared with another school.
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if is_superuser(request) else (*fields, "user")


@admin.register(StudentGuardian)
class StudentGuardianAdmin(SchoolScopedAdmin):
    list_display = ("student", "guardian", "relationship", "contact_allowed", "portal_access_allowed")
    list_select_related = ("student", "guardian")
    list_filter = ("contact_allowed", "portal_access_allowed")
    autocomplete_fields = ("student", "guardian")


@admin.register(Enrollment)
class EnrollmentAdmin(SchoolScopedAdmin):
    list_display = ("student", "section")
    list_select_related = ("student", "section")
    autocomplete_fields = ("student",)


@admin.register(StaffRole)
class StaffRoleAdmin(SchoolScopedAdmin):
    list_display = ("user", "role", "school", "district")
    list_select_related = ("user", "school", "district")

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A school leader may appoint staff at their school, never a district administrator.
        if db_field.name == "role" and not is_superuser(request):
            kwargs["choices"] = [(value, label) for value, label in Role.choices if value != Role.DISTRICT_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(CaseloadAssignment)
class CaseloadAssignmentAdmin(SchoolScopedAdmin):
    list_display = ("counselor", "student")
    list_select_related = ("counselor", "student")
    autocomplete_fields = ("student",)
