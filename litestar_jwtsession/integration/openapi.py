"""OpenAPI for the sessions of an app: what a client must send and what it may get back.

- :func:`security_schemes`: one scheme per transport of each session (its cookie, its header).
- :func:`document_route_handler`: for a handler with session guards, the security requirements
  of those guards, the **401** every session guard may answer (with RFC 9470's
  ``insufficient_user_authentication`` challenge too under ``requires_fresh_login``) and the
  **403** of scope guards, each with its ``WWW-Authenticate`` header, and on unsafe methods the
  CSRF header of the CSRF-protected cookie sessions the guards read. What the app declares
  itself wins: a response or parameter the handler already documents is never replaced.

Responses and parameters are added through the handler's ``operation_class`` (Litestar's hook
for customising an operation), so they are merged with what Litestar generated for the handler,
whatever that is, when the schema is built.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias

from litestar.enums import MediaType
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Schema,
    SecurityScheme,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.spec import Reference, SecurityRequirement

    from litestar_jwtsession.integration.guards import SessionGuard
    from litestar_jwtsession.integration.runtime import SessionRuntime


__all__ = ("csrf_protected_sessions", "document_route_handler", "security_schemes")


class _Config(Protocol):
    """What documenting a session needs of its config (``JWSSessionConfig``, ``JWESessionConfig``)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def cookie_spec(self) -> object | None: ...
    @property
    def header_name(self) -> str | None: ...
    @property
    def csrf_header(self) -> str: ...
    @property
    def csrf_cookie_name(self) -> str: ...


# per guarded session: its config, the scopes all its guards require, and the scope sets of its
# ``any_of`` guards (one scope of each set is required)
_Sessions: TypeAlias = dict[str, tuple[_Config, set[str], list[frozenset[str]]]]


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""The methods the CSRF check never applies to (see ``session.csrf``)."""


def security_schemes(configs: Iterable[_Config]) -> dict[str, SecurityScheme | Reference]:
    """The security schemes of ``configs``: ``<name>_cookie`` and ``<name>_header`` per session."""
    schemes: dict[str, SecurityScheme | Reference] = {}
    for config in configs:
        kind = "a signed JWT (JWS)" if config.kind == "jws" else "an encrypted JWT (JWE)"
        if config.cookie_spec is not None:
            schemes[f"{config.name}_cookie"] = _api_key(
                config.name, "cookie", f"Session {config.name!r}: {kind} in a cookie (long ones chunked)"
            )
        if config.header_name == "authorization":
            schemes[f"{config.name}_header"] = SecurityScheme(
                type="http",
                scheme="bearer",
                bearer_format="JWT",
                description=f"Session {config.name!r}: {kind}",
            )
        elif config.header_name is not None:
            schemes[f"{config.name}_header"] = _api_key(
                config.header_name,
                "header",
                f"Session {config.name!r}: {kind}, optionally prefixed with 'Bearer '",
            )
    return schemes


def _api_key(name: str, where: Literal["cookie", "header"], description: str) -> SecurityScheme:
    return SecurityScheme(type="apiKey", name=name, security_scheme_in=where, description=description)


def csrf_protected_sessions(runtime: SessionRuntime) -> frozenset[str]:
    """Names of the sessions whose cookies need a CSRF token in the runtime's app (the plugin's
    decision, not the configs' own ``csrf``)."""
    return runtime.csrf_sessions


def _refresh_behind(runtime: SessionRuntime, config: _Config) -> _Config | None:
    """The refresh session a read of ``config`` falls back to when it is missing, if any: its
    cookie is then read (and CSRF-checked) for a request to a route guarded on ``config``."""
    return runtime.refresh if runtime.fallback == config.name else None


