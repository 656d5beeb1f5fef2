"""The default approval policies of reserve's own kinds (registered from ``ready()``; see
:mod:`reserve.approvals.policies`). Intake and mining register theirs the same way."""

from reserve import roles
from reserve.approvals.policies import DefaultPolicy, register_default_policy

RESERVE_DEFAULT_POLICIES = (
    DefaultPolicy(10, "Policy changes", "reserve.policy_change", ((roles.BOARD_MEMBER, 2),)),
    DefaultPolicy(20, "Approver changes", "reserve.approver_change", ((roles.BOARD_MEMBER, 2),)),
    DefaultPolicy(
        25, "Authenticator replacements", "reserve.authenticator_reset", ((roles.BOARD_MEMBER, 2),)
    ),
    DefaultPolicy(30, "Governed settings", "reserve.setting_change", ((roles.BOARD_MEMBER, 2),)),
    DefaultPolicy(
        40,
        "Allow-list changes",
        "reserve.allowlist_change",
        ((roles.TREASURY_OFFICER, 1), (roles.BOARD_MEMBER, 1)),
    ),
    DefaultPolicy(
        45,
        "Custody changes",
        "reserve.custody_change",
        ((roles.CUSTODY_OFFICER, 1), (roles.BOARD_MEMBER, 1)),
    ),
    DefaultPolicy(
        50, "Disposals", "reserve.disposal", ((roles.TREASURY_OFFICER, 2), (roles.BOARD_MEMBER, 1))
    ),
    DefaultPolicy(60, "Transfers", "reserve.transfer", ((roles.CUSTODY_OFFICER, 2),)),
    DefaultPolicy(1000, "Everything else", "", ((roles.CUSTODY_OFFICER, 1), (roles.TREASURY_OFFICER, 1))),
)


def register_reserve_default_policies() -> None:
    for policy in RESERVE_DEFAULT_POLICIES:
        register_default_policy(policy)
