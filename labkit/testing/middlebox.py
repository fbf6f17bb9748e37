"""The lab's SMTP inspector (:mod:`labkit.netpath.inspector`) in a thread, for tests.

The router runs the same code as a transparent proxy; here it is given a fixed
upstream instead, so a test can put it in front of any server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from labkit.netpath.inspector import Policy, serve

__all__ = ["RunningInspector"]


class RunningInspector:
    """``with RunningInspector(("127.0.0.1", port)) as box: connect to box.port``."""

    def __init__(self, upstream: tuple[str, int], policy: Policy | None = None) -> None:
        self.upstream = upstream
        self.policy = policy or Policy()
        self.host = "127.0.0.1"
        self.port = 0
        self.log: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> RunningInspector:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            serve(self.host, 0, policy=self.policy, upstream=self.upstream, log=self.log.append),
            self._loop,
        )
        self._server = future.result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            # Connections still open end here, not in a loop that is gone.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
