"""Bitcoin's consensus arithmetic and the shipped network data, as pure Python.

* The exact difficulty of an epoch follows from its compact target ``bits``:
  ``difficulty = MAX_TARGET / target`` with ``MAX_TARGET = 0xFFFF · 2^208`` (the target of
  difficulty 1). It is a :class:`~fractions.Fraction`; the published decimal difficulty (Core's
  double) is kept only to cross-check.
* The block subsidy follows from the height: ``50 BTC >> (height // 210000)`` in satoshis.
* Halving times (the timestamp of block 210000·k) are read from ``data/btc_halvings.csv``.

New epochs and missing start times come from a clerk (admin) or from a chain source
(``mining.services.sync_epochs``, ``manage.py sync_network_epochs``), both through
``mining.services.record_epoch`` (the one write path for epochs).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
EPOCHS_CSV = DATA_DIR / "btc_difficulty_epochs.csv"
HALVINGS_CSV = DATA_DIR / "btc_halvings.csv"

MAX_TARGET = 0xFFFF << 208
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SATS = 50 * 100_000_000
BLOCKS_PER_EPOCH = 2016
#: A block's hash is a uniform draw from 2^256 values; difficulty 1 needs 2^32 hashes on average.
HASHES_PER_DIFFICULTY = 2**32


def target_from_bits(bits: int) -> int:
    """The full 256-bit target encoded by the compact ``nBits`` (mantissa · 256^(exponent-3))."""
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    if bits & 0x00800000 or mantissa == 0:
        raise ValueError(f"bits {bits:08x} encode no positive target")
    shift = 8 * (exponent - 3)
    target = mantissa << shift if shift >= 0 else mantissa >> -shift
    if not 0 < target <= MAX_TARGET:
        raise ValueError(f"bits {bits:08x} encode a target outside (0, max target]")
    return target


def difficulty_from_bits(bits: int) -> Fraction:
    """The exact difficulty of a block with compact target ``bits``."""
    return Fraction(MAX_TARGET, target_from_bits(bits))


def parse_bits(text: str) -> int:
    text = (text or "").strip().lower()
    if len(text) != 8 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"bits must be 8 hexadecimal digits, not {text!r}")
    return int(text, 16)


def subsidy_sats(height: int) -> int:
    """The block subsidy at ``height`` in satoshis (zero after 64 halvings, as in Core)."""
    if height < 0:
        raise ValueError("height must not be negative")
    halvings = height // HALVING_INTERVAL
    return 0 if halvings >= 64 else INITIAL_SUBSIDY_SATS >> halvings


@dataclass(frozen=True)
class Epoch:
    """One retarget epoch as the expected-output selector needs it."""

    epoch: int
    start_height: int
    start_time: dt.datetime | None  # UTC timestamp of the epoch's first block; None if unknown
    bits: int

    @property
    def difficulty(self) -> Fraction:
        return difficulty_from_bits(self.bits)


@dataclass(frozen=True)
class Halving:
    height: int
    time: dt.datetime | None  # UTC timestamp of block ``height``; None if not yet known

    @property
    def subsidy_sats(self) -> int:
        """The subsidy from this block on."""
        return subsidy_sats(self.height)


def _utc(text: str) -> dt.datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def read_epoch_rows(path: Path = EPOCHS_CSV) -> list[dict]:
    """The shipped epochs as plain dicts (what the data migration loads)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return [
            {
                "epoch": int(row["epoch"]),
                "start_height": int(row["start_height"]),
                "start_time": _utc(row["start_time_utc"]),
                "bits": row["bits"].strip().lower(),
                "published_difficulty": row["difficulty"].strip(),
                "first_block_hash": row["first_block_hash"].strip(),
                "source": row["source"].strip(),
            }
            for row in csv.DictReader(fh)
        ]


def shipped_epochs() -> tuple[Epoch, ...]:
    return tuple(
        Epoch(r["epoch"], r["start_height"], r["start_time"], parse_bits(r["bits"]))
        for r in read_epoch_rows()
    )


@lru_cache(maxsize=1)
def shipped_halvings() -> tuple[Halving, ...]:
    """Halvings 1… from the shipped CSV (row 0, the genesis block, is not a halving)."""
    with HALVINGS_CSV.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(
        Halving(height=int(r["height"]), time=_utc(r["timestamp_utc"])) for r in rows if int(r["height"]) > 0
    )
