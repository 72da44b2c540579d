"""When the console collects cyclic garbage: while the operator is not typing.

Textual keeps thousands of rendered lines in caches (each line a Strip with seven small caches of
its own), so a full (generation 2) collection walks a few hundred thousand objects and stopped the
console for 60-150 ms every few seconds, and up to 370 ms once the engine's objects joined them:
the worst key-to-repaint times in bench/console.py were these pauses. So:

* what exists when the console starts (modules, classes, the service) is frozen out of every
  collection's sight;
* generations 0 and 1 stay automatic (a few milliseconds each);
* generation 2 runs from the console's one-second tick once no key or click came for a few seconds
  (an operator reading the screen, not typing), and regardless every few minutes, so memory stays
  bounded even under a key held down.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Above any count generation 2 can reach: CPython then never starts a full collection by itself.
_NEVER = 2**31 - 1


class IdleCollector:
    def __init__(
        self,
        *,
        idle_after: float = 3.0,
        every: float = 20.0,
        at_least_every: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_after = idle_after
        self.every = every
        self.at_least_every = at_least_every
        self.clock = clock
        self.collections = 0
        self._saved: tuple[int, int, int] | None = None
        self._last_input = self._last_full = clock()

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(self._saved[0], self._saved[1], _NEVER)

    def uninstall(self) -> None:
        """Give the interpreter its own schedule back (tests run many apps in one process)."""
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            gc.unfreeze()
            self._saved = None

    def note_input(self) -> None:
        self._last_input = self.clock()

    def tick(self) -> bool:
        """Run a full collection if it is due; True when one ran."""
        if self._saved is None:
            return False
        now = self.clock()
        idle = now - self._last_input >= self.idle_after
        since = now - self._last_full
        if (idle and since >= self.every) or since >= self.at_least_every:
            gc.collect()
            self._last_full = self.clock()
            self.collections += 1
            return True
        return False
