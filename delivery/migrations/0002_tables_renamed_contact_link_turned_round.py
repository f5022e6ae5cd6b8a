"""The delivery app's tables take its own name, renamed in place with their rows. The delivery's old link to the
contact that logged it goes, once communication 0014 has copied it onto the interaction; and the message's tone
goes, since each family's copy was logged with it (a tone belongs to the contact, not to the transport)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0001_initial'),
        ('communication', '0014_interaction_names_its_delivery'),
    ]

    operations = [
        # The index's name is the thread table's new one: it takes another first.
        migrations.RenameIndex(model_name="delivery", new_name="delivery_of_thread", old_name="delivery_thread"),
        migrations.RemoveConstraint(
            model_name='message',
            name='message_tone_valid',
        ),
        migrations.RemoveField(
            model_name='delivery',
            name='interaction',
        ),
        migrations.RemoveField(
            model_name='message',
            name='tone',
        ),
        migrations.AlterModelTable(
            name='delivery',
            table=None,
        ),
        migrations.AlterModelTable(
            name='emailoptout',
            table=None,
        ),
        migrations.AlterModelTable(
            name='message',
            table=None,
        ),
        migrations.AlterModelTable(
            name='phoneoptout',
            table=None,
        ),
        migrations.AlterModelTable(
            name='thread',
            table=None,
        ),
    ]
