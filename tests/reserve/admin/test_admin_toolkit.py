"""The admin toolkit (``reserve.admin.base``) that other apps' admins build on."""

import importlib.util
from pathlib import Path

from django.contrib import admin

import reserve.admin.base
from reserve.admin import api_clients, approvals, custody, ledger, users, valuations


def test_the_toolkit_registers_nothing_and_leaves_the_site_as_it_is():
    """Running the toolkit's module anew (as intake or mining importing it) adds no admin and
    renames nothing: registration is the business of the feature modules."""
    registry_before = dict(admin.site._registry)
    titles_before = (admin.site.site_header, admin.site.site_title, admin.site.index_title)
    spec = importlib.util.spec_from_file_location("toolkit_copy", Path(reserve.admin.base.__file__))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert admin.site._registry == registry_before
    assert (admin.site.site_header, admin.site.site_title, admin.site.index_title) == titles_before
    assert module.GuardedHistoryAdmin.__name__ == "GuardedHistoryAdmin"


def test_every_admin_of_the_reserve_is_registered_from_its_feature_module():
    modules = {
        custody.__name__,
        ledger.__name__,
        approvals.__name__,
        users.__name__,
        api_clients.__name__,
        valuations.__name__,
    }
    reserve_admins = {
        type(model_admin).__module__
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "reserve"
    }

    assert reserve_admins <= modules
    assert reserve.admin.base.__name__ not in reserve_admins


def test_one_read_only_mixin_serves_the_engine_and_the_api_client_screens():
    call_log = admin.site.get_model_admin(api_clients.ApiCallLog)
    decisions = admin.site.get_model_admin(approvals.Decision)

    assert isinstance(call_log, reserve.admin.base.ReadOnlyAdminMixin)
    assert isinstance(decisions, reserve.admin.base.ReadOnlyAdminMixin)
