import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("roster", "0004_school_office_phone"),
    ]

    operations = [
        migrations.AddField(
            model_name="school",
            name="good_news_days",
            field=models.PositiveSmallIntegerField(
                default=14,
                help_text="A child with no good news told to the family for this long joins the teacher's good news queue.",
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(180)],
                verbose_name="good news every (days)",
            ),
        ),
        migrations.AddConstraint(
            model_name="school",
            constraint=models.CheckConstraint(
                condition=models.Q(("good_news_days__gte", 1), ("good_news_days__lte", 180)),
                name="school_good_news_days_range",
            ),
        ),
    ]