def document_route_handler(
    runtime: SessionRuntime, handler: HTTPRouteHandler, guards: list[SessionGuard]
) -> None:
    """Document ``guards``, the session guards of ``handler`` (``runtime``: the app's sessions).

    Safe to call again for the same handler (mounted on several paths): nothing is added twice.
    """
    sessions = _guarded_sessions(runtime, guards)
    existing = list(handler.security or ())
    missing = [item for item in _requirements(sessions) if item not in existing]
    if missing:
        handler.security = [*existing, *missing]
    if not sessions:
        return
    scoped = any(scopes or alternatives for _, scopes, alternatives in sessions.values())
    # the strictest login age of the fresh-login guards: the one a client must satisfy
    max_age = min((guard.max_age for guard in guards if guard.max_age is not None), default=None)
    responses = _guard_responses(handler, scoped=scoped, max_age=max_age)
    parameters: list[Parameter] = []
    if not handler.http_methods <= _SAFE_METHODS:
        parameters = _csrf_parameters(runtime, [config for config, _, _ in sessions.values()])
    base = getattr(handler.operation_class, "_jwtsession_base", handler.operation_class)
    handler.operation_class = _operation_class(base, responses, parameters)


def _guarded_sessions(runtime: SessionRuntime, guards: list[SessionGuard]) -> _Sessions:
    """Per guarded session: its config, the scopes all its guards require, and the scope sets of
    its ``any_of`` guards (one of each set is required)."""
    per_session: _Sessions = {}
    for guard in guards:
        config = runtime.config_for(guard.session)  # (the plugin checked every guard before)
        _, required, alternatives = per_session.setdefault(config.name, (config, set(), []))
        if guard.any_of:
            alternatives.append(guard.scopes)
        else:
            required.update(guard.scopes)
    return per_session


def _requirements(sessions: _Sessions) -> list[SecurityRequirement]:
    """OpenAPI requirements for a handler's guarded sessions.

    Entries of ``security`` are alternatives (OR) and the schemes inside one entry all apply
    (AND). So the guards of every layer merge per session (their scopes add up), each session
    may come by any of its transports, an ``any_of`` guard yields one alternative per scope,
    and several guarded sessions combine into entries naming all of them.
    """
    choices_per_session = []
    for config, required, alternatives in sessions.values():
        scope_sets = [required.union(picked) for picked in product(*(sorted(a) for a in alternatives))]
        transports = [f"{config.name}_cookie"] if config.cookie_spec is not None else []
        if config.header_name is not None:
            transports.append(f"{config.name}_header")
        choices_per_session.append([(name, sorted(scopes)) for name in transports for scopes in scope_sets])
    return [dict(combination) for combination in product(*choices_per_session)] if sessions else []


# --- responses ------------------------------------------------------------------------------------

_CHALLENGES = {
    401: (
        NotAuthorizedException,
        "No valid session: it is missing, expired, revoked, refused (e.g. a failed CSRF check) or "
        "its user is unknown.",
        r"^Bearer( |$)",
        "`Bearer`: the session to present is a bearer token.",
    ),
    403: (
        PermissionDeniedException,
        "The session is valid but lacks a scope this operation requires.",
        r'^Bearer error="insufficient_scope"',
        '`Bearer error="insufficient_scope", scope="..."` (RFC 6750), naming the required scopes.',
    ),
}


def _fresh_login_challenge(max_age: int) -> tuple[str, str]:
    """What the 401 of a route under ``requires_fresh_login(max_age)`` adds to its description and
    to its header's."""
    return (
        f" Or the session's login is more than {max_age} seconds old (or unknown): log in again.",
        ' Or `Bearer error="insufficient_user_authentication", error_description="...", '
        f'max_age="{max_age}"` (RFC 9470) when the login is too old.',
    )


