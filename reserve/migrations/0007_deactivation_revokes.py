from django.conf import settings
from django.db import migrations

from reserve.dbguards import install_deactivation_revokes


class Migration(migrations.Migration):
    dependencies = [
        ("reserve", "0006_closed_request_guard"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [install_deactivation_revokes()]
