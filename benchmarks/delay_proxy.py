"""A TCP proxy on 127.0.0.1 that adds a fixed round-trip delay in front of DynamoDB Local (issue #26).

Half the round trip is added to each direction: every chunk read from one side is written to the
other ``rtt / 2`` after it arrived, in order (a queue per direction, so a stream of chunks is
delayed, not serialised: the bandwidth stays the loopback's). ``DelayProxy`` runs it in a child
process (its own interpreter: the proxy's work must not compete for the benchmark's GIL), started
and stopped by the benchmark (``with DelayProxy(upstream, rtt_ms=10) as proxy:``). Bounded: at
most ``max_connections`` client connections at once (more wait for a slot), and ``stop()``
terminates the child (killed if it has not exited within 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

_CHUNK = 64 * 1024


class _Proxy:
    def __init__(self, upstream_url: str, *, rtt_ms: float, max_connections: int = 256) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.one_way = rtt_ms / 2000.0
        self.rtt_ms = rtt_ms
        self.max_connections = max_connections
        self.port = 0
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._slots: asyncio.Semaphore | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the loop ---------------------------------------------------------------------------------
    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError):
                if writer.can_write_eof():
                    writer.write_eof()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(_CHUNK)
                await queue.put((time.monotonic() + self.one_way, data))
                if not data:
                    break
            await delivering
        except (OSError, asyncio.IncompleteReadError):
            delivering.cancel()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        assert self._slots is not None
        async with self._slots:
            self.connections += 1
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            except OSError:
                client_writer.close()
                return
            self._writers.update((client_writer, up_writer))
            try:
                await asyncio.gather(
                    self._pump(client_reader, up_writer), self._pump(up_reader, client_writer), return_exceptions=True
                )
            finally:
                for writer in (client_writer, up_writer):
                    self._writers.discard(writer)
                    writer.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._slots = asyncio.Semaphore(self.max_connections)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        loop.run_until_complete(serve())
        try:
            loop.run_forever()
        finally:
            loop.close()

    # -- start / stop -----------------------------------------------------------------------------
    def start(self) -> _Proxy:
        self._thread = threading.Thread(target=self._run, name=f"delay-proxy-{self.rtt_ms}ms", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start within 10 s")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            await asyncio.sleep(0)

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(5)


class DelayProxy:
    """The proxy in a child process: ``url`` once started; stopped by ``stop()`` or the ``with``."""

    def __init__(self, upstream_url: str, *, rtt_ms: float, max_connections: int = 256) -> None:
        self.args = [upstream_url, str(rtt_ms), str(max_connections)]
        self.rtt_ms = rtt_ms
        self.port = 0
        self._child: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._child = subprocess.Popen(
            [sys.executable, __file__, *self.args], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline()  # the port, once listening
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        self.port = int(line)
        return self

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.terminate()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("upstream")
    parser.add_argument("rtt_ms", type=float)
    parser.add_argument("max_connections", type=int)
    args = parser.parse_args()
    proxy = _Proxy(args.upstream, rtt_ms=args.rtt_ms, max_connections=args.max_connections).start()
    print(proxy.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin or terminates us (the parent's exit does both)
    proxy.stop()


if __name__ == "__main__":
    _main()
