from django.db import migrations, models
from django.db.models import Max


def fetch_ids(apps, schema_editor):
    """A fetch part-way marked its devices with the id of the job that listed them: that job names the fetch."""
    Token = apps.get_model("tokens", "EnrollmentProgramToken")
    Device = apps.get_model("devices", "Device")
    for token in Token.objects.filter(sync_cursor_is_fetch=True).exclude(sync_cursor=""):
        marker = Device.objects.filter(token_id=token.pk).aggregate(m=Max("full_sync_job_id"))["m"]
        Token.objects.filter(pk=token.pk).update(sync_fetch_job_id=marker or 0)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0001_initial"),
        ("devices", "0005_device_op_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrollmentprogramtoken",
            name="sync_fetch_job_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(fetch_ids, migrations.RunPython.noop),
        migrations.RemoveField(model_name="enrollmentprogramtoken", name="sync_cursor_is_fetch"),
    ]
