"""What every benchmark script shares: a throw-away database set up through migrations, and a
small ledger built through the project's own services. (A package, so ``make bench``, which
runs ``bench/*.py``, does not run it as a benchmark.)"""

from __future__ import annotations

import os
import tempfile


def setup_throwaway_django() -> None:
    """Django on a new SQLite file under /tmp (or DATABASE_URL's database), migrated, with
    DEBUG off as in production (``DJANGO_DEBUG=1`` to turn it on): DEBUG logs every query's
    SQL, a cost per statement that production does not pay."""
    os.environ.setdefault("DJANGO_DEBUG", "0")
    workdir = tempfile.mkdtemp(prefix="sdaf-bench-")
    os.environ.setdefault("SQLITE_PATH", f"{workdir}/bench.sqlite3")
    os.environ.setdefault("RESERVE_VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reserve.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def two_wallet_ledger():
    """An asset, two custody wallets, their forfeited-reserve accounts and the external account,
    with the bench posting reasons registered: ``(asset, source, target, external)``."""
    from reserve.ledger.reasons import register_reason
    from reserve.ledger.services import get_account
    from reserve.models import Asset, Wallet

    register_reason("bench.inflow", "Bench inflow", opens_lots=True, requires_approval=False)
    register_reason("bench.move", "Bench move", requires_approval=False)
    asset = Asset.objects.create(symbol="BTC", name="Bitcoin", network="bitcoin", decimals=8)
    wallets = [
        Wallet.objects.create(code=f"w{i}", name=f"W{i}", kind="cold_multisig", network="bitcoin")
        for i in range(2)
    ]
    source = get_account(wallet=wallets[0], category="reserve:forfeited", asset=asset)
    target = get_account(wallet=wallets[1], category="reserve:forfeited", asset=asset)
    external = get_account(wallet=None, category="external", asset=asset)
    return asset, source, target, external
