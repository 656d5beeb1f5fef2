"""Who may make a kind: ``RequestKind.maker_roles``, enforced by the engine for every face."""

from __future__ import annotations

import pytest

from intake.transitions import TAKE_INTO_CUSTODY, request_custody_intake
from reserve import roles
from reserve.approvals.errors import ApprovalError
from reserve.approvals.registry import get_kind
from reserve.approvals.services import amend_request
from reserve.models import ApprovalRequest

pytestmark = pytest.mark.django_db


def test_intake_kinds_are_made_by_intake_clerks_only():
    assert get_kind(TAKE_INTO_CUSTODY).maker_roles == (roles.INTAKE_CLERK,)


def test_a_custody_officer_may_not_make_an_intake_request(team, register):
    item = register()
    with pytest.raises(ApprovalError) as refused:
        request_custody_intake(item=item, received_amount="0.5", evidence="Statement", maker=team.custody1)
    assert refused.value.code == "refused"
    assert "Intake clerk" in refused.value.message
    assert not ApprovalRequest.objects.exists()


def test_an_intake_clerk_may_make_one(team, register):
    request = request_custody_intake(
        item=register(), received_amount="0.5", evidence="Statement", maker=team.maker
    )
    assert request.maker == team.maker


def test_amending_checks_the_role_too(team, register):
    request = request_custody_intake(
        item=register(), received_amount="0.5", evidence="Statement", maker=team.maker
    )
    from django.contrib.auth.models import Group

    team.maker.groups.set([Group.objects.get(name=roles.CUSTODY_OFFICER)])  # moved to custody
    maker = type(team.maker).objects.get(pk=team.maker.pk)
    with pytest.raises(ApprovalError) as refused:
        amend_request(request=request, payload=dict(request.payload), maker=maker)
    assert refused.value.code == "refused" and "Intake clerk" in refused.value.message


def test_a_kind_without_maker_roles_keeps_every_maker_role():
    assert get_kind("reserve.transfer").maker_roles is None
