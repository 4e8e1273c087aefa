"""Prometheus metrics and the readiness check, for `/metrics` and `/healthz`.

Each engine has its own CollectorRegistry, so engines started side by side in one process (as the
tests do) never mix their counts. Counts that live in the database (referrals by status, the
outbox backlog) are read at scrape time rather than tracked in memory, so they are right after a
restart and whatever process changed them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.core.figures import OutboxCount
from bot.core.models import OutboxRow
from bot.core.retention import Table
from storage.base import Store

# From a message being queued to it being sent: most go within a second, a throttled backlog in minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
API_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BACKLOG = ("pending", "sending", "dead")
CHECK_SECONDS = 5.0  # a database that takes longer than this to answer SELECT 1 is not ready


class StoreCollector(Collector):
    """Referrals by status and the outbox backlog per platform, as last read by `refresh()`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._referrals: dict[str, int] = {}
        self._outbox: list[OutboxCount] = []

    async def refresh(self) -> None:
        self._referrals = await self._store.referrals_by_status()
        self._outbox = await self._store.outbox_counts(BACKLOG)

    def describe(self) -> Iterable[Metric]:
        return []  # nothing to check for clashes at registration; collect() must not run before refresh()

    def collect(self) -> Iterable[Metric]:
        referrals = GaugeMetricFamily("referral_bot_referrals", "Referrals by current status", labels=["status"])
        for status, n in self._referrals.items():
            referrals.add_metric([status], float(n))
        yield referrals
        backlog = GaugeMetricFamily(
            "referral_bot_outbox_rows", "Outbox rows waiting, being sent or given up on", labels=["platform", "status"]
        )
        for row in self._outbox:
            backlog.add_metric([row.platform, row.status], float(row.n))
        yield backlog
        counts = self._store.commit_counts
        yield CounterMetricFamily("referral_bot_store_writes", "Write transactions stored", value=counts.writes)
        yield CounterMetricFamily(
            "referral_bot_store_commits", "Database commits that carried them (SQLite shares one among many)",
            value=counts.commits,
        )  # fmt: skip


class Metrics:
    """What the outbox and the SLA timers report as they work, plus the database counts."""

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.send_latency = Histogram(
            "referral_bot_send_latency_seconds", "From a message being queued to it being sent", ["platform"],
            registry=r, buckets=LATENCY_BUCKETS,
        )  # fmt: skip
        self.lane_wait = Histogram(
            "referral_bot_lane_wait_seconds", "From a message being queued to it being sent, by priority lane"
            " (1 replies, 2 team, 3 notifications, 4 bulk)", ["platform", "lane"], registry=r, buckets=LATENCY_BUCKETS,
        )  # fmt: skip
        self.api_call = Histogram(
            "referral_bot_send_api_seconds", "The platform API call that sent a message", ["platform"],
            registry=r, buckets=API_BUCKETS,
        )  # fmt: skip
        self.rate_limited = Counter(
            "referral_bot_rate_limited", "429 answers from a platform", ["platform"], registry=r
        )
        self.dead_letters = Counter("referral_bot_dead_letters", "Messages given up on", ["platform"], registry=r)
        self.sla_breaches = Counter("referral_bot_sla_breaches", "Speed-to-lead limits run out", ["sla"], registry=r)
        self.nudges = Counter("referral_bot_nudges_sent", "Nudges and escalations to the team", ["kind"], registry=r)
        self.pruned = Counter(
            "referral_bot_pruned_rows", "Rows deleted as older than RETENTION_DAYS", ["table"], registry=r
        )
        self._store = StoreCollector(store) if store is not None else None
        if self._store is not None:
            r.register(self._store)

    def sent(self, rows: Sequence[OutboxRow], now: datetime, api_seconds: float) -> None:
        """Rows that just went out in one API call."""
        for row in rows:
            waited = max(0.0, (now - row.created_at).total_seconds())
            self.send_latency.labels(row.platform).observe(waited)
            self.lane_wait.labels(row.platform, str(row.lane)).observe(waited)
        if rows:
            self.api_call.labels(rows[0].platform).observe(api_seconds)

    def timer_fired(self, kind: str) -> None:
        """An SLA timer that fired: a nudge (the limit ran out) or an escalation to the managers."""
        self.nudges.labels(kind).inc()
        if kind in ("claim_nudge", "contact_nudge"):
            self.sla_breaches.labels(kind.removesuffix("_nudge")).inc()

    def rows_pruned(self, removed: Mapping[Table, int]) -> None:
        """One pass of the retention prune: the rows it deleted per table."""
        for table, count in removed.items():
            self.pruned.labels(table).inc(count)

    async def scrape(self) -> bytes:
        if self._store is not None:
            await self._store.refresh()
        return generate_latest(self.registry)


class Health:
    """Readiness: the database answers a query and every part of the engine is still running."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.stopped_parts: Callable[[], list[str]] = list  # set once the engine exists

    async def check(self) -> tuple[bool, dict[str, Any]]:
        problems: list[str] = []
        try:
            await asyncio.wait_for(self._store.ping(), CHECK_SECONDS)
        except Exception as exc:  # whatever it is, the answer is "not ready", with the reason
            problems.append(f"database: {type(exc).__name__}: {exc}".strip())
        problems += [f"{name}: stopped" for name in self.stopped_parts()]
        if problems:
            return False, {"status": "unavailable", "problems": problems}
        return True, {"status": "ok", "database": "ok", "parts": "running"}
