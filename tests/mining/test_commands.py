import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("expected_mining_output", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_prints_one_json_object_for_the_2016_halving_day():
    body = run("--day", "2016-07-09", "--hashrate-hs", str(10**16), "--fees-per-block-sats", "10000000")
    assert body["expected_sats"] == 2_305_735_985
    assert body["timezone"] == "Asia/Almaty"
    assert body["rounding"] == "ROUND_HALF_EVEN"
    assert body["hashrate_hs"] == str(10**16)
    assert [(s["seconds"], s["subsidy_sats"], s["epoch"]) for s in body["segments"]] == [
        (81973, 2_500_000_000, 208),
        (4427, 1_250_000_000, 208),
    ]
    assert body["segments"][0]["start"] == "2016-07-08T18:00:00+00:00"
    assert body["segments"][0]["difficulty"].startswith("213398925331.32")


def test_fees_default_to_the_setting(settings):
    settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS = 15_000_000
    body = run("--day", "2019-01-20", "--hashrate-hs", str(5 * 10**16))
    assert body["fees_per_block_sats"] == 15_000_000
    assert body["expected_sats"] == 216_243_270


def test_another_time_zone():
    body = run("--day", "2019-01-20", "--hashrate-hs", "1", "--timezone", "UTC")
    assert body["segments"][0]["start"] == "2019-01-20T00:00:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "2019-02-30", "--hashrate-hs", "1"], "Bad date"),
        (["--day", "2999-01-01", "--hashrate-hs", "1"], "not over yet"),
        (["--day", "2019-01-20", "--hashrate-hs", "-5"], "must not be negative"),
        (["--day", "2019-01-20", "--hashrate-hs", "lots"], "hashes per second"),
        (["--day", "2019-01-20", "--hashrate-hs", "1", "--fees-per-block-sats", "0.5"], "whole satoshis"),
        (["--day", "2019-01-20", "--hashrate-hs", "1", "--timezone", "Mars/Olympus"], "Unknown time zone"),
        (["--day", "2008-12-31", "--hashrate-hs", "1"], "genesis"),
    ],
)
def test_bad_input_fails_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_bad_input_exits_non_zero_from_the_shell():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "expected_mining_output", "--day", "yesterday", "--hashrate-hs", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode != 0
    assert "Bad date yesterday" in done.stderr
    assert done.stdout == ""
