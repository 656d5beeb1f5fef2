"""Load the shipped Bitcoin retarget epochs (mining/data/btc_difficulty_epochs.csv)."""

from django.db import migrations

from mining.chaindata import read_epoch_rows


def load(apps, schema_editor):
    NetworkEpoch = apps.get_model("mining", "NetworkEpoch")
    NetworkEpoch.objects.bulk_create(
        [NetworkEpoch(network="bitcoin", **row) for row in read_epoch_rows()], ignore_conflicts=True
    )


def unload(apps, schema_editor):
    apps.get_model("mining", "NetworkEpoch").objects.filter(network="bitcoin").delete()


class Migration(migrations.Migration):
    dependencies = [("mining", "0001_network_epochs")]
    operations = [migrations.RunPython(load, unload)]
