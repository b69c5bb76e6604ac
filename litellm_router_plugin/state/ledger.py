"""``PostgresLedger``: a durable spend ledger in PostgreSQL, written off the request's hot path.

Every charged settle (``Store.settle`` returning ``settled`` with scopes) is handed to ``record``,
which only appends to a bounded in-process queue (``state.write_behind``). A background task writes the queue in batches
(``INSERT ... ON CONFLICT (request_id) DO NOTHING``, so a row lands exactly once however often it
is retried) and, while PostgreSQL is unreachable, keeps the rows and retries with backoff (tenacity).
The ledger is what a Redis that lost its data is rebuilt from (``totals``), and what
``litellm-router stats`` reads. The schema is created on first use; migrations are numbered and
applied once, under an advisory lock, by whichever worker comes first.

Each row carries the store ``prefix`` it was charged under (deployments may share one schema: each
reads only its own rows) and the store ``epoch`` it was charged in: a row of an earlier epoch is
not in the live counters, so rows that land after a rebuild are added to them (``reconcile``, see
``guards/rebuild.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from litellm_router_plugin import metrics
from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.state.records import MICROS_PER_USD, SettleRequest, SettleResult
from litellm_router_plugin.state.write_behind import WriteBehind

logger = logging.getLogger(__name__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Version -> statements. Append only: a deployed migration is never edited.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE {schema}.spend (
            request_id  text PRIMARY KEY,
            settled_at  timestamptz NOT NULL DEFAULT now(),
            time_window text NOT NULL,
            scopes      text[] NOT NULL,
            cost_micros bigint NOT NULL,
            row_data    jsonb NOT NULL
        )""",
        "CREATE INDEX spend_window ON {schema}.spend (time_window)",
        "CREATE INDEX spend_settled_at ON {schema}.spend (settled_at DESC)",
    ),
    # Rows are scoped by the store prefix they were charged under, and tagged with the store's epoch.
    # Rows written before this version have no owner recorded (NULL): every prefix counts them when it
    # rebuilds (an over-count at worst, as before the upgrade, and only for the upgrade day's windows).
    2: (
        "ALTER TABLE {schema}.spend ADD COLUMN store_prefix text",
        "ALTER TABLE {schema}.spend ADD COLUMN store_epoch text",
        "CREATE INDEX spend_prefix_window ON {schema}.spend (store_prefix, time_window)",
    ),
}

_OWN = "(t.store_prefix = %(prefix)s OR t.store_prefix IS NULL)"
"""This deployment's rows: its prefix, or written before rows carried one."""


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One charged settle: what the budget counters were charged, and the ledger line."""

    request_id: str
    window: str
    scopes: tuple[str, ...]
    cost_micros: int
    row: Mapping[str, Any]
    epoch: str | None = None
    """The store's epoch marker when the counters were charged (``None``: unknown)."""


