"""Customers' monthly ARPU and its change; the tier thresholds, one row."""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models


def thresholds_seed(apps, schema_editor):
    """The one row of thresholds, with the operator's defaults (A above 200, B from 120)."""
    apps.get_model("surveys", "TierThresholds").objects.get_or_create(pk=1)


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0012_survey_callback_promise'),
    ]

    operations = [
        migrations.AddField(
            model_name='customer',
            name='arpu',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100000'))], verbose_name='monthly ARPU (yuan)'),
        ),
        migrations.AddField(
            model_name='customer',
            name='arpu_trend_yuan',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="This month's ARPU minus last month's, in yuan; negative when it fell.", max_digits=9, null=True, validators=[django.core.validators.MinValueValidator(Decimal('-100000')), django.core.validators.MaxValueValidator(Decimal('100000'))], verbose_name='ARPU change on the previous month (yuan)'),
        ),
        migrations.AlterField(
            model_name='customer',
            name='tier',
            field=models.CharField(choices=[('A', 'A (high value)'), ('B', 'B'), ('C', 'C')], default='C', help_text="The CRM's tier, else derived from ARPU by the tier thresholds.", max_length=1, verbose_name='value tier'),
        ),
        migrations.CreateModel(
            name='TierThresholds',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('a_above', models.DecimalField(decimal_places=2, default=Decimal('200'), help_text='A customer whose monthly ARPU is above this is tier A.', max_digits=9, verbose_name='tier A: ARPU above (yuan)')),
                ('b_from', models.DecimalField(decimal_places=2, default=Decimal('120'), help_text='From this up to the tier A threshold (both included) is tier B; below, C.', max_digits=9, validators=[django.core.validators.MinValueValidator(Decimal('0'))], verbose_name='tier B: ARPU from (yuan)')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'tier thresholds',
                'verbose_name_plural': 'tier thresholds',
                'constraints': [models.CheckConstraint(condition=models.Q(('pk', 1)), name='tierthresholds_one_row'), models.CheckConstraint(condition=models.Q(('a_above__gt', models.F('b_from')), ('b_from__gte', 0)), name='tierthresholds_a_above_b_from')],
            },
        ),
        migrations.RunPython(thresholds_seed, migrations.RunPython.noop),
    ]
