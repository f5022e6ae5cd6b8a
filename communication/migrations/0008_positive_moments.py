import datetime
import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max


def fill_last_positive_at(apps, schema_editor):
    """Each existing summary's last good news, from the log, within its term at the school (as the recount does)."""
    ContactSummary = apps.get_model("communication", "ContactSummary")
    InteractionStudent = apps.get_model("communication", "InteractionStudent")
    for summary in ContactSummary.objects.filter(positives__gt=0).select_related("term__school"):
        term = summary.term
        zone = zoneinfo.ZoneInfo(term.school.time_zone)
        starts_at = datetime.datetime.combine(term.starts_on, datetime.time.min, tzinfo=zone)
        ends_at = datetime.datetime.combine(term.ends_on + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
        summary.last_positive_at = InteractionStudent.objects.filter(
            student_id=summary.student_id,
            interaction__outcome="reached",
            interaction__tone="positive",
            interaction__occurred_at__gte=starts_at,
            interaction__occurred_at__lt=ends_at,
        ).aggregate(last=Max("interaction__occurred_at"))["last"]
        summary.save(update_fields=["last_positive_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("communication", "0007_message_kind_goal"),
        ("roster", "0005_school_good_news_days"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="message",
            name="message_kind_valid",
        ),
        migrations.AddField(
            model_name="contactsummary",
            name="last_positive_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill_last_positive_at, migrations.RunPython.noop),
        migrations.AddField(
            model_name="interaction",
            name="moment",
            field=models.CharField(
                blank=True,
                choices=[
                    ("kindness", "Kindness"),
                    ("helping", "Helping someone"),
                    ("standing_up", "Standing up for others"),
                    ("perseverance", "Perseverance"),
                    ("responsibility", "Responsibility"),
                    ("leadership", "Leadership"),
                    ("gratitude", "Gratitude"),
                    ("creativity", "Creativity"),
                    ("teamwork", "Teamwork"),
                    ("academic_growth", "Academic growth"),
                ],
                max_length=16,
                verbose_name="positive moment",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="kind",
            field=models.CharField(
                choices=[
                    ("introduction", "Introduction letter"),
                    ("note", "Message"),
                    ("notice", "School notice"),
                    ("auto_reply", "Automatic reply"),
                    ("questionnaire", "Questions about your child"),
                    ("goal", "A goal for your child"),
                    ("good_news", "Good news"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="interaction",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("moment", ""),
                    models.Q(
                        (
                            "moment__in",
                            [
                                "kindness",
                                "helping",
                                "standing_up",
                                "perseverance",
                                "responsibility",
                                "leadership",
                                "gratitude",
                                "creativity",
                                "teamwork",
                                "academic_growth",
                            ],
                        ),
                        ("tone", "positive"),
                    ),
                    _connector="OR",
                ),
                name="interaction_moment_is_good_news",
            ),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind__in", ["introduction", "note", "notice", "auto_reply", "questionnaire", "goal", "good_news"])
                ),
                name="message_kind_valid",
            ),
        ),
    ]
