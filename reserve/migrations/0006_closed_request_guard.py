from django.db import migrations

from reserve.dbguards import install_request_guard


class Migration(migrations.Migration):
    dependencies = [("reserve", "0005_api_clients")]

    operations = [install_request_guard()]
