"""``StoreCircuit``: after the store could not be reached, refuse at once for a short backoff.

Without it every request pays the driver's connect timeout and retries while the store is down
(5.6 s per refused request was measured). Open, the circuit refuses in microseconds; when the
backoff has passed, one call (the trial) goes to the store while the others are still refused: its
success closes the circuit, its failure opens it again for twice as long (up to ``max_backoff``),
so a store that comes back is used again within ``max_backoff``.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)


class StoreCircuitOpen(ConnectionError):
    """Refused without trying: the last attempt to reach the store failed moments ago."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"a recent attempt failed; refused without trying, next attempt in {wait * 1000:.0f} ms")


class StoreCircuit:
    """The local open/trial/closed state of one store's connection (one event loop's view)."""

    def __init__(self, name: str, *, min_backoff: float = 0.05, max_backoff: float = 0.5) -> None:
        self.name = name
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.backoff = 0.0
        self.open_until = 0.0
        self.trial = False
        self.refused = 0
        """Calls refused without trying since the circuit last opened (for the log line)."""

    def allow(self) -> float | None:
        """``None`` when the call may go to the store, else the seconds until the next trial."""
        if self.backoff == 0.0:
            return None
        now = time.monotonic()
        if now < self.open_until or self.trial:
            self.refused += 1
            return max(0.0, self.open_until - now)
        self.trial = True  # this call is the trial: the others wait for its outcome
        return None

    def succeeded(self) -> None:
        """The store answered: close the circuit."""
        if self.backoff:
            logger.warning(
                "%s answers again; %d calls were refused without trying while it was down", self.name, self.refused
            )
        self.backoff, self.trial, self.refused = 0.0, False, 0

    def failed(self, trial: bool) -> None:
        """The store could not be reached: open, or after a failed ``trial`` open again for twice as
        long (calls already in flight when it opened fail too, but say nothing new)."""
        first = self.backoff == 0.0
        if not first and not trial:
            return
        self.backoff = self.min_backoff if first else min(self.max_backoff, self.backoff * 2)
        self.open_until = time.monotonic() + self.backoff
        self.trial = False
        if first:
            logger.warning(
                "%s unreachable: refusing at once, trying again every %.0f-%.0f ms",
                self.name,
                self.min_backoff * 1000,
                self.max_backoff * 1000,
            )
