"""Outcomes in the PostgreSQL ledger (``ledger: {kind: postgres}``), beside the spend rows.

One table, ``<schema>.outcomes``, created on first use under the ledger's advisory lock; a row keeps
the outcome as stored (hashed features, no text unless ``learning.store_prompts``) and the request
id, so ``JOIN <schema>.spend USING (request_id)`` joins an outcome to its charged decision. Written
from the learner's background tasks, never on a request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from litellm_router_plugin.errors import ConfigError
from litellm_router_plugin.state.ledger import _IDENT

logger = logging.getLogger(__name__)

TABLE = """CREATE TABLE IF NOT EXISTS {schema}.outcomes (
    id          bigserial PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    request_id  text,
    source      text NOT NULL,
    data        jsonb NOT NULL
)"""


class OutcomeLedger:
    """Appends outcomes to PostgreSQL (psycopg 3, async); an unreachable database loses no request."""

    unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError, OSError)

    def __init__(self, dsn: str, *, schema: str = "lrp", connect_timeout: float = 5.0) -> None:
        if not _IDENT.match(schema):
            raise ConfigError("ledger.schema", schema, "Use a lower-case SQL identifier, e.g. 'lrp'.")
        self.dsn, self.schema, self.connect_timeout = dsn, schema, connect_timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock: asyncio.Lock | None = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._conn is None or self._conn.closed:
                conn = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
                )
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"lrp-ledger:{self.schema}",))
                    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                    await conn.execute(TABLE.format(schema=self.schema))
                self._conn = conn
            return self._conn

    async def write(self, record: str, *, request_id: str | None, source: str) -> bool:
        """Append one stored outcome; ``False`` (logged) when PostgreSQL cannot be reached."""
        try:
            conn = await self._connection()
            await conn.execute(
                f"INSERT INTO {self.schema}.outcomes (request_id, source, data) VALUES (%s, %s, %s)",
                (request_id, source, Jsonb(json.loads(record))),
            )
        except self.unavailable_errors as exc:
            await self.aclose()
            logger.warning("outcome ledger unreachable (%s); the outcome is kept in the store only", exc)
            return False
        return True

    async def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored outcomes, newest first, with their request id and source."""
        conn = await self._connection()
        cur = await conn.execute(
            f"SELECT data, request_id, source FROM {self.schema}.outcomes ORDER BY id DESC LIMIT %s", (limit,)
        )
        return [{**data, "request_id": rid, "source": source} for data, rid, source in await cur.fetchall()]

    async def aclose(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
