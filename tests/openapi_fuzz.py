"""An OpenAPI fuzzer run (Schemathesis) against an app served by a real uvicorn server.

:func:`serve` runs the app on a loopback socket in a thread; :func:`fuzz` loads the app's own
schema from it and sends, for every documented operation, a bounded number of generated requests
(derandomized: the same cases on every run), positive and negative, each checked for: no server
error, a documented status code, a documented content type, a body that matches the documented
schema and the documented response headers. Failures are collected, not raised, so one run
reports all of them with a count of what was tested.

A run may be logged in: ``credentials`` returns the cookies and headers to send with every
request (they override whatever the fuzzer generated for the session's cookie and header). It
is called again after a response that expired one of those cookies (a logout), so the rest of
the run stays logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from litestar import Litestar

__all__ = ("CHECKS", "Credentials", "FuzzSummary", "fuzz", "serve")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SCHEMA_PATH = "/schema/openapi.json"

Credentials = tuple[dict[str, str], dict[str, str]]
"""(cookies, headers) sent with every request of a logged-in run."""


@dataclass
class FuzzSummary:
    operations: int = 0
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    """Per operation (``GET /path``), how often each status code was answered."""
    logins: int = 0
    """How often a logged-in run logged in (once, and again after each logout)."""

    def __str__(self) -> str:
        logins = f", {self.logins} logins" if self.logins else ""
        return f"{self.operations} operations, {self.cases} cases, {len(self.failures)} failures{logins}"


@contextlib.contextmanager
def serve(app: Litestar) -> Iterator[str]:
    """Serve ``app`` with uvicorn (lifespan included) on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn leaves the process's logging configuration alone
    config = uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test thread below
            failed.append(exc)

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    try:
        while not server.started:  # a startup failure ends the thread instead
            thread.join(0.05)
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn did not start: {failed or 'it exited'}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def _expires_any(response: Any, cookies: dict[str, str]) -> bool:
    """Whether ``response`` expired (an empty ``Set-Cookie`` value) one of ``cookies``."""
    for header in response.headers.get("set-cookie", []) or []:
        for line in header.split("\n"):
            name, _, rest = line.partition("=")
            if name.strip() in cookies and rest.split(";", 1)[0] == "":
                return True
    return False


def fuzz(
    base_url: str,
    *,
    credentials: Callable[[], Credentials] | None = None,
    max_examples: int = 10,
) -> FuzzSummary:
    """Fuzz every operation of the schema served at ``base_url`` (see the module docstring)."""
    schema = schemathesis.openapi.from_url(base_url + SCHEMA_PATH)
    summary = FuzzSummary()
    current: list[Credentials] = [({}, {})]

    def log_in() -> None:
        if credentials is not None:
            current[0] = credentials()
            summary.logins += 1

    log_in()
    for result in schema.get_all_operations():
        operation = result.ok()
        summary.operations += 1
        modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
        # one strategy drawing from both modes, as Schemathesis' own runner does (an operation
        # with nothing to negate then gets positive cases only)
        strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in modes])

        @settings(
            max_examples=max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # failures are collected: nothing to shrink
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            cookies, headers = current[0]
            summary.cases += 1
            response = case.call(base_url=base_url, cookies=dict(cookies), headers=dict(headers))
            label = case.operation.label
            summary.statuses.setdefault(label, Counter())[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                curl = case.as_curl_command()
                summary.failures.extend(
                    f"{label}: {failure.title}\n{failure}\n{curl}" for failure in group.exceptions
                )
            if credentials is not None and _expires_any(response, cookies):
                log_in()

        run()
    return summary
