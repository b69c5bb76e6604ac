"""``litellm-router``: the command line (``app``), one module per group of commands.

Importing this package registers every command, in the order ``--help`` lists them.
"""

from __future__ import annotations

# isort: off
from litellm_router_plugin.cli import core as core  # demo, route, stats, test, serve, fake-upstream, ack-reset
from litellm_router_plugin.cli import models as models  # models list / promote / rollback
from litellm_router_plugin.cli import bench as bench  # bench routing / learning
from litellm_router_plugin.cli import learning as learning  # score, calibrate, train, learn

# isort: on
from litellm_router_plugin.cli.base import app
from litellm_router_plugin.cli.core import STATS_STORE_TIMEOUT

__all__ = ["STATS_STORE_TIMEOUT", "app"]
