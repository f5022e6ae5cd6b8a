"""Messages sent to many families at once become notices, and the summaries they were counted into are recounted.

A message was sent to many families when it went to a class (class messages, introduction letters), when it was a
school notice or a questionnaire, or when the same words went to more than one family chosen one by one. Every
introduction letter sent so far was the form letter: no letter could be written for one family yet. The
follow-ups a notice closed are open again. Each
conversation's place on its member of staff's list becomes its last personal message or reply.

Undoing it leaves the marks and the recounted summaries in place; undoing 0015 and the delivery app's 0003 drops
the marks."""

import datetime
import zoneinfo

from django.db import migrations
from django.db.models import Count, Max, Q

BULK_KINDS = ("introduction", "notice", "questionnaire")
NOT_A_CONVERSATION = ("auto_reply",)  # Homeroom's own answer to a reply: the reply already counts


def mark_notices(apps, schema_editor):
    Message = apps.get_model("delivery", "Message")
    Thread = apps.get_model("delivery", "Thread")
    Delivery = apps.get_model("delivery", "Delivery")
    Reply = apps.get_model("communication", "Reply")
    Interaction = apps.get_model("communication", "Interaction")

    several = Message.objects.filter(kind="note", section__isnull=True).annotate(families=Count("deliveries"))
    Message.objects.filter(
        Q(section__isnull=False) | Q(kind__in=BULK_KINDS) | Q(pk__in=several.filter(families__gt=1).values("pk"))
    ).update(to_many=True)
    Interaction.objects.filter(delivery__message__to_many=True).update(personal=False)
    _reopen_follow_ups_closed_by_notices(Interaction)

    last_personal: dict[int, datetime.datetime] = dict(
        Delivery.objects.filter(thread__isnull=False, message__to_many=False)
        .exclude(message__kind__in=NOT_A_CONVERSATION)
        .order_by()
        .values_list("thread_id")
        .annotate(at=Max("message__created_at"))
    )
    for thread_id, at in Reply.objects.order_by().values_list("thread_id").annotate(at=Max("received_at")):
        last_personal[thread_id] = max(at, last_personal.get(thread_id, at))
    threads = list(Thread.objects.filter(pk__in=list(last_personal)))
    for thread in threads:
        thread.last_personal_at = last_personal[thread.pk]
    Thread.objects.bulk_update(threads, ["last_personal_at"], batch_size=1000)
    _recount(apps)


def _reopen_follow_ups_closed_by_notices(Interaction):
    """A copy of a notice closed its sender's follow-ups on the children it was about, dated with its own moment:
    those, and only those, are open again (a contact logged at the very same moment would have closed them too)."""
    notices = Interaction.objects.filter(personal=False).order_by()
    for logged_by_id, at in notices.values_list("logged_by_id", "occurred_at").distinct():
        if Interaction.objects.filter(logged_by_id=logged_by_id, occurred_at=at, personal=True).exists():
            continue
        Interaction.objects.filter(
            logged_by_id=logged_by_id, follow_up_on__isnull=False, follow_up_closed_at=at
        ).update(follow_up_closed_at=None)


def _recount(apps):
    """The term summaries of the students a notice was about, counted again from the log as it now reads: the
    same rule as `communication.services.recount_contact_summaries`, on the models as this migration knows them."""
    InteractionStudent = apps.get_model("communication", "InteractionStudent")
    ContactSummary = apps.get_model("communication", "ContactSummary")
    Term = apps.get_model("roster", "Term")
    affected = set(InteractionStudent.objects.filter(interaction__personal=False).values_list("student_id", flat=True))
    if not affected:
        return
    for term in Term.objects.filter(contact_summaries__student_id__in=affected).distinct().select_related("school"):
        zone = zoneinfo.ZoneInfo(term.school.time_zone)
        starts_at = datetime.datetime.combine(term.starts_on, datetime.time.min, tzinfo=zone)
        ends_at = datetime.datetime.combine(term.ends_on + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
        summaries = ContactSummary.objects.filter(term=term, student_id__in=affected)
        links = InteractionStudent.objects.filter(
            interaction__personal=True,
            interaction__occurred_at__gte=starts_at,
            interaction__occurred_at__lt=ends_at,
        )
        reached = Q(interaction__outcome="reached")
        positive = reached & Q(interaction__tone="positive")
        for summary in summaries:
            own = links.filter(student_id=summary.student_id)
            counts = own.aggregate(
                attempts=Count("id"),
                contacts=Count("id", filter=reached),
                positives=Count("id", filter=positive),
                neutrals=Count("id", filter=reached & Q(interaction__tone="neutral")),
                concerns=Count("id", filter=reached & Q(interaction__tone="concern")),
                last_contact_at=Max("interaction__occurred_at", filter=reached),
                last_attempt_at=Max("interaction__occurred_at"),
                last_positive_at=Max("interaction__occurred_at", filter=positive),
            )
            if not counts["attempts"]:
                summary.delete()
                continue
            last = own.filter(reached).order_by("-interaction__occurred_at", "-interaction_id").first()
            for name, value in counts.items():
                setattr(summary, name, value)
            summary.last_contact_tone = last.interaction.tone if last else ""
            summary.save()


class Migration(migrations.Migration):
    dependencies = [
        ("communication", "0015_interaction_personal"),
        ("delivery", "0003_to_many_and_personal_threads"),
        ("roster", "0007_school_teachers_need_second_factor"),
    ]

    operations = [migrations.RunPython(mark_notices, migrations.RunPython.noop, elidable=False)]
