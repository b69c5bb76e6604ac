"""Daily budget windows in one timezone: today's, the pair either side of the nearest midnight (the
store picks one by its own clock), and the seconds to the next one."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litellm_router_plugin.clock import Clock
from litellm_router_plugin.errors import ConfigError


class DailyWindows:
    """The ``day:<date>`` windows of ``timezone`` by ``clock``."""

    def __init__(self, timezone: str, clock: Clock) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError("timezone", timezone, "Use an IANA name such as 'UTC' or 'Europe/Paris'.") from exc
        self.clock = clock
        self._pair: tuple[float, float, tuple[str, str, int]] | None = None  # valid from, until, pair

    def window(self) -> str:
        """The current daily window, e.g. ``day:2026-11-25``, by this worker's clock."""
        return "day:" + datetime.fromtimestamp(self.clock.now(), self.tz).date().isoformat()

    def window_pair(self) -> tuple[str, str, int]:
        """The windows either side of the midnight nearest this worker's clock, and that midnight
        (epoch ms): the store picks one by its own clock, so workers' clock skew (under 12 h) does
        not matter. The answer is the same from one noon to the next: it is kept for that span."""
        stamp = self.clock.now()
        cached = self._pair
        if cached is not None and cached[0] <= stamp < cached[1]:
            return cached[2]
        now = datetime.fromtimestamp(stamp, self.tz)
        day = now.date()
        noon = datetime.combine(day, time(12), self.tz)
        if now < noon:
            before, after = day - timedelta(days=1), day
            valid = (datetime.combine(day - timedelta(days=1), time(12), self.tz), noon)
        else:
            before, after = day, day + timedelta(days=1)
            valid = (noon, datetime.combine(day + timedelta(days=1), time(12), self.tz))
        boundary = datetime.combine(after, time(0), self.tz)
        pair = f"day:{before.isoformat()}", f"day:{after.isoformat()}", int(boundary.timestamp() * 1000)
        self._pair = (valid[0].timestamp(), valid[1].timestamp(), pair)
        return pair

    def seconds_to_next_window(self) -> float:
        """Seconds until the daily window rolls over (midnight in the timezone)."""
        now = datetime.fromtimestamp(self.clock.now(), self.tz)
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), self.tz)
        return max(1.0, midnight.timestamp() - now.timestamp())