def _guard_responses(
    handler: HTTPRouteHandler, *, scoped: bool, max_age: int | None = None
) -> dict[str, OpenAPIResponse]:
    """The responses the session guards of ``handler`` may answer with, as Litestar sends them:
    its default exception handler writes ``{"status_code": ..., "detail": ...}`` in the handler's
    media type (JSON text for any other than JSON) with the exception's headers. An exception
    handler of the app's own may answer differently, so then only the status is promised.
    ``max_age``: the strictest ``requires_fresh_login`` of the handler, whose challenge the 401
    then documents as well."""
    media_type = str(getattr(handler.media_type, "value", handler.media_type))
    answers = {}
    for status in (401, 403) if scoped else (401,):
        exception, description, pattern, header_description = _CHALLENGES[status]
        if status == 401 and max_age is not None:
            more, header_more = _fresh_login_challenge(max_age)
            description, header_description = description + more, header_description + header_more
        default = not _custom_exception_handler(handler, exception)
        header = OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, pattern=pattern),
            required=default,
            description=header_description,
        )
        body = OpenAPIMediaType(schema=_error_body(media_type, status))
        answers[str(status)] = OpenAPIResponse(
            description=description,
            headers={"WWW-Authenticate": header},
            content={media_type: body} if default else None,
        )
    return answers


def _custom_exception_handler(handler: HTTPRouteHandler, exception: type[HTTPException]) -> bool:
    """Whether an exception handler of the app (any layer) answers ``exception`` instead of
    Litestar's default one: by status code first, then by class (as Litestar looks them up)."""
    handlers = handler.resolve_exception_handlers()
    return exception.status_code in handlers or any(cls in handlers for cls in exception.__mro__)


def _error_body(media_type: str, status: int) -> Schema:
    if media_type != MediaType.JSON:
        # Litestar encodes the same object as JSON text for a handler of another media type
        return Schema(type=OpenAPIType.STRING, description='{"status_code": ..., "detail": ...} as JSON text')
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["status_code", "detail"],
        properties={
            "status_code": Schema(type=OpenAPIType.INTEGER, const=status),
            "detail": Schema(type=OpenAPIType.STRING),
            "extra": Schema(type=[OpenAPIType.NULL, OpenAPIType.OBJECT, OpenAPIType.ARRAY]),
        },
    )


# --- CSRF header ----------------------------------------------------------------------------------


def _csrf_parameters(runtime: SessionRuntime, guarded: list[_Config]) -> list[Parameter]:
    """The CSRF header of each CSRF-protected cookie session a request to the guarded route reads
    (the guarded sessions, and the refresh session an access session falls back to); one
    parameter per header name, optional since only a session sent by cookie needs it."""
    protected = csrf_protected_sessions(runtime)
    read: dict[str, _Config] = {}
    for config in guarded:
        refresh = _refresh_behind(runtime, config)
        for each in (config, refresh):
            if each is not None and each.name in protected and each.cookie_spec is not None:
                read.setdefault(each.name, each)
    cookies_per_header: dict[str, list[str]] = {}
    for config in read.values():
        cookies_per_header.setdefault(config.csrf_header, []).append(config.csrf_cookie_name)
    return [
        Parameter(
            name=header,
            param_in="header",
            required=False,
            schema=Schema(type=OpenAPIType.STRING),
            description=(
                "CSRF token, required on this unsafe method when the session comes by cookie: the "
                f"value of the readable cookie {' or '.join(repr(name) for name in cookies)}. Not "
                "needed when the session is sent in its header."
            ),
        )
        for header, cookies in cookies_per_header.items()
    ]


# --- the operation class --------------------------------------------------------------------------


def _operation_class(
    base: type[Operation], responses: dict[str, OpenAPIResponse], parameters: list[Parameter]
) -> type[Operation]:
    """A subclass of the handler's operation class that adds ``responses`` and ``parameters``
    to what Litestar generated, keeping every response and parameter already there."""

    def __init__(self: Operation, *args: Any, **kwargs: Any) -> None:
        # Operation is a dataclass without __post_init__, so its __init__ calls none: extend it
        base.__init__(self, *args, **kwargs)
        merged = dict(self.responses or {})
        for status, response in responses.items():
            merged.setdefault(status, response)
        self.responses = merged
        existing = self.parameters or []
        taken = {(getattr(item, "param_in", None), getattr(item, "name", "").lower()) for item in existing}
        added = [item for item in parameters if (item.param_in, item.name.lower()) not in taken]
        if added:
            self.parameters = [*existing, *added]

    namespace = {"__init__": __init__, "_jwtsession_base": base, "__module__": __name__}
    return type(f"Session{base.__name__}", (base,), namespace)
