"""Kept only because ``reserve.kinds`` names ``reserve.forms.TransferForm`` as the transfer
kind's ``form_class`` and is owned by another change. The workflow forms live in
:mod:`reserve.workflow.forms`; once the kind names that path, delete this module."""

from reserve.workflow.forms import TransferForm

__all__ = ["TransferForm"]
