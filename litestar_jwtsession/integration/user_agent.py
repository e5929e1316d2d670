"""A coarse, human summary of a ``User-Agent`` ("Firefox on Linux"): the default device label.

Deliberately coarse: the browser family and the operating system, no versions, no device model,
so the label says which of the user's devices a session is without fingerprinting anyone. A
client that is no browser is named by its first product token ("curl", "python-httpx").
"""

from __future__ import annotations

import re

__all__ = ("UNKNOWN_DEVICE", "describe_user_agent")

UNKNOWN_DEVICE = "Unknown device"

# (marker, name), first match wins: Edge, Opera and Samsung Internet also say "Chrome/", Chrome
# also says "Safari/", so the more specific markers come first.
_BROWSERS = (
    (("Edg/", "EdgA/", "EdgiOS/"), "Edge"),
    (("OPR/", "Opera"), "Opera"),
    (("SamsungBrowser/",), "Samsung Internet"),
    (("Firefox/", "FxiOS/"), "Firefox"),
    (("CriOS/", "Chrome/"), "Chrome"),  # HeadlessChrome too
    (("Chromium/",), "Chromium"),
)
_SYSTEMS = (
    (("iPhone", "iPad", "iPod"), "iOS"),  # before macOS: iPads may say "Mac OS X" too
    (("Windows",), "Windows"),
    (("Android",), "Android"),  # before Linux: Android says "Linux" too
    (("CrOS",), "ChromeOS"),
    (("Macintosh", "Mac OS X"), "macOS"),
    (("Linux", "X11"), "Linux"),
)
_PRODUCT = re.compile(r"([A-Za-z][A-Za-z0-9._-]{0,31})/")
_LIMIT = 512  # nothing past this decides anything; a huge header costs no more


def describe_user_agent(user_agent: str | None) -> str:
    """``"<browser> on <system>"``, the browser or the system alone, or ``"Unknown device"``."""
    text = (user_agent or "")[:_LIMIT]
    browser = _first(_BROWSERS, text)
    if browser is None and "Safari/" in text and "Version/" in text:
        browser = "Safari"
    system = _first(_SYSTEMS, text)
    if browser is None:
        product = _PRODUCT.match(text)
        if product is not None and product.group(1) != "Mozilla":
            browser = product.group(1)  # a client that is no browser: curl, python-httpx, ...
        elif system is not None:
            browser = "Browser"
    if browser is None:
        return UNKNOWN_DEVICE
    return browser if system is None else f"{browser} on {system}"


def _first(table: tuple[tuple[tuple[str, ...], str], ...], text: str) -> str | None:
    for markers, name in table:
        if any(marker in text for marker in markers):
            return name
    return None
