# A staff member's own time zone (StaffProfile), and a case's root causes many-valued:
# each resolved case keeps its one root cause, copied into the new list.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def root_cause_copy(apps, schema_editor):
    Case = apps.get_model("followups", "Case")
    Through = Case.root_causes.through
    Through.objects.bulk_create(
        Through(case_id=pk, reasoncategory_id=cause)
        for pk, cause in Case.objects.filter(root_cause__isnull=False).values_list(
            "pk", "root_cause_id"
        ).iterator()
    )


def root_cause_restore(apps, schema_editor):
    Case = apps.get_model("followups", "Case")
    for case in Case.objects.filter(root_causes__isnull=False).distinct():
        Case.objects.filter(pk=case.pk).update(root_cause=case.root_causes.order_by("pk").first())


class Migration(migrations.Migration):

    dependencies = [
        ('followups', '0011_case_hold'),
        ('surveys', '0010_survey_max_age'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='root_cause',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='surveys.reasoncategory', verbose_name='root cause'),
        ),
        migrations.AddField(
            model_name='case',
            name='root_causes',
            field=models.ManyToManyField(blank=True, related_name='cases', to='surveys.reasoncategory', verbose_name='root causes'),
        ),
        migrations.RunPython(root_cause_copy, root_cause_restore),
        migrations.RemoveField(
            model_name='case',
            name='root_cause',
        ),
        migrations.CreateModel(
            name='StaffProfile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time_zone', models.CharField(blank=True, help_text='Blank: the time zone of your team.', max_length=64, verbose_name='time zone')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='staff_profile', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'staff profile',
                'verbose_name_plural': 'staff profiles',
            },
        ),
    ]
