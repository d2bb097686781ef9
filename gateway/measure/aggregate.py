# SPDX-License-Identifier: Apache-2.0
"""The one hook both stores call inside ingestion: new events → new visitor state + counter deltas.

A visitor's contribution to the per-visitor counters is a function of their state alone, so
the delta of a batch is `contribution(new state) − contribution(old state)` plus what each new
event adds by itself. Summed over visitors this equals `rebuild(all logged events)`, whatever
order or batching the events came in. A batch that leaves the state as it was (`attribution.fold`
says so) has no per-visitor delta, and its contribution is not recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from slotwise.gateway.measure import attribution, bandit_rewards, counters, kpis
from slotwise.gateway.measure.attribution import MeasureSettings
from slotwise.gateway.measure.exposures import exposure_of
from slotwise.gateway.measure.kpis import Counts


def contribution(state: dict[str, Any], settings: MeasureSettings) -> Counts:
    counts: Counts = {}
    kpis.visitor_counts(state, settings, counts)
    counters.visitor_counts(state, settings, counts)
    if settings.bandits:
        bandit_rewards.visitor_counts(state, settings.bandits, counts)
    return counts


def fold_visitor(body: str | None, events: list[dict[str, Any]], settings: MeasureSettings, deltas: Counts) -> str:
    """Fold one visitor's new events into their state (JSON); add the counter deltas to `deltas`."""
    state = attribution.loads(body)
    fold_state(state, contribution(state, settings) if body else {}, events, settings, deltas)
    return attribution.dumps(state)


def fold_state(
    state: dict[str, Any], before: Counts, events: list[dict[str, Any]], settings: MeasureSettings, deltas: Counts
) -> Counts:
    """Fold new events into a parsed `state` (in place) whose contribution is `before`; add the
    counter deltas to `deltas` and return the new contribution (a store may keep both, so that
    the next batch of this visitor neither parses the state nor recomputes its contribution).
    When the events left the state as it was, the very object `before` is returned: a store
    may then skip rewriting the state."""
    exposures = [exposure_of(e) for e in events]
    changed = False
    for event, exposure in zip(events, exposures, strict=True):
        changed = attribution.fold(state, event, exposure) or changed
    kpis.event_counts(events, deltas, exposures)
    if not changed:
        return before  # the same state, so the same contribution: nothing to recompute
    after = contribution(state, settings)
    for key, value in after.items():
        deltas[key] = deltas.get(key, 0.0) + value
    for key, value in before.items():
        deltas[key] = deltas.get(key, 0.0) - value
    return after


def anonymous_counts(events: Iterable[dict[str, Any]]) -> Counts:
    """What events of visitors with consent `anonymous` add: per-event counters, nothing per visitor."""
    counts: Counts = {}
    kpis.event_counts(events, counts)
    return counts


def nonzero(deltas: Counts) -> list[tuple[str, str, float]]:
    return [(scope, key, value) for (scope, key), value in deltas.items() if value != 0.0]


def rebuild(
    by_visitor: Iterable[tuple[str, list[dict[str, Any]]]], settings: MeasureSettings
) -> tuple[dict[str, str], Counts]:
    """States and counters from a log, visitor by visitor (events deduplicated by event_id)."""
    states: dict[str, str] = {}
    total: Counts = {}
    for visitor, events in by_visitor:
        unique = list({e["event_id"]: e for e in events}.values())
        states[visitor] = fold_visitor(None, unique, settings, total)
    return states, total
