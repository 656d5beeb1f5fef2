from django.db import migrations

from reserve.dbguards import install_guards


class Migration(migrations.Migration):
    dependencies = [("reserve", "0001_initial")]

    operations = [
        install_guards(
            ["reserve_journalentry", "reserve_posting", "reserve_lotmovement", "reserve_auditevent"]
        ),
    ]
