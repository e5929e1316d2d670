"""Unit tests of the ``SessionHooks`` registry and ``HookEvent``."""

import asyncio
from typing import Any

import pytest

from litestar_jwtsession import HookEvent, SessionHooks

EVENTS = ("on_read", "on_update", "on_clear", "on_expire", "on_error", "on_key_lookup", "on_refresh")


def event(**attributes: Any) -> HookEvent:
    return HookEvent(connection=None, config=None, **attributes)


def test_event_defaults_are_none() -> None:
    e = HookEvent(connection="conn", config="cfg")
    assert (e.connection, e.config) == ("conn", "cfg")
    assert (e.session, e.old_session, e.error, e.header) == (None, None, None, None)
    with pytest.raises(AttributeError):
        e.session = 1  # type: ignore[misc]


@pytest.mark.parametrize("name", EVENTS)
async def test_decorators_register_and_return_the_function(name: str) -> None:
    hooks = SessionHooks()
    assert not hooks.has(name)  # type: ignore[arg-type]
    calls: list[Any] = []

    def fn(e: HookEvent) -> None:
        calls.append(e)

    assert getattr(hooks, name)(fn) is fn
    assert hooks.has(name)  # type: ignore[arg-type]
    e = event()
    await hooks.fire(name, e)  # type: ignore[arg-type]
    assert calls == [e]


async def test_fire_runs_sync_and_async_hooks_in_registration_order() -> None:
    hooks = SessionHooks()
    order: list[str] = []

    @hooks.on_read
    def first(e: HookEvent) -> None:
        order.append("sync-1")

    @hooks.on_read
    async def second(e: HookEvent) -> None:
        await asyncio.sleep(0)
        order.append("async-2")

    @hooks.on_read
    def third(e: HookEvent) -> Any:
        async def later() -> None:
            order.append("awaitable-3")

        return later()  # a sync callable returning an awaitable is awaited too

    hooks.on_update(lambda e: order.append("other-event"))
    await hooks.fire("on_read", event())
    assert order == ["sync-1", "async-2", "awaitable-3"]


async def test_fire_without_hooks_is_a_no_op() -> None:
    await SessionHooks().fire("on_error", event())


async def test_fire_propagates_and_stops_at_the_first_exception() -> None:
    hooks = SessionHooks()
    order: list[str] = []
    hooks.on_clear(lambda e: order.append("a"))

    @hooks.on_clear
    async def boom(e: HookEvent) -> None:
        raise KeyError("boom")

    hooks.on_clear(lambda e: order.append("c"))
    with pytest.raises(KeyError):
        await hooks.fire("on_clear", event())
    assert order == ["a"]


async def test_first_returns_first_non_none_and_stops() -> None:
    hooks = SessionHooks()
    called: list[str] = []

    @hooks.on_key_lookup
    def none(e: HookEvent) -> None:
        called.append("none")

    @hooks.on_key_lookup
    async def found(e: HookEvent) -> dict[str, str]:
        called.append("found")
        return {"kid": e.header["kid"]} if e.header else {}

    @hooks.on_key_lookup
    def never(e: HookEvent) -> str:
        called.append("never")
        return "late"

    assert await hooks.first("on_key_lookup", event(header={"kid": "k1"})) == {"kid": "k1"}
    assert called == ["none", "found"]


async def test_first_falsy_results_other_than_none_decide() -> None:
    hooks = SessionHooks()
    hooks.on_refresh(lambda e: None)
    hooks.on_refresh(lambda e: False)  # a veto
    hooks.on_refresh(lambda e: {"data": 1})
    assert await hooks.first("on_refresh", event()) is False

    empty = SessionHooks()
    empty.on_refresh(lambda e: {})
    assert await empty.first("on_refresh", event()) == {}


async def test_first_with_nothing_registered_or_all_none() -> None:
    hooks = SessionHooks()
    assert await hooks.first("on_refresh", event()) is None
    hooks.on_refresh(lambda e: None)

    async def also_none(e: HookEvent) -> None:
        return None

    hooks.on_refresh(also_none)
    assert await hooks.first("on_refresh", event()) is None


async def test_first_propagates_exceptions() -> None:
    hooks = SessionHooks()

    @hooks.on_key_lookup
    def broken(e: HookEvent) -> None:
        raise LookupError("no such kid")

    with pytest.raises(LookupError):
        await hooks.first("on_key_lookup", event())


def test_registering_a_non_callable_raises() -> None:
    with pytest.raises(TypeError):
        SessionHooks().on_read("not callable")  # type: ignore[type-var]


def test_registries_are_independent() -> None:
    a, b = SessionHooks(), SessionHooks()
    a.on_read(lambda e: None)
    assert a.has("on_read")
    assert not b.has("on_read")


def test_the_same_function_may_be_registered_twice() -> None:
    hooks = SessionHooks()
    calls: list[int] = []

    def fn(e: HookEvent) -> None:
        calls.append(1)

    hooks.on_error(fn)
    hooks.on_error(fn)
    asyncio.run(hooks.fire("on_error", event()))
    assert calls == [1, 1]
