"""Clerks' screens for the reserve, one module per feature; importing the package registers them.

- :mod:`~reserve.admin.base`: the toolkit other apps' admins import (registers nothing);
- :mod:`~reserve.admin.service_models`: admins of rows added only through a service (intake's
  and mining's records; registers nothing);
- :mod:`~reserve.admin.proposals` and :mod:`~reserve.admin.forms`: proposal forms, which make
  requests the approval engine decides;
- :mod:`~reserve.admin.custody`: assets, wallets and addresses (edited here) and the allow-list;
- :mod:`~reserve.admin.ledger`: the ledger and the audit journal (read-only);
- :mod:`~reserve.admin.approvals`: policies, governed settings, requests and decisions;
- :mod:`~reserve.admin.users`: users, groups, approver memberships, authenticators;
- :mod:`~reserve.admin.api_clients`: the integration clients of the REST API;
- :mod:`~reserve.admin.valuations`: price sources, quotes, official rates, valuation snapshots,
  chain observations, reconciliation differences and the outbox (forms in
  :mod:`~reserve.admin.service_forms` call the pricing and chain services).

The approval engine's rows are read-only for everyone, superusers included: changes to who
decides are *proposed* here and decided by the quorum of the policy in force.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from reserve.admin import (  # noqa: F401  (they register)
    api_clients,
    approvals,
    custody,
    ledger,
    users,
    valuations,
)

admin.site.site_header = _("State Digital Asset Fund")
admin.site.site_title = _("State Digital Asset Fund")
admin.site.index_title = _("Back office")
