"""The reference pages say what the code does: every option, every hook, the duration grammar.

Each test reads a page of ``docs/`` and compares it with the code by introspection, so an option
added to a config, the plugin or ``CookieOptions`` without a line in ``docs/configuration.md``
fails here, as does a stated default that is not the real one.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from litestar_jwtsession import (
    ConfigurationError,
    CookieOptions,
    DeviceSessions,
    JWESessionConfig,
    JWSSessionConfig,
    JWTSessionPlugin,
    SessionHooks,
    parse_duration,
)
from litestar_jwtsession.jose.durations import _UNITS
from litestar_jwtsession.session.config import SessionConfig

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROOT = DOCS.parent
REQUIRED = "required"
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def sections(page: str) -> dict[str, str]:
    """The ``## `` sections of a docs page by heading."""
    text = (DOCS / page).read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2], strict=True)}


def table(body: str) -> dict[str, list[str]]:
    """The rows of the Markdown tables in ``body`` whose first cell is a code span, by that name."""
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip())[1:-1]]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def documented_default(default: Any, factory: Any = dataclasses.MISSING) -> str:
    """How the page writes a default: a code span of its Python spelling."""
    if factory is not dataclasses.MISSING:
        return f"`{factory.__name__}()`"
    if default is dataclasses.MISSING or default is inspect.Parameter.empty:
        return REQUIRED
    if isinstance(default, str):
        return f'`"{default}"`'
    if callable(default):
        return f"`{default.__module__}.{default.__qualname__}`"
    return f"`{default!r}`"


def init_fields(cls: type) -> dict[str, str]:
    return {
        item.name: documented_default(item.default, item.default_factory)
        for item in dataclasses.fields(cls)
        if item.init
    }


CONFIGURATION = sections("configuration.md")


def _assert_rows(heading: str, options: dict[str, str]) -> None:
    rows = table(CONFIGURATION[heading])
    missing = sorted(set(options) - set(rows))
    assert not missing, f"options missing from '{heading}' in docs/configuration.md: {missing}"
    for name, default in options.items():
        type_cell, default_cell = rows[name][0], rows[name][1]
        assert type_cell.startswith("`"), f"{name}: no type"
        assert default_cell.startswith(default), (
            f"{name}: the default is {default}, the page says {default_cell}"
        )
    extra = sorted(set(rows) - set(options))
    assert not extra, f"'{heading}' lists options the code does not have: {extra}"


def test_every_option_shared_by_both_configs_is_listed() -> None:
    _assert_rows("Options of both session configs", init_fields(SessionConfig))


@pytest.mark.parametrize(
    ("cls", "heading"),
    [(JWESessionConfig, "Encrypted sessions only"), (JWSSessionConfig, "Signed sessions only")],
)
def test_every_option_of_one_kind_is_listed(cls: type, heading: str) -> None:
    shared = init_fields(SessionConfig)
    own = {name: default for name, default in init_fields(cls).items() if name not in shared}
    if heading not in CONFIGURATION:
        assert not own, f"{cls.__name__} has options of its own, the page has no '{heading}' section"
        return
    _assert_rows(heading, own)


def test_every_cookie_option_is_listed() -> None:
    _assert_rows("Cookies: `CookieOptions`", init_fields(CookieOptions))


def test_every_plugin_option_is_listed() -> None:
    parameters = list(inspect.signature(JWTSessionPlugin.__init__).parameters.values())[1:]
    options = {parameter.name: documented_default(parameter.default) for parameter in parameters}
    assert {"store", "rotate_refresh", "rotation_grace", "store_timeout", "revocation_on_outage"} <= set(
        options
    )
    _assert_rows("The plugin: `JWTSessionPlugin`", options)


HOOK_EVENTS = sorted(name for name in dir(SessionHooks) if name.startswith("on_"))


@pytest.mark.parametrize(
    ("page", "heading"), [("configuration.md", "Hooks: `SessionHooks`"), ("hooks.md", "Events")]
)
def test_every_hook_event_is_in_the_hooks_tables(page: str, heading: str) -> None:
    rows = table(sections(page)[heading])

    assert {"on_missing", "on_reuse"} <= set(HOOK_EVENTS)
    assert sorted(rows) == HOOK_EVENTS


# --------------------------------------------------------------------------- durations


def _duration_rows() -> list[tuple[Any, str]]:
    rows = table(CONFIGURATION["Durations"])
    return [(ast.literal_eval(value), cells[0]) for value, cells in rows.items() if len(cells) == 1]


DURATION_EXAMPLES = _duration_rows()


def test_the_duration_examples_are_there() -> None:
    values = [value for value, _ in DURATION_EXAMPLES]
    assert "10 minutes" in values
    assert len(values) >= 10


@pytest.mark.parametrize(("value", "expected"), DURATION_EXAMPLES)
def test_each_duration_example_parses_as_the_page_says(value: Any, expected: str) -> None:
    if expected == "refused":
        with pytest.raises(TypeError):
            parse_duration(value)
        with pytest.raises(ConfigurationError, match="max_age"):
            JWSSessionConfig(key={"kty": "oct", "k": "a" * 43, "alg": "HS256"}, max_age=value)
    else:
        assert parse_duration(value) == int(expected)


def test_the_unit_table_is_the_grammar() -> None:
    documented: dict[str, int] = {}
    for line in CONFIGURATION["Durations"].splitlines():
        cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip())[1:-1]]
        if len(cells) == 3 and cells[1].startswith("`"):
            seconds = int(cells[2].split()[0])
            documented.update(dict.fromkeys(re.findall(r"`([A-Za-z]+)`", cells[1]), seconds))

    assert documented == _UNITS
    for unit, seconds in documented.items():
        assert parse_duration(f"2{unit}") == 2 * seconds


# --------------------------------------------------------------------------- quickstart


def test_the_quickstart_names_the_litestar_minimum_of_the_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (litestar,) = [dep for dep in pyproject["project"]["dependencies"] if dep.startswith("litestar")]
    minimum = re.search(r">=\s*([0-9.]+)", litestar)
    assert minimum is not None

    assert f"Litestar {minimum.group(1)} or newer" in (DOCS / "quickstart.md").read_text(encoding="utf-8")


def test_every_device_sessions_option_is_listed() -> None:
    _assert_rows("Device sessions: `DeviceSessions`", init_fields(DeviceSessions))