class PostgresLedger(WriteBehind[SpendRow]):
    """Charged settles in PostgreSQL (psycopg 3, async), batched by a background writer."""

    unavailable_errors = retry_on = (psycopg.OperationalError, psycopg.InterfaceError, OSError)
    task_name = "lrp-ledger-writer"
    gauge, dropped = metrics.LEDGER_QUEUE, metrics.LEDGER_DROPPED

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "lrp",
        prefix: str = "lrp",
        batch_size: int = 500,
        flush_seconds: float = 0.2,
        max_queued: int = 100_000,
        connect_timeout: float = 5.0,
    ) -> None:
        if not _IDENT.match(schema):
            raise ConfigError("ledger.schema", schema, "Use a lower-case SQL identifier, e.g. 'lrp'.")
        super().__init__(max_queued)
        self.dsn = dsn
        self.schema = schema
        self.prefix = prefix
        """The store prefix this deployment's rows carry: rebuilds and stats read only those."""
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.connect_timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._ready = False
        self._lock: asyncio.Lock | None = None
        self.written = 0
        """Rows this process wrote (inserted or already present)."""
        self.landed: Callable[[list[SpendRow]], Awaitable[None]] | None = None
        """Called with every batch just written (the store reconciles rows of an earlier epoch)."""

    @property
    def name(self) -> str:
        """The DSN without its password, for messages."""
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", self.dsn)

    # -- the hot path: no I/O --------------------------------------------------------------------
    def record(self, row: SpendRow) -> bool:
        """Queue a charged settle for the background writer; ``False`` (logged) when the queue is full."""
        return self._put(row.request_id, row)

    def _micros(self, item: SpendRow) -> int:
        return item.cost_micros

    def _refused(self, key: str, item: SpendRow) -> None:
        logger.error(
            "ledger queue full (%d): settle %s of $%.6f will NOT reach %s",
            self.max_queued,
            key,
            item.cost_micros / MICROS_PER_USD,
            self.name,
        )

    def _lost_message(self) -> str:
        return f"settles never reached the ledger {self.name}"

    def record_settled(self, request: SettleRequest, result: SettleResult) -> bool:
        """``record`` a settle the store charged (``settled``, with its window and scopes)."""
        assert result.window is not None
        data = row_data(request.ledger, request.request_id, result.charged)
        row = SpendRow(request.request_id, result.window, result.scopes, result.charged, data, result.epoch)
        return self.record(row)

    def pending(self) -> list[SpendRow]:
        """Rows recorded here and not yet written."""
        return list(self._pending.values())

    # -- the writer (``WriteBehind`` runs it) ------------------------------------------------------
    async def _write(self, batch: list[tuple[str, SpendRow]]) -> None:
        try:
            await self._insert([row for _, row in batch])
        except self.unavailable_errors as exc:
            await self._drop_connection()
            logger.warning("ledger %s unreachable (%s); %d rows kept", self.name, exc, len(self._pending))
            raise

    async def _written(self, batch: list[tuple[str, SpendRow]]) -> None:
        self.written += len(batch)
        if self.landed is None:
            return
        try:
            await self.landed([row for _, row in batch])
        except Exception:  # the rows are written; a failed reconcile is retried by the next batch
            logger.warning("ledger %s: reconciling the store after a batch failed", self.name, exc_info=True)

    async def _insert(self, rows: list[SpendRow]) -> None:
        conn = await self._connection()
        async with conn.transaction(), conn.cursor() as cur:
            await cur.executemany(
                f"INSERT INTO {self.schema}.spend "
                "(request_id, time_window, scopes, cost_micros, row_data, store_prefix, store_epoch) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (request_id) DO NOTHING",
                [
                    (r.request_id, r.window, list(r.scopes), r.cost_micros, Jsonb(dict(r.row)), self.prefix, r.epoch)
                    for r in rows
                ],
            )

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
                )
                self._ready = False
            if not self._ready:
                await self._migrate(self._conn)
                self._ready = True
            return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _migrate(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Create the schema and apply the migrations not yet applied, once across all workers."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"lrp-ledger:{self.schema}",))
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.schema}.schema_version "
                "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute(f"SELECT coalesce(max(version), 0) FROM {self.schema}.schema_version")
            found = await cur.fetchone()
            current = int(found[0]) if found else 0
            for version in sorted(v for v in MIGRATIONS if v > current):
                for statement in MIGRATIONS[version]:
                    await conn.execute(statement.format(schema=self.schema))
                await conn.execute(f"INSERT INTO {self.schema}.schema_version (version) VALUES (%s)", (version,))
                logger.info("ledger %s: schema %s migrated to version %d", self.name, self.schema, version)

    async def aclose(self, seconds: float = 5.0) -> None:
        """Flush for up to ``seconds``, log what could not be written (with amounts), close."""
        await self.close(seconds)
        await self._drop_connection()

    # -- reads -------------------------------------------------------------------------------------
    async def totals(self, windows: Iterable[str], *, except_epoch: str | None = None) -> dict[tuple[str, str], int]:
        """Micro-dollars charged per (scope, window) under this prefix, for rebuilding counters;
        includes rows still queued here. ``except_epoch``: leave out the rows charged in that epoch
        (they are in the live counters already)."""
        wanted = list(windows)
        conn = await self._connection()
        cur = await conn.execute(
            f"SELECT s.scope, t.time_window, sum(t.cost_micros) FROM {self.schema}.spend t, "
            f"unnest(t.scopes) AS s(scope) WHERE t.time_window = ANY(%(windows)s) AND {_OWN} "
            "AND (%(epoch)s::text IS NULL OR t.store_epoch IS DISTINCT FROM %(epoch)s) GROUP BY 1, 2",
            {"windows": wanted, "prefix": self.prefix, "epoch": except_epoch},
        )
        found: dict[tuple[str, str], int] = {
            (scope, window): int(total) for scope, window, total in await cur.fetchall()
        }
        queued = [r for r in self._pending.values() if r.window in wanted and r.epoch != except_epoch]
        written = await self._written_ids([r.request_id for r in queued])
        for row in queued:
            if row.request_id not in written:
                for scope in row.scopes:
                    found[(scope, row.window)] = found.get((scope, row.window), 0) + row.cost_micros
        return found

    async def has_rows(self) -> bool:
        """Whether any row was ever charged under this prefix (a new deployment has none)."""
        conn = await self._connection()
        cur = await conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {self.schema}.spend WHERE store_prefix = %s)", (self.prefix,)
        )
        found = await cur.fetchone()
        return bool(found and found[0])

    async def check(self) -> None:
        """Connect (and migrate) now; raises one of ``unavailable_errors`` when PostgreSQL is unreachable."""
        await self._connection()

    async def _written_ids(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        conn = await self._connection()
        cur = await conn.execute(f"SELECT request_id FROM {self.schema}.spend WHERE request_id = ANY(%s)", (ids,))
        return {r[0] for r in await cur.fetchall()}

    async def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Ledger lines, newest first (the shape ``Store.ledger`` returns)."""
        conn = await self._connection()
        cur = await conn.execute(
            f"SELECT row_data, request_id, cost_micros FROM {self.schema}.spend t WHERE {_OWN} "
            "ORDER BY settled_at DESC, request_id LIMIT %(limit)s",
            {"prefix": self.prefix, "limit": limit},
        )
        return [{**data, "request_id": rid, "cost_micros": int(cost)} for data, rid, cost in await cur.fetchall()]


def row_data(row: Mapping[str, Any] | None, request_id: str, cost_micros: int) -> dict[str, Any]:
    """The ledger line to store: the settle's own row, or the bare charge when it had none."""
    data = dict(row) if row is not None else {}
    data.setdefault("request_id", request_id)
    data.setdefault("cost_micros", cost_micros)
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))  # plain JSON types only
    return plain
