"""Each delivery's interaction copied onto the interaction, in a migration of its own: on PostgreSQL a table whose
deferred foreign key checks are still pending cannot be altered in the same transaction, which undoing 0013 and
this together would do."""

from django.db import migrations

COPY_FORWARD = """
UPDATE communication_interaction SET delivery_id = (
    SELECT d.id FROM communication_delivery d WHERE d.interaction_id = communication_interaction.id
) WHERE id IN (SELECT interaction_id FROM communication_delivery WHERE interaction_id IS NOT NULL)
"""
COPY_BACK = """
UPDATE communication_delivery SET interaction_id = (
    SELECT i.id FROM communication_interaction i WHERE i.delivery_id = communication_delivery.id
) WHERE id IN (SELECT delivery_id FROM communication_interaction WHERE delivery_id IS NOT NULL)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("communication", "0013_delivery_moves_out"),
    ]

    operations = [
        migrations.RunSQL(COPY_FORWARD, COPY_BACK),
    ]
