"""The engine's one refusal type and the codes that say which rule refused.

Every face maps a refusal the same way (the REST API in ``reserve.api.errors``, the screens
show the message): field errors are the caller's input; a code in :data:`STATE_CONFLICTS`
means the request's state is in the way (reload and retry); ``refused`` means the caller may
not do this at all; ``unmeetable`` means no approvers in force could ever decide it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ApprovalError(ValidationError):
    """A refused request or decision; the message says why. Nothing was written."""


#: Refusal codes that mean the request's state is in the way (the caller may retry after
#: reloading), as opposed to ``refused``: the caller may not do this at all.
STATE_CONFLICTS = frozenset(
    {"not_pending", "expired", "policy_changed", "digest_mismatch", "already_decided", "deactivated"}
)
