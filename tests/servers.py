"""Servers the tests start and stop themselves, on spare loopback ports."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int, *extra: str) -> subprocess.Popen[bytes]:
    """A redis-server on ``port`` without persistence (unless ``extra`` arguments ask for it)."""
    assert REDIS_SERVER is not None
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def own_redis() -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    procs = [start_redis(port)]
    yield port, procs
    for proc in procs:
        proc.kill()
        proc.wait(5)


def _free_cluster_port() -> int:
    """A port whose cluster bus port (port + 10000) is free as well."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        try:
            for p in (port, port + 10_000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class RedisCluster:
    """A loopback Redis Cluster: ``masters`` masters with one replica each, started and stopped here."""

    def __init__(self, directory: Path, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        self.directory = directory
        self.ports = [_free_cluster_port() for _ in range(2 * masters)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.node_timeout_ms = node_timeout_ms

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        assert REDIS_SERVER is not None
        node_dir = self.directory / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        self.procs[port] = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--dir", str(node_dir),
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--save", "",
                "--appendonly", "no",
                "--repl-diskless-sync-delay", "0",  # replicas in sync at once, so a failover can happen
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def cli(self, port: int, *args: str) -> str:
        assert REDIS_CLI is not None
        done = subprocess.run(
            [REDIS_CLI, "-p", str(port), *args], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    def start(self) -> RedisCluster:
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            _wait_for_port(port)
        self.cli(
            self.ports[0],
            "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
            "--cluster-replicas", "1", "--cluster-yes",
        )  # fmt: skip
        self.wait_ok()
        return self

    def wait_ok(self, seconds: float = 30.0) -> None:
        """Until every running node says ``cluster_state:ok`` and every replica is in sync (a replica
        that never synced would not take over from its master)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            live = [p for p, proc in self.procs.items() if proc.poll() is None]
            try:
                states = [self.cli(p, "cluster", "info") for p in live]
                replication = [self.cli(p, "info", "replication") for p in live]
            except subprocess.SubprocessError:
                states, replication = [], []
            if (
                states
                and all("cluster_state:ok" in s for s in states)
                and all("role:master" in r or "master_link_status:up" in r for r in replication)
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok with replicas in sync")

    def kill(self, port: int) -> None:
        self.procs[port].kill()
        self.procs[port].wait(5)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill()
        for proc in self.procs.values():
            proc.wait(5)


def _wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def _answers(url: str) -> bool:
    host_port = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    try:
        socket.create_connection((host, int(port or 6379)), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``$REDIS_CLUSTER_URL`` when a cluster answers there, else a 3-master cluster started for the session."""
    given = os.environ.get("REDIS_CLUSTER_URL")
    if given and _answers(given):
        yield given
        return
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.fail("redis-server and redis-cli are needed for the cluster tests (.ci/run installs them)")
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


LEDGER_DSN = os.environ.get("LEDGER_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


async def drop(schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
async def ledger_schema() -> AsyncIterator[str]:
    """A PostgreSQL schema of its own for one test's ledger, dropped afterwards."""
    name = schema_name()
    try:
        yield name
    finally:
        await drop(name)


async def count(schema: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(LEDGER_DSN, autocommit=True) as conn:
        cur = await conn.execute(f"SELECT count(*), coalesce(sum(cost_micros), 0) FROM {schema}.spend")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])


class TcpProxy:
    """A loopback TCP proxy to ``target_port`` that a test can cut (an outage) and restore."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
