"""The REST lists against plain ``.values()`` + ``JsonResponse`` views of the same rows.

    make bench            # or: .venv/bin/python bench/rest_lists.py --balances 10000 --lots 11000

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) with about N
balance rows (accounts of several assets, wallets and legal categories, funded by one journal
entry whose postings match the balances) and M open lots of one asset in one wallet (each
opened by a posting of an inflow entry), then fetches every page of ``/api/v1/balances/`` and
``/api/v1/wallets/<code>/lots/?asset=...`` with DRF's APIClient as a superuser (page_size=500,
following ``next``) and every page of a baseline view that returns the same rows through
``.values()`` and ``JsonResponse`` with the same page size and the same keyset filter
(``id > last``, ``ORDER BY id``). Prints the time per row of each and their ratio.
"""

import argparse
import datetime as dt
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TARGET = 1.5
PAGE_SIZE = 500


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--balances", type=int, default=10_000)
    parser.add_argument("--lots", type=int, default=11_000)
    parser.add_argument("--repeat", type=int, default=5)
    args, _unknown = parser.parse_known_args()

    setup_throwaway_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.http import JsonResponse
    from django.urls import clear_url_caches, include, path
    from django.utils import timezone
    from rest_framework.test import APIClient

    from reserve.amounts import format_amount
    from reserve.models import (
        Account,
        AccountDay,
        Asset,
        Category,
        JournalEntry,
        Lot,
        Posting,
        Wallet,
    )

    held = [c for c in Category.values if c != Category.EXTERNAL]
    n_assets = 10
    n_wallets = max(1, round(args.balances / (n_assets * len(held))))
    print(
        f"building {n_assets * n_wallets * len(held):,} balances and {args.lots:,} lots on {connection.vendor} ...",
        flush=True,
    )
    t0 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        assets = Asset.objects.bulk_create(
            Asset(symbol=f"A{i:02d}", name=f"Asset {i}", network="bitcoin", decimals=(8, 18, 6, 0)[i % 4])
            for i in range(n_assets)
        )
        wallets = Wallet.objects.bulk_create(
            Wallet(code=f"w{i:04d}", name=f"W{i}", kind="cold_multisig", network="bitcoin")
            for i in range(n_wallets + 1)
        )
        lots_wallet, wallets = wallets[-1], wallets[:-1]
        lots_asset = assets[0]

        # Balances: one inflow entry, a posting per account, the counterparty below zero.
        accounts, amounts = [], {}
        for a_i, asset in enumerate(assets):
            for w_i, wallet in enumerate(wallets):
                for c_i, category in enumerate(held):
                    units = 1 + (a_i * 7919 + w_i * 104729 + c_i * 31) * 1_000_003 % 10**12
                    account = Account(wallet=wallet, category=category, asset=asset, balance=units)
                    accounts.append(account)
        # Lots: one inflow entry, a posting and a root lot per lot, over the held categories.
        lot_accounts = [
            Account(wallet=lots_wallet, category=category, asset=lots_asset, balance=0)
            for category in Category.values
            if category in ("custody:pending", "reserve:forfeited", "reserve:mined", "restricted")
        ]
        lot_units = [1 + (i * 2654435761) % 10**10 for i in range(args.lots)]
        for i, units in enumerate(lot_units):
            lot_accounts[i % len(lot_accounts)].balance += units
        externals = [
            Account(wallet=None, category=Category.EXTERNAL, asset=asset, balance=0) for asset in assets
        ]
        for account in accounts + lot_accounts:
            amounts[account.asset.pk] = amounts.get(account.asset.pk, 0) + account.balance
        for external in externals:
            external.balance = -amounts[external.asset.pk]
        Account.objects.bulk_create(accounts + lot_accounts + externals, batch_size=2_000)

        entry = JournalEntry.objects.create(
            number="2026-000001",
            year=2026,
            sequence=1,
            effective_at=now,
            posted_at=now,
            reason="bench.inflow",
        )
        postings = [
            Posting(
                entry=entry,
                line=i + 1,
                account=a,
                amount=a.balance,
                balance_after=a.balance,
                effective_at=now,
            )
            for i, a in enumerate(accounts)
        ]
        postings += [
            Posting(
                entry=entry,
                line=len(postings) + i + 1,
                account=e,
                amount=e.balance + sum(a.balance for a in lot_accounts if a.asset_id == e.asset_id),
                balance_after=e.balance + sum(a.balance for a in lot_accounts if a.asset_id == e.asset_id),
                effective_at=now,
            )
            for i, e in enumerate(externals)
        ]
        Posting.objects.bulk_create(postings, batch_size=2_000)

        lots_entry = JournalEntry.objects.create(
            number="2026-000002",
            year=2026,
            sequence=2,
            effective_at=now,
            posted_at=now,
            reason="bench.inflow",
        )
        running = {a.pk: 0 for a in lot_accounts}
        lot_postings = []
        for i, units in enumerate(lot_units):
            account = lot_accounts[i % len(lot_accounts)]
            running[account.pk] += units
            lot_postings.append(
                Posting(
                    entry=lots_entry,
                    line=i + 1,
                    account=account,
                    amount=units,
                    balance_after=running[account.pk],
                    effective_at=now,
                )
            )
        external = next(e for e in externals if e.asset_id == lots_asset.pk)
        lot_postings.append(
            Posting(
                entry=lots_entry,
                line=len(lot_postings) + 1,
                account=external,
                amount=-sum(lot_units),
                balance_after=external.balance,
                effective_at=now,
            )
        )
        Posting.objects.bulk_create(lot_postings, batch_size=2_000)
        Lot.objects.bulk_create(
            (
                Lot(
                    account=p.account,
                    opened_by=p,
                    origin_kind="intake.seized_item",
                    origin_label=f"Court order {i}/2026, item {i % 17}",
                    restriction="no_sale" if i % 5 == 0 else "",
                    amount=p.amount,
                    remaining=p.amount,
                    opened_at=now - dt.timedelta(seconds=args.lots - i),
                )
                for i, p in enumerate(lot_postings[:-1])
            ),
            batch_size=2_000,
        )
        AccountDay.objects.bulk_create(
            (
                AccountDay(account=a, day=timezone.localdate(now), delta=a.balance, closing=a.balance)
                for a in accounts + lot_accounts + externals
            ),
            batch_size=2_000,
        )
        user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", "bench")
    print(f"built in {time.perf_counter() - t0:.1f} s", flush=True)

    # The baselines: the same rows, page size and keyset filter, through .values() + JsonResponse.
    def keyset_page(request, qs, shape):
        size = int(request.GET.get("page_size", PAGE_SIZE))
        after = int(request.GET.get("after", 0))
        rows = [shape(row) for row in qs.filter(id__gt=after).order_by("id")[: size + 1]]
        more = len(rows) > size
        rows = rows[:size]
        query = request.GET.copy()
        query["after"] = rows[-1]["id"] if rows else after
        nxt = f"{request.path}?{query.urlencode()}" if more else None
        return JsonResponse({"next": nxt, "results": rows})

    def baseline_balances(request):
        qs = Account.objects.exclude(category=Category.EXTERNAL).values(
            "id", "wallet__code", "category", "asset__symbol", "asset__decimals", "balance"
        )
        return keyset_page(
            request,
            qs,
            lambda r: {
                "id": r["id"],
                "wallet": r["wallet__code"],
                "category": r["category"],
                "asset": r["asset__symbol"],
                "decimals": r["asset__decimals"],
                "balance": format_amount(r["balance"], r["asset__decimals"]),
            },
        )

    def baseline_lots(request, code):
        wallet = Wallet.objects.get(code=code)
        asset = Asset.objects.get(symbol=request.GET["asset"])
        qs = Lot.objects.filter(account__wallet=wallet, account__asset=asset, remaining__gt=0).values(
            "id",
            "root_id",
            "account__category",
            "origin_kind",
            "origin_label",
            "restriction",
            "opened_at",
            "remaining",
        )
        return keyset_page(
            request,
            qs,
            lambda r: {
                "id": r["id"],
                "root_lot_id": r["root_id"] or r["id"],
                "category": r["account__category"],
                "origin_kind": r["origin_kind"],
                "origin_label": r["origin_label"],
                "restriction": r["restriction"],
                "opened_at": r["opened_at"],
                "remaining": format_amount(r["remaining"], asset.decimals),
            },
        )

    urls = types.ModuleType("bench_rest_lists_urls")
    urls.urlpatterns = [
        path("bench/balances/", baseline_balances),
        path("bench/wallets/<str:code>/lots/", baseline_lots),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    clear_url_caches()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_client": None}}

    client = APIClient()
    client.force_authenticate(user=user)

    def fetch_all(url, params):
        """Every page, following ``next``: (rows, ids of the rows, seconds)."""
        ids, rows = [], []
        t = time.perf_counter()
        response = client.get(url, params)
        while True:
            assert response.status_code == 200, response.content[:500]
            body = response.json()
            rows.extend(body["results"])
            if not body["next"]:
                break
            response = client.get(body["next"])
        elapsed = time.perf_counter() - t
        ids = [r.get("id") for r in rows]
        return rows, ids, elapsed

    def compare(name, project_url, baseline_url, params, key):
        best_project = best_baseline = None
        for _ in range(args.repeat):
            base_rows, _ids, base_s = fetch_all(baseline_url, {**params, "page_size": PAGE_SIZE})
            proj_rows, _ids, proj_s = fetch_all(
                project_url, {**params, "page_size": PAGE_SIZE, "limit": PAGE_SIZE}
            )
            best_baseline = base_s if best_baseline is None else min(best_baseline, base_s)
            best_project = proj_s if best_project is None else min(best_project, proj_s)
        if [key(r) for r in proj_rows] != [key(r) for r in base_rows]:
            sys.exit(f"{name}: the project and the baseline return different rows")
        per_project = best_project / len(proj_rows)
        per_baseline = best_baseline / len(base_rows)
        print(
            f"{name}: {len(proj_rows):,} rows in pages of {PAGE_SIZE}: project {per_project * 1e6:.1f} us/row "
            f"({best_project * 1000:.0f} ms), .values() + JsonResponse {per_baseline * 1e6:.1f} us/row "
            f"({best_baseline * 1000:.0f} ms)",
            flush=True,
        )
        return per_project / per_baseline

    balances_ratio = compare(
        "balances",
        "/api/v1/balances/",
        "/bench/balances/",
        {},
        lambda r: (r["wallet"], r["category"], r["asset"], r["decimals"], r["balance"]),
    )
    lots_ratio = compare(
        "lots",
        f"/api/v1/wallets/{lots_wallet.code}/lots/",
        f"/bench/wallets/{lots_wallet.code}/lots/",
        {"asset": lots_asset.symbol},
        lambda r: (
            r["id"],
            r["root_lot_id"],
            r["category"],
            r["origin_label"],
            r["restriction"],
            r["remaining"],
        ),
    )
    print(f"bench: rest_balances db={connection.vendor} ratio={balances_ratio:.2f} target={TARGET}")
    print(f"bench: rest_lots db={connection.vendor} ratio={lots_ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
