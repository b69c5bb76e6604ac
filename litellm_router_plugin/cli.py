"""``litellm-router``: the command line."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from litellm_router_plugin._litellm import use_bundled_price_map
from litellm_router_plugin.config import ConfigWarning, PluginConfig
from litellm_router_plugin.errors import ConfigError, RouterPluginError, StoreUnavailableError
from litellm_router_plugin.evaluation import MMLU_DATASET
from litellm_router_plugin.guards.admission import store_from_config
from litellm_router_plugin.guards.stores import build_store
from litellm_router_plugin.routing.planner import Planner
from litellm_router_plugin.tools.demo import run_cascade_demo, run_demo

app = typer.Typer(help="Cost-aware routing for LiteLLM.", no_args_is_help=True, add_completion=False)
console = Console()
err_console = Console(stderr=True)
# The demo table needs ~110 columns; pipes and CI report 80, so widen rather than wrap.
wide_console = Console(width=max(console.width, 112))

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="PluginConfig file (YAML or JSON); default: built-in tiers.")
]
# A port outside 1-65535 is refused (the socket layer would take 99999 as 99999 mod 65536 = 34463).
PortOption = Annotated[int, typer.Option(help="Port to listen on (1-65535).", min=1, max=65535)]


def fail(message: object, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on stderr, verbatim and on one line, and exit (2: bad input)."""
    # Text, not a markup string: brackets in a message (YAML errors, reprs) are printed as they are.
    err_console.print(Text.assemble(("error:", "red"), " ", " ".join(str(message).split())), soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """Print ``warning: <message>`` on stderr, on one line."""
    err_console.print(Text.assemble(("warning:", "yellow"), " ", message), soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Our errors end the command with one line: exit 2 for bad input, 1 for an unreachable store.
    Config warnings (``daily: 0``...) are printed as one ``warning:`` line each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        try:
            yield
        except StoreUnavailableError as exc:
            fail(exc, code=1)
        except RouterPluginError as exc:
            fail(exc)
        finally:
            for warning in caught:
                if issubclass(warning.category, ConfigWarning):
                    warn(str(warning.message))
                else:
                    warnings.showwarning(
                        warning.message, warning.category, warning.filename, warning.lineno, warning.file, warning.line
                    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 tier``, ``3 tiers``."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _planner(config: Path | None) -> Planner:
    with user_errors():
        return Planner(PluginConfig.load(config))


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Route ~20 varied prompts through a real litellm.Router with mock responses (offline, no keys)."""
    use_bundled_price_map()  # offline, deterministic prices: the demo's explicit choice
    planner = _planner(config)
    with user_errors():
        rows = asyncio.run(run_demo(planner))
    table = Table(title=f"model={planner.alias!r} routed by {planner.classifier.name}")
    table.add_column("prompt", no_wrap=True, overflow="ellipsis", max_width=34)
    for column in ("category", "score", "tier", "model", "est. cost"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("score", "est. cost") else "left")
    for row in rows:
        excerpt = " ".join(row.prompt.split())
        table.add_row(excerpt, row.category, str(row.score), row.tier, row.model, f"${row.estimated_cost_usd:.6f}")
    wide_console.print(table)
    routed = sum(r.estimated_cost_usd for r in rows)
    strongest = sum(r.strongest_cost_usd for r in rows)
    tiers = sorted({r.tier for r in rows}, key=planner.tier_map.names.index)
    wide_console.print(f"{plural(len(rows), 'prompt')} over {plural(len(tiers), 'tier')} ({', '.join(tiers)}).")
    saved = 1 - routed / strongest if strongest else 0.0
    wide_console.print(
        f"Estimated cost: routed ${routed:.6f} vs all to the strongest tier "
        f"({planner.tier_map.strongest.name}) ${strongest:.6f}: {saved:.1%} saved."
    )
    _cascade_demo()


def _cascade_demo() -> None:
    """One cascade per question over the fake upstream: a confident answer kept, a weak one escalated."""
    rows = asyncio.run(run_cascade_demo())
    wide_console.print(
        "\nCascade (fake upstream on loopback): two samples per step; escalate a tier when they disagree."
    )
    for row in rows:
        steps = " + ".join(f"{tier} ${usd:.7f}" for tier, usd in row.step_costs)
        why = "escalated: " + "; ".join(row.reasons) if row.reasons else "kept: the samples agree"
        wide_console.print(
            f"  {row.question} -> {row.answer} (expected {row.expected}) via {' > '.join(row.tiers)}; {why}; "
            f"{steps} = ${row.total_cost_usd:.7f}"
        )
    cascade = sum(r.total_cost_usd for r in rows)
    strongest = sum(r.strongest_cost_usd for r in rows)
    wide_console.print(f"Cascade cost ${cascade:.7f} vs ${strongest:.7f} answering both on the strongest tier.")


@app.command()
def route(
    prompt: Annotated[
        str | None, typer.Argument(help="The user prompt to plan for; `-` reads it from stdin.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the prompt from this file (UTF-8).", dir_okay=False)
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the routing decision for one prompt as JSON (no model is called)."""
    if (prompt is None) == (file is None):
        fail("give the prompt as an argument, `-` to read it from stdin, or --file PATH")
    if file is not None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            fail(f"--file: cannot read {file} ({exc.strerror})")
        text = _decode(raw, f"--file {file}")
    elif prompt == "-":
        text = _decode(sys.stdin.buffer.read(), "stdin")
    else:
        text = prompt or ""
    if not text.strip():
        fail("the prompt is empty")
    planner = _planner(config)
    with user_errors():
        decision = asyncio.run(planner.decide([{"role": "user", "content": text}]))
    typer.echo(json.dumps(decision.model_dump(mode="json"), indent=2))


def _one_line(exc: BaseException) -> str:
    """``SyntaxError: invalid syntax (broken.py, line 3)``: the error and where, without the traceback."""
    if isinstance(exc, SyntaxError):
        where = f" ({Path(exc.filename).name}, line {exc.lineno})" if exc.filename else f" (line {exc.lineno})"
        return f"{type(exc).__name__}: {exc.msg}{where}"
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" ({Path(tb.tb_frame.f_code.co_filename).name}, line {tb.tb_lineno})" if tb is not None else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{where}: not valid UTF-8 (byte {exc.start}); convert the text to UTF-8")


@app.command()
def stats(
    config: ConfigOption = None,
    limit: Annotated[int | None, typer.Option(help="Only the newest N ledger rows (1 or more).", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    since: Annotated[str | None, typer.Option(help="First day counted, YYYY-MM-DD (budget timezone).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day counted, YYYY-MM-DD (inclusive).")] = None,
) -> None:
    """Spend from the shared ledger by tier, model, user, key, team and day, and savings against all-strongest."""
    with user_errors():
        plugin_config = PluginConfig.load(config)
        summary = asyncio.run(_stats(plugin_config, limit, since, until)).as_dict()
    if plugin_config.store.kind == "memory" and plugin_config.ledger.kind != "postgres":
        warn(
            "the memory store lives in one process, so this command sees only its own (empty) ledger, not a "
            "proxy's or an app's; point --config at the config with store.kind: redis (or a postgres ledger)"
        )
    if as_json:
        typer.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    source = "postgres ledger" if plugin_config.ledger.kind == "postgres" else f"{plugin_config.store.kind} store"
    console.print(
        f"{plural(summary['calls'], 'call')} ({summary['failed']} failed) from {source}: "
        f"${summary['total_usd']:.6f} spent vs ${summary['strongest_usd']:.6f} all-strongest "
        f"({summary['savings_ratio']:.1%} saved)"
    )
    for title in ("tier", "model", "user", "key", "team", "day"):
        table = Table(title=f"spend by {title}")
        for column in (title, "calls", "USD", "all-strongest USD", "saved USD"):
            table.add_column(column, justify="left" if column == title else "right")
        cells = summary["groups"][title]
        for name, cell in sorted(cells.items(), key=lambda kv: kv[0] if title == "day" else -kv[1]["spent_usd"]):
            table.add_row(
                name,
                str(cell["calls"]),
                f"${cell['spent_usd']:.6f}",
                f"${cell['strongest_usd']:.6f}",
                f"${cell['savings_usd']:.6f}",
            )
        console.print(table)


async def _stats(config: PluginConfig, limit: int | None, since: str | None, until: str | None) -> Any:
    from litellm_router_plugin.state.stats import store_stats

    store = build_store(config, socket_timeout=STATS_STORE_TIMEOUT)
    durable = store.durable
    unreachable = durable.unavailable_errors if durable is not None else ()
    try:
        try:
            return await store_stats(store, since, until, limit)
        except unreachable as exc:
            name = getattr(durable, "name", "")
            raise ConfigError("ledger.dsn", name, f"PostgreSQL is unreachable ({exc}).") from exc
        except StoreUnavailableError as exc:
            # Not the request-path message (on_store_error does not apply to reading the ledger).
            fail(
                f"stats: {exc.store} is unreachable ({type(exc.cause).__name__}: {exc.cause}); check store.url "
                "in --config and that the server is running",
                code=1,
            )
    finally:
        if store.durable is not None:
            await store.durable.aclose()
        await store.aclose()


@app.command("test")
def run_tests(
    path: Annotated[Path, typer.Argument(help="A .py file or a folder of eval cases.")],
    live: Annotated[bool, typer.Option("--live", help="Call the real models (needs keys); default: mocked.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="A file that fails to load shows its traceback.")
    ] = False,
) -> None:
    """Run eval cases (@eval_case, EvalSuite) and print pass/fail and cost per case."""
    from litellm_router_plugin.evaluation.evals import discover, report

    with user_errors():
        try:
            suites = discover(path)
        except RouterPluginError:
            raise
        except Exception as exc:  # the eval file's own error (syntax, import): one line, the traceback with -v
            if verbose:
                raise
            fail(f"{path}: cannot load the eval cases: {_one_line(exc)}; run with -v for the traceback")
    count = sum(len(s.cases) for s in suites)
    if not count:
        fail(f"no eval cases found in {path}")
    typer.echo(f"Running {plural(count, 'eval case')}...\n")

    async def run_all() -> list[Any]:
        results = []
        for suite in suites:
            results += await suite.run(live=live)
        return results

    if not report(asyncio.run(run_all()), typer.echo):
        raise typer.Exit(1)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 exposes it (it has no authentication).")
    ] = "127.0.0.1",
    port: PortOption = 8090,
) -> None:
    """Serve /router/route (a decision, no call), /router/stats (the ledger) and /router/metrics, as the proxy does."""
    from litellm_router_plugin.guards.dependencies import log_dependencies
    from litellm_router_plugin.integrations.server import create_app
    from litellm_router_plugin.pipeline.pipeline import Pipeline

    planner = _planner(config)
    for dependency in log_dependencies(planner.config):  # also on stderr, whatever the logging setup
        if dependency.reachable:
            err_console.print(Text(dependency.message), soft_wrap=True)
        else:
            warn(dependency.message)
    _listen(create_app(Pipeline(planner=planner)), host, port, "litellm-router serve")


@app.command("fake-upstream")
def fake_upstream(
    host: Annotated[str, typer.Option(help="Loopback interface only.")] = "127.0.0.1",
    port: PortOption = 9100,
) -> None:
    """A fake OpenAI-compatible upstream for tests and benchmarks (latency, errors, hangs, bad JSON)."""
    from litellm_router_plugin.tools.fake_upstream import create_app as create_fake

    if host not in ("127.0.0.1", "localhost", "::1"):
        fail("--host: the fake upstream listens on loopback only (127.0.0.1, localhost or ::1)")
    _listen(create_fake(), host, port, "fake upstream")


def _listen(asgi: Any, host: str, port: int, what: str) -> None:
    """Bind first (a taken port is one ``error:`` line), say where once bound, then serve until stopped."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc}); pick another port")
    shown = f"[{host}]" if ":" in host else host
    console.print(f"{what} listening on http://{shown}:{port} (Ctrl+C to stop)", highlight=False, soft_wrap=True)
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning"))
    server.run(sockets=[sock])


STATS_STORE_TIMEOUT = 1.0
"""Seconds ``stats`` waits for the store (the proxy's 5 s and its reconnect retries are for live traffic)."""


@app.command("ack-reset")
def ack_reset(config: ConfigOption = None) -> None:
    """Accept that the store lost its data: today's counters start from zero (budgets.on_reset: refuse)."""

    async def ack() -> bool:
        store = store_from_config(PluginConfig.load(config))
        try:
            # With a ledger (unreachable when refused), what it holds is added once it answers.
            return await store.restore({}, uuid.uuid4().hex, provisional=store.durable is not None)
        finally:
            await store.aclose()

    with user_errors():
        done = asyncio.run(ack())
    console.print("reset acknowledged: counters start from zero" if done else "nothing to acknowledge")


models_app = typer.Typer(help="Learned model versions in the shared store (learning.enabled).", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _models(config: Path | None, action: str, version: str | None = None) -> Any:
    """Run one registry action on the store the config names (see ``learning/versions.py``)."""
    from litellm_router_plugin.learning.versions import Registry
    from litellm_router_plugin.state.learning import learning_state

    async def run() -> Any:
        store = store_from_config(PluginConfig.load(config))
        try:
            registry = Registry(learning_state(store))
            if action == "promote":
                assert version is not None
                return await registry.promote(version)
            return await (registry.rollback() if action == "rollback" else registry.listing())
        finally:
            if store.durable is not None:
                await store.durable.aclose()
            await store.aclose()

    with user_errors():
        return asyncio.run(run())


@models_app.command("list")
def models_list(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every stored version, newest first, with the figures that decided it; * marks the current one."""
    rows = _models(config, "list")
    if as_json:
        typer.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    if not rows:
        console.print("no learned model yet: the configured classifier routes")
        return
    table = Table(title="learned models")
    for column in ("", "version", "outcomes", "candidate APGR", "compared with", "its APGR", "promoted"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            "*" if r["current"] else "",
            r["version"],
            str(r.get("outcomes", "")),
            f"{r.get('candidate_apgr', float('nan')):.4f}",
            str(r.get("compared_with", "")),
            f"{r.get('current_apgr', float('nan')):.4f}",
            "yes" if r.get("promote") else "no",
        )
    console.print(table)


@models_app.command("promote")
def models_promote(
    version: Annotated[str, typer.Argument(help="A version from `models list`.")], config: ConfigOption = None
) -> None:
    """Make VERSION current: every worker routes with it from its next request."""
    status, previous = _models(config, "promote", version)
    if status == "unknown":
        fail(f"no stored model version {version!r}; see `litellm-router models list`")
    console.print(
        f"{version} is current" + (f" (was {previous or 'the configured classifier'})" if status == "ok" else "")
    )


@models_app.command("rollback")
def models_rollback(config: ConfigOption = None) -> None:
    """Back to the version promoted before the current one (or the configured classifier)."""
    dropped, now = _models(config, "rollback")
    if dropped is None:
        console.print("nothing to roll back: the configured classifier routes")
        return
    console.print(f"rolled back {dropped}; now current: {now or 'the configured classifier'}")


bench_app = typer.Typer(help="Benchmarks on real data.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

DEFAULT_DATASET = MMLU_DATASET


@bench_app.command("routing")
def bench_routing(
    dataset: Annotated[Path, typer.Option(help="A folder or CSV/JSONL file: prompt, weak-correct, strong-correct.")] = (
        DEFAULT_DATASET
    ),
    out: Annotated[Path, typer.Option(help="Folder for the PNG plot and the Markdown/JSON tables.")] = Path(
        "bench/results"
    ),
    split: Annotated[
        str,
        typer.Option(
            help="held-out: only the final held-out subjects (never used to train or tune); all: every sample; "
            "folds: out-of-fold figures on the development subjects; draws: random 12-subject draws, "
            "the learned classifier retrained without them each time."
        ),
    ] = "held-out",
    draws: Annotated[int, typer.Option(help="How many subject draws for --split draws.")] = 50,
    scores: Annotated[
        Path | None, typer.Option(help="Also rank by these scores: one float per line, in dataset order.")
    ] = None,
    weak_column: Annotated[str | None, typer.Option(help="Weak model's correctness column.")] = None,
    strong_column: Annotated[str | None, typer.Option(help="Strong model's correctness column.")] = None,
    weak_model: Annotated[str, typer.Option(help="LiteLLM pricing name of the weak model.")] = (
        "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"
    ),
    strong_model: Annotated[str, typer.Option(help="LiteLLM pricing name of the strong model.")] = "gpt-4-1106-preview",
) -> None:
    """Our classifiers against LiteLLM's complexity router, prompt length and random: APGR, CPT, cost, latency."""
    from litellm_router_plugin.evaluation.routing_bench import load_dataset, plot, run_benchmark

    use_bundled_price_map()  # the published tables are priced by the bundled map, reproducibly
    with user_errors():
        samples = load_dataset(dataset, weak_column=weak_column, strong_column=strong_column)
        if split in ("folds", "draws"):
            _bench_validation(samples, split, draws, out / f"routing-{dataset.name or 'dataset'}-{split}")
            return
        given: list[float] | None = None
        if scores is not None:
            given = _read_scores(scores)
            if len(given) != len(samples):
                raise ConfigError("scores", len(given), f"Give one score per sample ({len(samples)}).")
        measured, note = _bench_split(samples, split)
        routers = {}
        if given is not None:
            by_sample = dict(zip(map(id, samples), given, strict=True))
            routers[scores.stem if scores else "scores"] = lambda ss: [by_sample[id(s)] for s in ss]
        report = run_benchmark(
            measured,
            routers,
            scorers=_bench_scorers(),
            dataset=display_path(dataset),
            weak_model=weak_model,
            strong_model=strong_model,
            split=note,
        )
    out.mkdir(parents=True, exist_ok=True)
    stem = dataset.name or "dataset"
    png = plot(report, out / f"routing-{stem}.png")
    (out / f"routing-{stem}.md").write_text(report.markdown() + "\n", encoding="utf-8")
    summary = report.as_dict()
    for router in summary["routers"]:
        router["points"] = router["points"][:: max(1, len(router["points"]) // 100)]
    (out / f"routing-{stem}.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    typer.echo(report.markdown())
    typer.echo(f"\nplot: {display_path(png)}")


def _bench_validation(samples: list[Any], split: str, draws: int, stem: Path) -> None:
    from litellm_router_plugin.evaluation import validation

    if len({s.group for s in samples}) <= 2 * 12:
        raise ConfigError("--split", split, "Folds and subject draws need a dataset with many subjects (a `group`).")
    # Both shipped models trained on the development subjects: not comparable on folds of them.
    scorers = {name: f for name, f in _bench_scorers().items() if not name.startswith(("learned (ours)", "traffic"))}
    if split == "folds":
        figures = validation.fold_figures(samples, scorers)
        detail = (
            "Development subjects in 5 subject-grouped folds (seed 7; the 12 held-out subjects and the "
            "data-fault subject left out); the learned classifier scored by models trained without the fold."
        )
    else:
        figures = validation.draw_figures(samples, scorers, draws=draws)
        detail = (
            f"{draws} random draws of 12 subjects out of all (seed 0; the data-fault subject left out); "
            "the learned classifier retrained on the other subjects for every draw."
        )
    table = validation.markdown(split, figures, detail)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    stem.with_suffix(".json").write_text(json.dumps(validation.as_dicts(figures), indent=1) + "\n", encoding="utf-8")
    typer.echo(table)


def _read_scores(path: Path) -> list[float]:
    try:
        words = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("scores", str(path), f"Cannot read the file ({exc}).") from None
    scores = []
    for number, word in enumerate(words, 1):
        try:
            scores.append(float(word))
        except ValueError:
            raise ConfigError("scores", word, f"Score {number} is not a number; write one float per line.") from None
    return scores


def display_path(path: Path) -> str:
    """``path`` as written into results: relative to the current folder, or to the installed package's
    parent for shipped data (``litellm_router_plugin/evaluation/data/...``); never a machine's absolute path."""
    resolved = path.resolve()
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if resolved.is_relative_to(base):
            return resolved.relative_to(base).as_posix()
    return str(path)


def _bench_split(samples: list[Any], split: str) -> tuple[list[Any], str]:
    from litellm_router_plugin.evaluation.baselines import subject_split

    if split == "all":
        return samples, ""
    if split != "held-out":
        raise ConfigError("--split", split, "Use held-out, all, folds or draws.")
    groups = sorted({s.group for s in samples})
    if len(groups) <= 12:
        return samples, ""  # a dataset without subjects: nothing was tuned on it
    _, final = subject_split(samples, lambda s: s.group)
    held = sorted({s.group for s in final})
    return final, f"the {len(held)} held-out subjects ({', '.join(held)}), {len(final)} prompts"


def _bench_scorers() -> dict[str, Any]:
    from litellm_router_plugin.classify import HeuristicClassifier
    from litellm_router_plugin.classify.learned import LearnedClassifier
    from litellm_router_plugin.evaluation.baselines import litellm_complexity_scorer, prompt_length

    scorers: dict[str, Any] = {"heuristic (ours)": HeuristicClassifier().strength}
    learned = LearnedClassifier()
    learned.load()  # a missing model file is an error here, not a silent heuristic
    scorers["learned (ours)"] = learned.strength
    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel

    if SHIPPED_PATH.exists():  # the n-gram traffic model (issue 22): the prior of `learn`
        scorers["traffic model (ours, traffic.json)"] = TrafficModel.load(SHIPPED_PATH).strength
    scorers["LiteLLM complexity_router (default heuristic)"] = litellm_complexity_scorer("heuristic")
    scorers["LiteLLM complexity_router (heuristic_v2)"] = litellm_complexity_scorer("heuristic_v2")
    scorers["prompt length"] = prompt_length
    return scorers


@app.command()
def score(
    config: ConfigOption = None,
    model: Annotated[
        Path | None, typer.Option(help="Score with this model file (from `learn` or `train`) instead of the config's.")
    ] = None,
) -> None:
    """Read JSON lines {"prompt": ...} on stdin; write one float per line (higher: needs the strong model)."""
    classifier: Any
    if model is not None:
        from litellm_router_plugin.classify.learned import LearnedClassifier

        classifier = LearnedClassifier(model)
        with user_errors():
            classifier.load()  # a missing or corrupt file is an error here, not a silent heuristic
    else:
        classifier = _planner(config).local
    for number, raw in enumerate(sys.stdin.buffer, 1):
        line = _decode(raw, f"line {number}")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f'line {number}: not JSON ({exc.msg}); write one object {{"prompt": "..."}} a line')
        prompt = row.get("prompt") if isinstance(row, dict) else None
        if not isinstance(prompt, str):
            got = type(prompt).__name__ if isinstance(row, dict) and "prompt" in row else "no prompt"
            fail(f'line {number}: expected a JSON object with a "prompt" string, got {got}')
        typer.echo(f"{classifier.strength(prompt):.{6 if model is not None else 4}f}")


@app.command()
def calibrate(
    config: Annotated[Path, typer.Option("--config", "-c", help="PluginConfig file to write the threshold into.")],
    strong_share: Annotated[float | None, typer.Option(help="Share of traffic for the strongest tier, 0-1.")] = None,
    tier_shares: Annotated[
        str | None,
        typer.Option(help="Share of traffic per tier, cheapest first, e.g. 0.5,0.3,0.15,0.05: writes tier_thresholds."),
    ] = None,
    max_cost_per_1k_requests: Annotated[
        float | None, typer.Option(help="Largest strong share whose estimated cost per 1,000 requests fits.")
    ] = None,
    all_tiers: Annotated[
        bool, typer.Option("--all-tiers", help="With a cost cap: thresholds for every tier boundary, not one.")
    ] = False,
    sample: Annotated[
        Path, typer.Option(help="Prompts to calibrate on: a dataset (as for bench routing) or JSON lines.")
    ] = DEFAULT_DATASET,
) -> None:
    """Thresholds on the classifier's strength so a sample sends the wanted share (or cost) to each tier."""
    from litellm_router_plugin.evaluation.calibration import (
        calibrate_threshold,
        calibrate_tiers,
        read_prompts,
        write_threshold,
        write_tier_thresholds,
    )

    if sum(x is not None for x in (strong_share, tier_shares, max_cost_per_1k_requests)) != 1:
        fail("give exactly one of --strong-share, --tier-shares and --max-cost-per-1k-requests")
    with user_errors():
        planner = Planner(PluginConfig.load(config))
        prompts = read_prompts(sample)
        if tier_shares is not None or all_tiers:
            shares = None
            if tier_shares is not None:
                try:
                    shares = [float(x) for x in tier_shares.split(",")]
                except ValueError:
                    raise ConfigError("--tier-shares", tier_shares, "Give numbers separated by commas.") from None
            tiers = calibrate_tiers(planner, prompts, shares=shares, max_cost_per_1k=max_cost_per_1k_requests)
            if write_tier_thresholds(config, tiers.thresholds):
                warn(f"classifier.strong_threshold removed from {config}: the tier thresholds replace it")
            names = planner.tier_map.names
            spread = ", ".join(f"{name} {share:.1%}" for name, share in zip(names, tiers.shares, strict=True))
            typer.echo(
                f"classifier.tier_thresholds = {[round(t, 4) for t in tiers.thresholds]} written to {config}: "
                f"{spread} of {plural(len(prompts), 'sample prompt')} "
                f"(estimated ${tiers.cost_per_1k:.4f} per 1,000 requests)"
            )
            _warn_if_benchmark_sample(sample)
            return
        result = calibrate_threshold(
            planner, prompts, strong_share=strong_share, max_cost_per_1k=max_cost_per_1k_requests
        )
        if write_threshold(config, result.threshold):
            warn(f"classifier.tier_thresholds removed from {config}: they would still decide every tier")
    typer.echo(
        f"classifier.strong_threshold = {result.threshold:.4f} written to {config}: "
        f"{result.strong_share:.1%} of {plural(len(prompts), 'sample prompt')} go to the strongest tier "
        f"(estimated ${result.cost_per_1k:.4f} per 1,000 requests)"
    )
    _warn_if_benchmark_sample(sample)


def _warn_if_benchmark_sample(sample: Path) -> None:
    if sample.resolve().is_relative_to(MMLU_DATASET.resolve()):
        warn(
            "the sample is the shipped MMLU benchmark, not your traffic: short multiple-choice questions, so "
            "the share of your own prompts sent to the strongest tier will differ. Calibrate on your prompts: "
            '--sample prompts.jsonl (one {"prompt": ...} a line).'
        )


@app.command()
def train(
    dataset: Annotated[Path, typer.Option(help="Routing outcomes to train on (as for bench routing).")] = (
        DEFAULT_DATASET
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Model file to write; required: name the shipped file to overwrite it (never by default)."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="development: leave the benchmark's held-out subjects out (default); all: every sample.")
    ] = "development",
    kind: Annotated[
        str,
        typer.Option(help="shape: the shipped learned.json recipe; traffic: the n-gram traffic model (traffic.json)."),
    ] = "shape",
) -> None:
    """Train the learned classifier (deterministic: the same data gives the same file, byte for byte)."""
    from litellm_router_plugin.classify.learned import MODEL_PATH
    from litellm_router_plugin.evaluation.baselines import subject_split
    from litellm_router_plugin.evaluation.routing_bench import load_dataset
    from litellm_router_plugin.evaluation.train import DATA_FAULTS, fit, write_model

    if out is None:
        fail(f"give --out FILE (the shipped models are in {display_path(MODEL_PATH.parent)}: name one to overwrite it)")
    with user_errors():
        samples = load_dataset(dataset)
        if split == "development":
            if len({s.group for s in samples}) > 12:
                samples, _ = subject_split(samples, lambda s: s.group)
        elif split != "all":
            raise ConfigError("--split", split, "Use development or all.")
        if kind == "traffic":
            from litellm_router_plugin.learning.fit import fit as fit_traffic
            from litellm_router_plugin.learning.outcomes import Outcome

            samples = [s for s in samples if s.group not in DATA_FAULTS]
            records = [
                Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples
            ]
            path = fit_traffic(records).save(out)
        elif kind == "shape":
            path = write_model(fit(samples), out)
        else:
            raise ConfigError("--kind", kind, "Use shape or traffic.")
    typer.echo(f"trained on {len(samples)} samples; model written to {display_path(path)}")


@app.command()
def learn(
    outcomes: Annotated[
        Path, typer.Option(help='JSON lines {"prompt": str, "weak": 0-1, "strong": 0-1} (quality of each answer).')
    ],
    out: Annotated[Path, typer.Option(help="Model file to write (never the shipped one unless named).")],
    base: Annotated[
        Path | None, typer.Option(help="A traffic model to start from (the prior); default: the shipped traffic.json.")
    ] = None,
    no_base: Annotated[bool, typer.Option("--no-base", help="Start from nothing: no prior model.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the internal cross-validation split.")] = 0,
) -> None:
    """Train a traffic model on labelled outcomes; use it with `score --model` or `classifier: {model: PATH}`."""
    from litellm_router_plugin.learning.fit import fit
    from litellm_router_plugin.learning.outcomes import read_jsonl

    with user_errors():
        records = read_jsonl(outcomes)
        prior = None if no_base else _base_model(base)
        try:
            model = fit(records, base=prior, seed=seed)
        except ValueError as exc:
            raise ConfigError("outcomes", str(outcomes), f"{exc}.") from None
        path = model.save(out)
    meta = model.meta
    typer.echo(
        f"learned {model.version} from {plural(len(records), 'outcome')} (penalty {meta['penalty']}, "
        f"prior {meta['base'] or 'none'} x {meta['prior_weight']}); model written to {display_path(path)}"
    )


def _base_model(path: Path | None) -> Any:
    """The prior for `learn`: the given traffic model, or the shipped one (classify/models/traffic.json)."""
    from litellm_router_plugin.classify.learned import load_model
    from litellm_router_plugin.classify.traffic import SHIPPED_PATH, TrafficModel

    model = load_model(path or SHIPPED_PATH)
    if isinstance(model, TrafficModel):
        return model
    if path is not None:
        raise ConfigError("--base", str(path), "Give a model written by `litellm-router learn` (a traffic model).")
    return None


@bench_app.command("learning")
def bench_learning(
    outcomes: Annotated[
        Path | None,
        typer.Option(help="A labelled stream (JSON lines as for `learn`); default: the shipped MMLU outcomes."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the PNG plot and the Markdown table.")] = Path("bench/results"),
    labels: Annotated[str, typer.Option(help="Label counts to stop at, comma-separated.")] = "100,250,500,1000,2000",
    seeds: Annotated[int, typer.Option(help="Stream orders (seeds 0..N-1); figures are their mean.")] = 1,
) -> None:
    """Replay a labelled stream through learning: APGR on the unseen rest against the number of labels."""
    from litellm_router_plugin.evaluation import learning_bench
    from litellm_router_plugin.learning.outcomes import read_jsonl

    with user_errors():
        try:
            counts = [int(x) for x in labels.split(",")]
        except ValueError:
            raise ConfigError("--labels", labels, "Give whole numbers separated by commas.") from None
        if outcomes is None:
            records, prompts, title = _mmlu_stream()
        else:
            records = read_jsonl(outcomes, keep_prompts=True)
            prompts = [r.prompt or "" for r in records]
            title = f"Replay of {display_path(outcomes)} ({len(records)} outcomes)"
        scorers = {k: v for k, v in _bench_scorers().items() if k != "LiteLLM complexity_router (heuristic_v2)"}
        rows = learning_bench.replay(
            records, prompts, base=_base_model(None), static=scorers, label_counts=counts, seeds=seeds
        )
    stem = "learning-" + (outcomes.stem if outcomes else "routellm-mmlu")
    table = learning_bench.markdown(
        rows, title + f"; APGR on the unseen rest, mean of {plural(seeds, 'stream order')}."
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(table + "\n", encoding="utf-8")
    png = learning_bench.plot(rows, title.split(":")[0] if outcomes is None else title, out / f"{stem}.png")
    typer.echo(table)
    typer.echo(f"\nplot: {display_path(png)}")


def _mmlu_stream() -> tuple[list[Any], list[str], str]:
    """The shipped MMLU outcomes of the 12 held-out subjects: the shipped model never trained on them."""
    from litellm_router_plugin.learning.outcomes import Outcome

    samples, note = _bench_split(load_dataset_default(), "held-out")
    records = [Outcome.of(s.prompt, weak=float(s.weak), strong=float(s.strong), source="file", at=0.0) for s in samples]
    return records, [s.prompt for s in samples], f"Replay of the shipped MMLU outcomes: {note}"


def load_dataset_default() -> list[Any]:
    """The shipped MMLU outcomes."""
    from litellm_router_plugin.evaluation.routing_bench import load_dataset

    return load_dataset(DEFAULT_DATASET)


if __name__ == "__main__":  # pragma: no cover
    app()
