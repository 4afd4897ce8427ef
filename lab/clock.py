"""The lab clock: real elapsed time x time_scale, from an epoch chosen at start.

Simulations (installers that take minutes, replication moving bytes) read `now()` and
wait with `await clock.sleep(lab_seconds)`; the admin API can jump the clock forward,
which wakes every sleeper so it re-checks its deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable


class LabClock:
    def __init__(self, epoch: dt.datetime | None = None, time_scale: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic):
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self._monotonic = monotonic
        self._epoch = (epoch or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        self._scale = float(time_scale)
        self._real_start = monotonic()
        self._offset = 0.0  # lab seconds added by advance()/set_now()
        self._changed = asyncio.Event() if _has_loop() else None

    @property
    def time_scale(self) -> float:
        return self._scale

    @property
    def epoch(self) -> dt.datetime:
        return self._epoch

    def elapsed(self) -> float:
        """Lab seconds since the epoch."""
        return (self._monotonic() - self._real_start) * self._scale + self._offset

    def now(self) -> dt.datetime:
        return self._epoch + dt.timedelta(seconds=self.elapsed())

    def isoformat(self) -> str:
        return self.now().isoformat(timespec="seconds").replace("+00:00", "Z")

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the lab clock only moves forward")
        self._offset += seconds
        self._wake()

    def set_time_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {scale}")
        # Re-anchor so lab time is continuous across the change of speed.
        elapsed = self.elapsed()
        self._real_start = self._monotonic()
        self._offset = elapsed
        self._scale = float(scale)
        self._wake()

    def restore(self, epoch: dt.datetime, elapsed: float, time_scale: float) -> None:
        """Continue a saved clock (lab/persist.py): `elapsed` lab seconds after `epoch`, at `time_scale`."""
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self._epoch = (epoch if epoch.tzinfo else epoch.replace(tzinfo=dt.UTC)).replace(microsecond=0)
        self._scale = float(time_scale)
        self._real_start = self._monotonic()
        self._offset = elapsed
        self._wake()

    async def sleep(self, lab_seconds: float) -> None:
        """Wait until `lab_seconds` of lab time have passed (wakes early on advance())."""
        deadline = self.elapsed() + lab_seconds
        while (remaining := deadline - self.elapsed()) > 0:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), timeout=remaining / self._scale)
            except TimeoutError:
                pass

    def to_dict(self) -> dict:
        return {"now": self.isoformat(), "epoch": self._epoch.isoformat().replace("+00:00", "Z"),
                "time_scale": self._scale, "elapsed_seconds": round(self.elapsed(), 3)}

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
