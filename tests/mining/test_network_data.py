import csv
from decimal import Decimal
from fractions import Fraction

import pytest

from mining.chaindata import (
    EPOCHS_CSV,
    MAX_TARGET,
    difficulty_from_bits,
    shipped_halvings,
    subsidy_sats,
    target_from_bits,
)
from mining.models import NetworkEpoch


def test_the_exact_difficulty_from_bits_agrees_with_every_published_difficulty():
    with EPOCHS_CSV.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 474
    for row in rows:
        published = Decimal(row["difficulty"])
        last_digit = Fraction(Decimal(1).scaleb(published.as_tuple().exponent))
        exact = difficulty_from_bits(int(row["bits"], 16))
        # Core computes the difficulty in doubles and prints 16 significant digits: the
        # exact value is within two units of the last printed digit.
        assert abs(exact - Fraction(published)) <= 2 * last_digit, row["epoch"]


def test_known_epochs_of_the_halvings():
    assert target_from_bits(0x1D00FFFF) == MAX_TARGET
    assert difficulty_from_bits(0x1D00FFFF) == 1
    assert round(float(difficulty_from_bits(0x17117A39)), 2) == 16104807485529.38
    assert round(float(difficulty_from_bits(0x17034219)), 2) == 86388558925171.02


def test_subsidy_follows_the_schedule_table():
    with (EPOCHS_CSV.parent / "btc_subsidy_schedule.csv").open() as fh:
        for row in csv.DictReader(fh):
            assert subsidy_sats(int(row["first_height"])) == int(row["subsidy_sats"])
            assert subsidy_sats(int(row["last_height"])) == int(row["subsidy_sats"])
    assert subsidy_sats(64 * 210_000) == 0


def test_halvings_are_shipped_with_their_times():
    heights = [h.height for h in shipped_halvings()]
    assert heights == [210_000, 420_000, 630_000, 840_000, 1_050_000]
    assert shipped_halvings()[-1].time is None
    assert shipped_halvings()[2].time.isoformat() == "2020-05-11T19:23:43+00:00"


@pytest.mark.django_db
def test_the_data_migration_loaded_every_epoch():
    assert NetworkEpoch.objects.filter(network="bitcoin").count() == 474
    e312 = NetworkEpoch.objects.get(network="bitcoin", epoch=312)
    assert e312.start_height == 628_992
    assert e312.start_time.isoformat() == "2020-05-05T04:05:21+00:00"
    assert e312.bits == "17117a39"
    assert NetworkEpoch.objects.get(network="bitcoin", epoch=437).start_time is None
