"""The approval flow against a bare posting of the same transfer.

    make bench            # or: .venv/bin/python bench/approval_flow.py --repeat 50

Builds a throw-away database (SQLite under /tmp unless DATABASE_URL is set) with the default
policies and their approvers, funds a custody wallet, then times, in one run:

- the project: a clerk makes a ``reserve.transfer`` request and two custody officers approve it
  (the second approval executes it: the posting, its lots and day balances, the audit rows);
- the baseline: ``post_entry`` of the same two-line transfer, fully checked, with no request.

Ends with ``bench: approval_flow db=DB ratio=R target=2.0`` (R = flow ÷ bare posting; lower is
better) and prints the queries each makes.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import setup_throwaway_django  # noqa: E402

TARGET = 2.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args, _unknown = parser.parse_known_args()  # make bench passes every script the same BENCH_ARGS

    setup_throwaway_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reserve import roles
    from reserve.approvals.services import bootstrap_approvers, create_request, decide
    from reserve.ledger.reasons import register_reason
    from reserve.ledger.services import Line, Origin, get_account, post_entry
    from reserve.models import ApprovalRequest, ApproverMembership, Asset, Wallet

    register_reason("bench.inflow", "Bench inflow", opens_lots=True, requires_approval=False)
    register_reason("bench.move", "Bench move", requires_approval=False)
    stamp = int(time.time())
    asset = Asset.objects.filter(symbol="BTC").first() or Asset.objects.create(
        symbol="BTC", name="Bitcoin", network="bitcoin", decimals=8
    )
    wallets = [
        Wallet.objects.create(
            code=f"flow-{stamp}-{i}", name=f"Flow {i}", kind="cold_multisig", network="bitcoin"
        )
        for i in range(2)
    ]
    # Registered long ago: a new wallet receives only after its cooling-off period.
    Wallet.objects.filter(pk__in=[w.pk for w in wallets]).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    source = get_account(wallet=wallets[0], category="reserve:forfeited", asset=asset)
    target = get_account(wallet=wallets[1], category="reserve:forfeited", asset=asset)
    external = get_account(wallet=None, category="external", asset=asset)
    post_entry(
        reason="bench.inflow",
        lines=[Line(external, -(10**14)), Line(source, 10**14)],
        origin=Origin(kind="bench", label="Opening balance"),
    )

    users = get_user_model().objects
    groups = {g.name: g for g in Group.objects.all()}

    def person(name: str, role: str):
        user = users.filter(username=name).first() or users.create_user(username=name, password=None)
        user.groups.add(groups[role])
        return user

    clerk = person("flow-clerk", roles.INTAKE_CLERK)
    officers = [person(f"flow-custody{i}", roles.CUSTODY_OFFICER) for i in range(3)]
    board = [person(f"flow-board{i}", roles.BOARD_MEMBER) for i in range(3)]
    treasury = [person(f"flow-treasury{i}", roles.TREASURY_OFFICER) for i in range(3)]
    if not ApproverMembership.objects.exists():
        bootstrap_approvers(
            assignments=[(u, groups[roles.CUSTODY_OFFICER]) for u in officers]
            + [(u, groups[roles.BOARD_MEMBER]) for u in board]
            + [(u, groups[roles.TREASURY_OFFICER]) for u in treasury]
        )

    def project(_i: int) -> None:
        request = create_request(
            kind="reserve.transfer",
            payload={
                "asset": "BTC",
                "amount": "0.00000001",
                "from_wallet": wallets[0].code,
                "to_wallet": wallets[1].code,
                "category": "reserve:forfeited",
            },
            maker=clerk,
        )
        for officer in officers[:2]:
            request = ApprovalRequest.objects.get(pk=request.pk)
            decide(
                request=request,
                approver=officer,
                verdict="approve",
                comment="Checked.",
                digest=request.payload_digest,
                second_factor=True,
            )
        assert ApprovalRequest.objects.get(pk=request.pk).status == "executed"

    def baseline(_i: int) -> None:
        post_entry(reason="bench.move", lines=[Line(source, -1), Line(target, 1)])

    def timed(fn) -> float:
        samples = []
        for i in range(1, args.repeat + 1):
            t = time.perf_counter()
            fn(i)
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    def queries(fn) -> int:
        with CaptureQueriesContext(connection) as captured:
            fn(0)
        return len(captured.captured_queries)

    base_q, project_q = queries(baseline), queries(project)
    base_s = timed(baseline)
    project_s = timed(project)
    ratio = project_s / base_s
    print(f"post_entry of the transfer, fully checked: {base_s * 1000:.2f} ms, {base_q} queries (baseline)")
    print(f"request + two approvals + execution: {project_s * 1000:.2f} ms, {project_q} queries")
    print(f"bench: approval_flow db={connection.vendor} ratio={ratio:.2f} target={TARGET}")


if __name__ == "__main__":
    main()
