"""The command line's shared parts: the Typer app, consoles, options, and how errors end a command."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from litellm_router_plugin.config import ConfigWarning, PluginConfig
from litellm_router_plugin.errors import RouterPluginError, StoreUnavailableError
from litellm_router_plugin.routing.planner import Planner

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
