from django.db import migrations

from reserve.dbguards import install_guards


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [
        install_guards(["intake_courtdocument", "intake_custodyevent"]),
    ]
