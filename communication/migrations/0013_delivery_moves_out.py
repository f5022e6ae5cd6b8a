"""Delivery moves out to the app beneath: conversations, messages, deliveries and opt-outs leave this app's state
(their tables stay, see delivery 0001), and the link between a contact and the family's copy that logged it turns
round: the interaction names its delivery, so that the delivery app knows nothing of contacts. Every row is kept:
each delivery's interaction is copied onto the interaction (0014) before delivery 0002 drops the old column."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communication", "0012_delivery_message_id"),
        ("delivery", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="reply",
                    name="thread",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="replies",
                        to="delivery.thread",
                        verbose_name="conversation",
                    ),
                ),
                migrations.AlterField(
                    model_name="unroutedreply",
                    name="candidates",
                    field=models.ManyToManyField(
                        related_name="unrouted_replies", to="delivery.thread", verbose_name="may answer"
                    ),
                ),
                migrations.DeleteModel(name="Delivery"),
                migrations.DeleteModel(name="Message"),
                migrations.DeleteModel(name="Thread"),
                migrations.DeleteModel(name="PhoneOptOut"),
                migrations.DeleteModel(name="EmailOptOut"),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="interaction",
            name="delivery",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interaction",
                to="delivery.delivery",
                verbose_name="sent as",
            ),
        ),
    ]
