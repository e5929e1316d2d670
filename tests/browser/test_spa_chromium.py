"""The SPA example (examples/spa) in a real, headless Chromium: Debian's /usr/bin/chromium driven by
Playwright's sync API (never ``playwright install``: it downloads a browser; the system one is used).

The server runs under uvicorn on 127.0.0.1 and the page is opened as ``http://localhost:<port>/``:
Chromium treats localhost as a secure context, so the library's ``Secure`` cookies are kept and
sent. The access session lives 3 s; once Chromium has dropped its cookie, a guarded call must
succeed through the plugin's refresh fallback (the browser sends only the refresh cookie).

Without Chromium or playwright the test is skipped locally, and fails when ``CI`` is set.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from examples.spa.app import ACCESS_SESSION, REFRESH_SESSION, create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import BrowserContext, Page, Response

CHROMIUM = os.environ.get("JWTSESSION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACCESS_MAX_AGE = 3  # seconds
ARTIFACTS = Path(__file__).with_name("_artifacts")
TIMEOUT_MS = 5_000


def _missing_requirement() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]'; never `playwright install`)"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        hint = f" (a chromium is on PATH at {found})" if found else ""
        return f"{CHROMIUM} is missing{hint}: apt-get install -y chromium"
    return None


@pytest.fixture(scope="module")
def browser_required() -> None:
    reason = _missing_requirement()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server_url(browser_required: None) -> Iterator[str]:
    """The example app under uvicorn in a background thread, as http://localhost:<port>."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # No Date header: Chromium shifts a cookie's Expires by the skew between the response's Date
    # and its own clock, and uvicorn's Date is whole seconds refreshed once a second (up to ~2 s
    # of shift). Without it the browser keeps Expires as sent, which the test compares to exp.
    config = uvicorn.Config(
        create_app(access_max_age=ACCESS_MAX_AGE),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        date_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _cookies(context: BrowserContext) -> dict[str, Any]:
    return {cookie["name"]: cookie for cookie in context.cookies()}


def _jws_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _api_result(page: Page) -> dict[str, Any]:
    return json.loads(page.locator("#api-result").text_content() or "null")  # type: ignore[no-any-return]


def _set_cookie_expiries(response: Response) -> dict[str, int]:
    """``{cookie name: Expires as epoch seconds}`` from a response's Set-Cookie headers."""
    expiries: dict[str, int] = {}
    for header in response.headers_array():
        if header["name"].lower() != "set-cookie":
            continue
        name = header["value"].split("=", 1)[0]
        for attribute in header["value"].split(";")[1:]:
            key, _, value = attribute.strip().partition("=")
            if key.lower() == "expires":
                expiries[name] = int(parsedate_to_datetime(value).timestamp())
    return expiries


def _wait_for_cookie_gone(context: BrowserContext, name: str, timeout: float) -> float:
    """Poll the browser's cookie jar until ``name`` has lapsed; returns the time waited."""
    start = time.monotonic()
    while name in _cookies(context):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"Chromium still holds cookie {name!r} after {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - start


def test_spa_login_refresh_fallback_logout(server_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(base_url=server_url, viewport={"width": 900, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            body = page.locator("body")
            status = page.locator("#api-status")

            # -- anonymous: the page asks /api/me on load, gets 401 and shows the login form
            page.goto("/")
            expect(body).to_have_attribute("data-state", "logged-out")
            expect(page.locator("#login-section")).to_be_visible()

            # -- wrong password: 401, shown on the page, no cookies
            page.fill("#username", "alice")
            page.fill("#password", "not the password")
            page.click("#login-button")
            expect(page.locator("#login-error")).to_have_text("Wrong username or password")
            assert _cookies(context) == {}

            # -- log in
            page.fill("#password", "wonderland")
            with page.expect_response("**/api/login") as login_info:
                page.click("#login-button")
            login_cookies = _set_cookie_expiries(login_info.value)
            expect(body).to_have_attribute("data-state", "logged-in")
            expect(page.locator("#user-name")).to_have_text("Alice")
            expect(page.locator("#countdown")).to_contain_text("access expires in")
            # Drive the expiry by hand first; the automatic refresh is checked further down.
            page.uncheck("#auto-refresh")

            # -- a guarded call with the fresh access session
            page.click("#call-api")
            expect(status).to_have_attribute("data-status", "200")
            first = _api_result(page)
            assert first["user"] == "alice"
            assert first["refreshed"] is False

            cookies = _cookies(context)
            access, refresh = cookies[ACCESS_SESSION], cookies[REFRESH_SESSION]
            assert access["secure"], "Secure cookies must be kept on localhost"
            assert refresh["secure"]
            assert access["httpOnly"] is False
            assert refresh["httpOnly"] is True
            assert access["sameSite"] == refresh["sameSite"] == "Lax"
            claims = _jws_payload(access["value"])
            assert claims["sub"] == "alice"
            assert claims["exp"] == claims["iat"] + ACCESS_MAX_AGE
            assert login_cookies[ACCESS_SESSION] == claims["exp"], "Expires must equal the token's exp"
            assert access["expires"] == claims["exp"], "the browser's cookie must lapse at the token's exp"
            assert first["expiresAt"] == claims["exp"] * 1000
            assert first["sessionId"] == claims["jti"]
            # the page itself can read the access cookie (not HttpOnly), but never the refresh cookie
            document_cookie = page.evaluate("document.cookie")
            assert f"{ACCESS_SESSION}=" in document_cookie
            assert f"{REFRESH_SESSION}=" not in document_cookie  # only its "-csrf" companion shows
            expect(page.locator("#access-claims")).to_contain_text(claims["jti"])
            page.screenshot(path=str(ARTIFACTS / "spa-1-logged-in.png"), full_page=True)

            # -- Chromium drops the access cookie at its Expires (= exp)
            _wait_for_cookie_gone(context, ACCESS_SESSION, timeout=ACCESS_MAX_AGE + 3)
            assert time.time() >= claims["exp"]
            assert REFRESH_SESSION in _cookies(context)
            expect(page.locator("#countdown")).to_have_text("access expired")

            # -- the guarded call succeeds through the refresh fallback
            with page.expect_response("**/api/me") as response_info:
                page.click("#call-api")
            response = response_info.value
            assert response.status == 200
            sent = response.request.all_headers().get("cookie", "")
            assert f"{REFRESH_SESSION}=" in sent
            assert f"{ACCESS_SESSION}=" not in sent, "the browser must not send the lapsed access cookie"
            set_cookies = [h["value"] for h in response.headers_array() if h["name"].lower() == "set-cookie"]
            assert any(value.startswith(f"{ACCESS_SESSION}=ey") for value in set_cookies), set_cookies
            expect(status).to_have_attribute("data-status", "200")
            second = _api_result(page)
            assert second["refreshed"] is True
            assert second["user"] == "alice"
            assert second["sessionId"] != first["sessionId"]
            new_access = _cookies(context)[ACCESS_SESSION]
            new_claims = _jws_payload(new_access["value"])
            assert new_claims["jti"] == second["sessionId"]
            assert new_claims["exp"] > claims["exp"]
            assert _set_cookie_expiries(response)[ACCESS_SESSION] == new_claims["exp"]
            assert new_access["expires"] == new_claims["exp"]
            assert new_access["secure"]
            assert not new_access["httpOnly"]
            expect(page.locator("#countdown")).to_contain_text("access expires in")
            expect(page.locator("#event-log")).to_contain_text("access session re-issued")

            # -- automatic refresh: at zero the page calls /api/me again by itself
            page.check("#auto-refresh")
            expect(page.locator("#event-log")).to_contain_text(
                "auto refresh: access session re-issued", timeout=(ACCESS_MAX_AGE + 3) * 1000
            )
            third = _api_result(page)
            assert third["refreshed"] is True
            assert third["sessionId"] not in (first["sessionId"], second["sessionId"])
            assert _jws_payload(_cookies(context)[ACCESS_SESSION]["value"])["jti"] == third["sessionId"]
            expect(page.locator("#countdown")).to_contain_text("access expires in")
            page.screenshot(path=str(ARTIFACTS / "spa-2-refreshed.png"), full_page=True)

            # -- log out: both cookies are gone, and the guarded call fails with 401
            page.click("#logout-button")
            expect(body).to_have_attribute("data-state", "logged-out")
            assert _cookies(context) == {}
            page.click("#call-api")
            expect(status).to_have_attribute("data-status", "401")
            expect(status).to_contain_text("401")
            assert _api_result(page)["status_code"] == 401
            page.screenshot(path=str(ARTIFACTS / "spa-3-logged-out.png"), full_page=True)

            # -- a reload stays logged out
            page.reload()
            expect(body).to_have_attribute("data-state", "logged-out")
        finally:
            browser.close()
    assert page_errors == []


CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_MACOS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)


def _log_in_as_bob(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-state", "logged-out")
    page.fill("#username", "bob")
    page.fill("#password", "builder")
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-state", "logged-in")
    page.uncheck("#auto-refresh")  # every request below is the test's own


def _device_of(context: BrowserContext) -> str:
    """The device id the browser's access cookie carries (its refresh family's handle)."""
    handle = _jws_payload(_cookies(context)[ACCESS_SESSION]["value"])["fid"]
    assert isinstance(handle, str)
    return handle


def test_spa_devices_end_one_from_another(server_url: str) -> None:
    """Bob logs in from three browsers; the first lists them, ends the second, then every other:
    each ended browser is refused on its next request and shows the login form again."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    page_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            pages: list[Page] = []
            contexts: list[BrowserContext] = []
            for agent in (CHROME_LINUX, FIREFOX_LINUX, SAFARI_MACOS):
                context = browser.new_context(
                    base_url=server_url, user_agent=agent, viewport={"width": 900, "height": 1200}
                )
                context.set_default_timeout(TIMEOUT_MS)
                page = context.new_page()
                page.on("pageerror", lambda error: page_errors.append(str(error)))
                contexts.append(context)
                pages.append(page)
            laptop, other, third = pages
            _log_in_as_bob(laptop)
            _log_in_as_bob(other)
            other_device = _device_of(contexts[1])

            # -- the laptop's "Your devices" lists both browsers, itself as the current one
            laptop.click("#reload-devices")
            items = laptop.locator("#device-list li")
            expect(items).to_have_count(2)
            mine = laptop.locator(f'#device-list li[data-device-id="{_device_of(contexts[0])}"]')
            expect(mine).to_have_attribute("data-current", "true")
            expect(mine.locator(".device-label")).to_have_text("Chrome on Linux")
            expect(mine.locator(".this-device")).to_have_text("this device")
            theirs = laptop.locator(f'#device-list li[data-device-id="{other_device}"]')
            expect(theirs).to_have_attribute("data-current", "false")
            expect(theirs.locator(".device-label")).to_have_text("Firefox on Linux")
            laptop.screenshot(path=str(ARTIFACTS / "spa-devices-1-listed.png"), full_page=True)

            # -- sign the other browser out from the laptop
            with laptop.expect_response(f"**/api/sessions/{other_device}") as ended_info:
                theirs.locator("button.sign-out").click()
            assert ended_info.value.status == 204
            expect(items).to_have_count(1)
            expect(laptop.locator("#event-log")).to_contain_text("signed out Firefox on Linux")

            # -- the ended browser: once its access cookie has lapsed, its next request goes
            # through the refresh fallback, which refuses the revoked refresh session
            _wait_for_cookie_gone(contexts[1], ACCESS_SESSION, timeout=ACCESS_MAX_AGE + 3)
            assert REFRESH_SESSION in _cookies(contexts[1])
            with other.expect_response("**/api/me") as refused_info:
                other.click("#call-api")
            refused = refused_info.value
            assert refused.status == 401
            sent = refused.request.all_headers().get("cookie", "")
            assert f"{REFRESH_SESSION}=" in sent
            assert f"{ACCESS_SESSION}=" not in sent
            cleared = [h["value"] for h in refused.headers_array() if h["name"].lower() == "set-cookie"]
            assert any(value.startswith(f"{REFRESH_SESSION}=;") for value in cleared), cleared
            expect(other.locator("body")).to_have_attribute("data-state", "logged-out")
            expect(other.locator("#login-section")).to_be_visible()
            assert REFRESH_SESSION not in _cookies(contexts[1])
            other.screenshot(path=str(ARTIFACTS / "spa-devices-2-ended.png"), full_page=True)

            # -- a third browser; the laptop signs out every other device: refused at once
            _log_in_as_bob(third)
            laptop.click("#reload-devices")
            expect(items).to_have_count(2)
            laptop.click("#revoke-others")
            expect(laptop.locator("#event-log")).to_contain_text("signed out 1 other device(s)")
            expect(items).to_have_count(1)
            expect(laptop.locator("#device-list li")).to_have_attribute("data-current", "true")
            assert ACCESS_SESSION in _cookies(contexts[2])  # not lapsed: revoked with its device
            with third.expect_response("**/api/me") as third_info:
                third.click("#call-api")
            assert third_info.value.status == 401
            expect(third.locator("body")).to_have_attribute("data-state", "logged-out")

            # -- the laptop itself is still logged in
            with laptop.expect_response("**/api/me") as kept_info:
                laptop.click("#call-api")
            assert kept_info.value.status == 200
            expect(laptop.locator("body")).to_have_attribute("data-state", "logged-in")
            laptop.screenshot(path=str(ARTIFACTS / "spa-devices-3-others-ended.png"), full_page=True)
        finally:
            browser.close()
    assert page_errors == []
