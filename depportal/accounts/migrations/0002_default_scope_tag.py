from django.db import migrations


def create_default_tag(apps, schema_editor):
    ScopeTag = apps.get_model("accounts", "ScopeTag")
    ScopeTag.objects.get_or_create(name="Default", defaults={"description": "Built-in tag."})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_default_tag, migrations.RunPython.noop)]
