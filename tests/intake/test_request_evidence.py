"""Approvers see an intake request's evidence: the court order and its signed document (through
the hash-checking view) and the case page; the maker's own evidence is shown beside it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake.documents import store_document
from intake.transitions import request_custody_intake, request_forfeiture
from tests.support.screens import request_url, signed_in, text

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_forfeiture_request_links_the_verdict_its_document_and_the_case(
    team, in_custody, final_order, clerk
):
    item = in_custody()
    document = store_document(upload=PDF, name="verdict.pdf", actor=clerk)
    verdict = final_order(document=document)
    request = request_forfeiture(item=item, order=verdict, maker=team.maker)

    page = signed_in(team.board1).get(request_url(request))

    html = page.content.decode()
    assert f'href="{reverse("intake:court-document", args=[document.pk])}"' in html
    assert f'href="{reverse("intake:case", args=[item.order.case_id])}"' in html
    shown = text(page)
    assert f"Court order {verdict.number}" in shown and f"Court order {item.order.number}" in shown
    assert document.sha256 in shown


def test_an_order_without_a_document_says_so(team, register):
    item = register()
    request = request_custody_intake(
        item=item, received_amount="0.5", evidence="Bank statement", maker=team.maker
    )

    shown = text(signed_in(team.custody1).get(request_url(request)))

    assert "no signed document recorded" in shown
    assert "Bank statement" in shown
