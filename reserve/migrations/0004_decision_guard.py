from django.db import migrations

from reserve.dbguards import install_guards


class Migration(migrations.Migration):
    dependencies = [("reserve", "0003_approval_engine")]

    operations = [install_guards(["reserve_decision"])]
