"""Delivery moves out of communication into an app of its own, beneath it: its tables, rows and constraints stay as
they are (this migration changes no table; the next renames them in place), and the content types follow, so that
permissions and admin history keep pointing at them."""

import delivery.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MOVED = ["thread", "message", "delivery", "phoneoptout", "emailoptout"]


def move_content_types(apps, schema_editor, *, source="communication", target="delivery"):
    content_types = apps.get_model("contenttypes", "ContentType")
    # Where the target exists already (made on an earlier run of the new code), the old one is left as it is.
    taken = content_types.objects.filter(app_label=target, model__in=MOVED).values_list("model", flat=True)
    content_types.objects.filter(app_label=source, model__in=MOVED).exclude(model__in=list(taken)).update(
        app_label=target
    )


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="delivery", target="communication")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("communication", "0012_delivery_message_id"),
        ("roster", "0007_school_teachers_need_second_factor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmailOptOut",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("email", models.EmailField(max_length=254, unique=True, verbose_name="email")),
                        ("opted_out_at", models.DateTimeField(verbose_name="opted out")),
                    ],
                    options={
                        "db_table": "communication_emailoptout",
                        "verbose_name": "email opt-out",
                        "verbose_name_plural": "email opt-outs",
                    },
                ),
                migrations.CreateModel(
                    name="PhoneOptOut",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("phone", models.CharField(max_length=16, unique=True, verbose_name="mobile phone")),
                        ("opted_out_at", models.DateTimeField(verbose_name="opted out")),
                    ],
                    options={
                        "db_table": "communication_phoneoptout",
                        "verbose_name": "text message opt-out",
                        "verbose_name_plural": "text message opt-outs",
                    },
                ),
                migrations.CreateModel(
                    name="Message",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
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
                        ("subject", models.CharField(blank=True, max_length=200, verbose_name="subject")),
                        ("body", models.TextField(blank=True, max_length=5000, verbose_name="message")),
                        ("is_urgent", models.BooleanField(default=False, verbose_name="urgent")),
                        (
                            "tone",
                            models.CharField(
                                blank=True,
                                choices=[("positive", "Positive"), ("neutral", "Neutral"), ("concern", "Concern")],
                                max_length=8,
                                verbose_name="tone",
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="sent")),
                        (
                            "section",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="messages",
                                to="roster.section",
                                verbose_name="class",
                            ),
                        ),
                        (
                            "sender",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="messages_sent",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="sender",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "communication_message",
                        "verbose_name": "message",
                        "verbose_name_plural": "messages",
                    },
                ),
                migrations.CreateModel(
                    name="Thread",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("last_message_at", models.DateTimeField(verbose_name="last message")),
                        (
                            "guardian",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="threads",
                                to="roster.guardian",
                                verbose_name="family member",
                            ),
                        ),
                        (
                            "staff",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="threads",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="member of staff",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "communication_thread",
                        "verbose_name": "conversation",
                        "verbose_name_plural": "conversations",
                    },
                ),
                migrations.CreateModel(
                    name="Delivery",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[("email", "Email"), ("sms", "Text message"), ("app", "Homeroom inbox")],
                                max_length=8,
                                verbose_name="channel",
                            ),
                        ),
                        (
                            "fallback_from",
                            models.CharField(
                                blank=True,
                                choices=[("email", "Email"), ("sms", "Text message"), ("app", "Homeroom inbox")],
                                max_length=8,
                                verbose_name="instead of",
                            ),
                        ),
                        ("language", models.CharField(max_length=8, verbose_name="language")),
                        ("subject", models.CharField(max_length=200, verbose_name="subject")),
                        ("body", models.TextField(verbose_name="body")),
                        ("machine_translated", models.BooleanField(default=False, verbose_name="machine-translated")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("delivered", "Delivered"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=10,
                                verbose_name="status",
                            ),
                        ),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("error", models.CharField(blank=True, max_length=300, verbose_name="error")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        ("not_before", models.DateTimeField(blank=True, null=True, verbose_name="not before")),
                        ("failing_since", models.DateTimeField(blank=True, null=True, verbose_name="failing since")),
                        ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                        ("claim", models.UUIDField(blank=True, null=True, verbose_name="claim")),
                        (
                            "email_id",
                            models.CharField(
                                blank=True,
                                default=delivery.models.new_email_id,
                                max_length=255,
                                verbose_name="Message-ID",
                            ),
                        ),
                        ("provider_id", models.CharField(blank=True, max_length=64, verbose_name="provider's id")),
                        ("read_at", models.DateTimeField(blank=True, null=True, verbose_name="read in Homeroom")),
                        (
                            "guardian",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="deliveries",
                                to="roster.guardian",
                                verbose_name="recipient",
                            ),
                        ),
                        (
                            "interaction",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="communication.interaction",
                                verbose_name="logged as",
                            ),
                        ),
                        (
                            "message",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="deliveries",
                                to="delivery.message",
                                verbose_name="message",
                            ),
                        ),
                        (
                            "thread",
                            models.ForeignKey(
                                blank=True,
                                db_index=False,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="deliveries",
                                to="delivery.thread",
                                verbose_name="conversation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "communication_delivery",
                        "verbose_name": "delivery",
                        "verbose_name_plural": "deliveries",
                    },
                ),
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            (
                                "kind__in",
                                ["introduction", "note", "notice", "auto_reply", "questionnaire", "goal", "good_news"],
                            )
                        ),
                        name="message_kind_valid",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("tone__in", ["positive", "neutral", "concern", ""])),
                        name="message_tone_valid",
                    ),
                ),
                migrations.AddIndex(
                    model_name="thread",
                    index=models.Index(fields=["staff", "-last_message_at"], name="thread_of_staff"),
                ),
                migrations.AddIndex(
                    model_name="thread",
                    index=models.Index(fields=["guardian", "-last_message_at"], name="thread_of_guardian"),
                ),
                migrations.AddConstraint(
                    model_name="thread",
                    constraint=models.UniqueConstraint(
                        fields=("staff", "guardian"), name="thread_once_per_staff_and_guardian"
                    ),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(fields=["guardian", "-id"], name="delivery_guardian_inbox"),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(fields=["thread", "id"], name="delivery_thread"),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(
                        condition=models.Q(("provider_id", ""), _negated=True),
                        fields=["provider_id"],
                        name="delivery_provider_id",
                    ),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(
                        condition=models.Q(("status__in", ["queued", "sending"])),
                        fields=["status", "not_before"],
                        name="delivery_pending",
                    ),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(
                        condition=models.Q(
                            ("failing_since__isnull", False), ("not_before__isnull", False), ("status", "failed")
                        ),
                        fields=["not_before"],
                        name="delivery_tried_again",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="delivery",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("channel__in", ["email", "sms", "app"])), name="delivery_channel_valid"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="delivery",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("status__in", ["queued", "sending", "sent", "delivered", "failed"])),
                        name="delivery_status_valid",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="delivery",
                    constraint=models.UniqueConstraint(
                        fields=("message", "guardian"), name="delivery_once_per_guardian"
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
