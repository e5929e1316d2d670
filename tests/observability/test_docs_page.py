"""``docs/observability.md`` says what the code does: every event with its level, every span and
metric name."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from litestar_jwtsession.otel import EVENTS_COUNTER, READ_DURATION
from litestar_jwtsession.session.events import EVENT_LEVELS
from tests.docs.test_reference_pages import sections, table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def test_the_events_table_lists_every_event_at_its_level() -> None:
    rows = table(sections("observability.md")["Events"])
    documented = {name: cells[0].strip("`") for name, cells in rows.items()}
    assert documented == {event.value: logging.getLevelName(level) for event, level in EVENT_LEVELS.items()}


def test_the_span_and_metric_names_are_the_codes() -> None:
    text = PAGE.read_text(encoding="utf-8")
    spans = set(re.findall(r"^\| `(jwtsession\.[a-z.]+)` \| (?!counter|histogram)", text, flags=re.MULTILINE))
    assert spans == {"jwtsession.read", "jwtsession.update", "jwtsession.clear"}
    metrics = dict(
        re.findall(r"^\| `(jwtsession\.[a-z.]+)` \| (counter|histogram) \|", text, flags=re.MULTILINE)
    )
    assert metrics == {EVENTS_COUNTER: "counter", READ_DURATION: "histogram"}
