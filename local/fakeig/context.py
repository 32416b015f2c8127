"""The fake's state, as every handler module sees it: the configuration, the clock, the store of users,
tokens, containers and media, and the fault rules. :class:`fakeig.app.FakeApp` adds the routing on top;
the handler modules import this module, never the app, so nothing imports in a circle."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fakeig.config import FakeConfig
from fakeig.faults import FaultSet
from fakeig.state import FakeClock, Store, make_user


class FakeState:
    """What the fake knows and how it is configured (one per fake server)."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.initial_config = (config or FakeConfig()).model_copy(deep=True)
        self.config = self.initial_config.model_copy(deep=True)
        self.clock = FakeClock()
        self.store = Store()
        self.faults = FaultSet()
        # Set when the server stops, so that sleeping "timeout" faults wake up.
        self.stop_event = threading.Event()
        self.reset()

    # ------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now()

    def reset(self, keep_config: bool = False) -> None:
        """Forget all state; restore the startup config unless ``keep_config``."""
        with self.store.lock:
            self.store.clear()
            if not keep_config:
                self.config = self.initial_config.model_copy(deep=True)
            self.clock.reset()
            self.faults.clear()
            self.store.add_user(make_user(self.config.default_username))

    @contextmanager
    def unlocked(self) -> Iterator[None]:
        """Release the store lock (held once by this thread) around slow work, e.g. a download."""
        self.store.lock.release()
        try:
            yield
        finally:
            self.store.lock.acquire()
