"""The preference taxonomy and customers' values."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('surveys', '0013_customer_arpu_tier_thresholds'),
    ]

    operations = [
        migrations.CreateModel(
            name='PreferenceClass',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=48, unique=True, verbose_name='code')),
                ('name_zh', models.CharField(max_length=100, verbose_name='name (Chinese)')),
                ('name_en', models.CharField(max_length=100, verbose_name='name (English)')),
                ('order', models.PositiveSmallIntegerField(default=100, verbose_name='order')),
            ],
            options={
                'verbose_name': 'preference class',
                'verbose_name_plural': 'preference classes',
                'ordering': ['order', 'code'],
            },
        ),
        migrations.CreateModel(
            name='PreferenceFeature',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=48, unique=True, verbose_name='code')),
                ('name_zh', models.CharField(max_length=100, verbose_name='name (Chinese)')),
                ('name_en', models.CharField(max_length=100, verbose_name='name (English)')),
                ('order', models.PositiveSmallIntegerField(default=100, verbose_name='order')),
                ('active', models.BooleanField(default=True, help_text='The CRM may send values for active features only.', verbose_name='active')),
                ('preference_class', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='features', to='care.preferenceclass', verbose_name='class')),
            ],
            options={
                'verbose_name': 'preference feature',
                'verbose_name_plural': 'preference features',
                'ordering': ['preference_class__order', 'order', 'code'],
            },
        ),
        migrations.CreateModel(
            name='CustomerPreference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.FloatField(validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)], verbose_name='value (0-1)')),
                ('source', models.CharField(choices=[('crm', 'CRM'), ('learned', 'Learned from campaigns')], max_length=8, verbose_name='source')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='preferences', to='surveys.customer', verbose_name='customer')),
                ('feature', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='customer_values', to='care.preferencefeature', verbose_name='feature')),
            ],
            options={
                'verbose_name': 'customer preference',
                'verbose_name_plural': 'customer preferences',
                'constraints': [models.UniqueConstraint(fields=('customer', 'feature'), name='customerpreference_once_per_feature'), models.CheckConstraint(condition=models.Q(('value__gte', 0), ('value__lte', 1)), name='customerpreference_value_0_1')],
            },
        ),
    ]
