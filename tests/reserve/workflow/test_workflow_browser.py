"""The workflow screens in a real headless Chromium (Playwright): a maker proposes a transfer,
two custody officers approve it with their second factor, and the ledger shows the change;
the maker cannot approve their own request.

Needs Chromium at /usr/bin/chromium (Debian: ``apt-get install chromium``); skipped without it,
except under CI=true, where a missing browser fails the run instead of hiding the tests.
Playwright drives the browser, not its own downloaded builds (never ``playwright install``).
"""

import os
from base64 import b32decode
from pathlib import Path

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reserve.approvals.services import create_request
from reserve.ledger.services import get_account
from reserve.models import ApprovalRequest, RequestStatus

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-staple"
SCREENSHOT = Path("/tmp/workflow_request_page.png")
SCREENSHOT_FORM = Path("/tmp/workflow_request_form.png")

playwright_sync = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = playwright_sync.expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    if not CHROMIUM.exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}: the browser tests must run in CI")
        pytest.skip(missing)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls (setup,
    # assertions) are plain synchronous code that Django would otherwise refuse inside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{token:0{device.digits}d}"


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Inbox")


def log_out(page) -> None:
    page.click(".logout-form button")
    expect(page.locator("h1")).to_have_text("Sign in")


def approve_with_second_factor(page, live_server, username: str, device: TOTPDevice, reference: str) -> None:
    log_in(page, live_server, username)
    page.screenshot(path="/tmp/workflow_inbox.png", full_page=True)
    page.locator("#awaiting").get_by_role("link", name=reference).click()
    expect(page.locator("#second-factor-needed")).to_be_visible()
    page.get_by_role("link", name="Verify with your authenticator app").click()
    page.fill("#id_code", current_code(device))
    page.click("#otp-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Second factor verified.")
    page.fill("#id_comment", f"Checked by {username} against the board memo.")
    page.screenshot(path=str(SCREENSHOT_FORM), full_page=True)
    page.click("button[value=approve]")


def test_a_transfer_is_proposed_approved_by_two_officers_and_posted(
    page, live_server, team, funded_with_destination, wallet, other_wallet, asset
):
    devices = {
        name: TOTPDevice.objects.create(user=getattr(team, name), name="Phone", confirmed=True)
        for name in ("custody1", "custody2")
    }

    # The maker proposes the transfer through the form.
    log_in(page, live_server, "maker")
    page.get_by_role("link", name="New transfer").click()
    page.select_option("#id_asset", "BTC")
    page.fill("#id_amount", "1.25")
    page.select_option("#id_from_wallet", wallet.code)
    page.select_option("#id_to_wallet", other_wallet.code)
    page.select_option("#id_category", "reserve:forfeited")
    page.fill("#id_comment", "Rebalancing cold storage before the audit.")
    page.fill("#id_evidence", "Board memo 12/2026")
    page.click("#transfer-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("awaits approval")
    approval = ApprovalRequest.objects.get()
    expect(page.locator("#action-digest")).to_have_text(approval.payload_digest)
    expect(page.locator("#refusal-reason")).to_have_text("You made this request; the maker cannot decide it.")
    log_out(page)

    # Two custody officers approve, each with their second factor.
    approve_with_second_factor(page, live_server, "custody1", devices["custody1"], approval.reference)
    expect(page.locator(".messages")).to_contain_text(
        "Your approval is recorded; further approvals are needed."
    )
    expect(page.locator("#quorum-progress")).to_contain_text("1/2 Custody officer")
    log_out(page)

    approve_with_second_factor(page, live_server, "custody2", devices["custody2"], approval.reference)
    expect(page.locator(".messages")).to_contain_text(
        "Your approval completed the quorum; the action was executed."
    )
    expect(page.locator("#request-status")).to_have_text("Approved and executed")
    posted = page.locator("#ledger-effect")
    expect(posted).to_contain_text("Posted to the ledger")
    expect(posted.locator("tr", has_text="cold-b")).to_contain_text("1.25000000 BTC")
    expect(posted.locator("tr", has_text="cold-a")).to_contain_text("-1.25000000 BTC")
    expect(posted.locator("tr", has_text="cold-a")).to_contain_text("3.75000000 BTC")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The dashboard shows the destination wallet's new balance.
    page.get_by_role("link", name="Dashboard").click()
    destination = page.locator('#wallet-balances tr[data-account="cold-b/reserve:forfeited/BTC"]')
    expect(destination).to_contain_text("1.25000000 BTC")
    page.screenshot(path="/tmp/workflow_dashboard.png", full_page=True)

    approval.refresh_from_db()
    assert approval.status == RequestStatus.EXECUTED
    assert get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset).balance == 125_000_000


def test_the_maker_cannot_approve_their_own_request(
    page, live_server, team, funded_with_destination, wallet, other_wallet
):
    approval = create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "0.5",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
    )
    log_in(page, live_server, "maker")
    page.goto(f"{live_server.url}{reverse('workflow:request', args=[approval.pk])}")
    expect(page.locator("#refusal-reason")).to_have_text("You made this request; the maker cannot decide it.")
    expect(page.locator("button[value=approve]")).to_have_count(0)
    expect(page.locator("button[value=reject]")).to_have_count(0)
    approval.refresh_from_db()
    assert approval.status == RequestStatus.PENDING
    assert not approval.decisions.exists()


def test_a_new_approver_enrols_an_authenticator_and_decides(
    page, live_server, team, funded_with_destination, wallet, other_wallet
):
    approval = create_request(
        kind="reserve.transfer",
        payload={
            "asset": "BTC",
            "amount": "0.5",
            "from_wallet": wallet.code,
            "to_wallet": other_wallet.code,
            "category": "reserve:forfeited",
        },
        maker=team.maker,
    )
    log_in(page, live_server, "custody3")
    page.goto(f"{live_server.url}{reverse('workflow:request', args=[approval.pk])}")
    page.get_by_role("link", name="Set up your authenticator app").click()
    expect(page.locator("#otp-qr svg")).to_be_visible()
    page.screenshot(path="/tmp/workflow_enrol.png", full_page=True)
    # What the phone would do: read the secret shown on the page and compute the code.
    secret = b32decode(page.locator("#otp-secret").inner_text().strip())
    page.fill("#id_code", f"{TOTP(secret).token():06d}")
    page.click("#otp-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Your authenticator app is set up")
    page.click("button[value=reject]")
    expect(page.locator("#decision-form .field-errors")).to_contain_text("Say why you reject the request.")
    page.fill("#id_comment", "The destination wallet is being re-keyed this week.")
    page.click("button[value=reject]")
    expect(page.locator("#request-status")).to_have_text("Rejected")
    approval.refresh_from_db()
    assert approval.status == RequestStatus.REJECTED
