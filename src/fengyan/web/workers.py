"""Several server processes on one port, each with its own listening socket.

uvicorn's ``--workers`` binds one socket in the parent and lets every worker accept from it.
A load balancer or a browser that opens its connections in a burst and keeps them alive
then lands almost all of them on whichever worker woke first: measured with wrk's 50
keep-alive connections on two workers, 48 went to one worker and 2 to the other, and the
busy worker's queue set the 95th percentile while the other core idled.

Here each worker binds its own socket with ``SO_REUSEPORT``; the kernel spreads new
connections over the listening sockets by a hash of their addresses (as nginx's
``reuseport``). The parent only checks that the port is free, starts the workers, restarts
one that dies, and on SIGTERM or SIGINT asks each to stop (uvicorn's graceful shutdown,
then a kill after ``timeout_graceful_shutdown`` and a margin).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

log = logging.getLogger("fengyan.web")

APP_FACTORY = "fengyan.web.app:app_from_env"
KILL_MARGIN_SECONDS = 5.0
STARTUP_FAILURE = 3  # uvicorn's exit code when the app cannot start (config, database …)


def reuse_port_supported() -> bool:
    """Whether this platform spreads connections over ``SO_REUSEPORT`` sockets (Linux)."""
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def _socket(host: str, port: int, reuse_port: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    """One server process: its own socket, the app built by the factory in this process."""
    import uvicorn

    sock = _socket(host, port)
    rest = {k: v for k, v in options.items() if k not in ("host", "port")}
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port, **rest)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except SystemExit:
        if server.started:
            raise
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve_workers(host: str, port: int, processes: int, options: dict[str, Any]) -> int:
    """Run ``processes`` workers on ``host:port`` until SIGTERM or SIGINT.

    A worker that cannot start (uvicorn's start-up failure) stops them all: restarting it
    would fail the same way. Returns the exit code for the command.
    """
    # Fail here, once, if anything holds the port: a probe without SO_REUSEPORT cannot bind
    # next to a listening socket, so a second `fengyan serve` cannot quietly share the port
    # with the first.
    _socket(host, port, reuse_port=False).close()
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        proc = ctx.Process(target=_worker, args=(host, port, options), name="fengyan-web")
        proc.start()
        return proc

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = [start() for _ in range(processes)]
    code = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(workers):
                if proc.is_alive() or stopping:
                    continue
                if proc.exitcode == STARTUP_FAILURE:
                    log.error("web worker %s could not start; stopping", proc.pid)
                    stopping, code = True, STARTUP_FAILURE
                else:
                    log.warning("web worker %s exited (code %s); starting another",
                                proc.pid, proc.exitcode)  # fmt: skip
                    workers[i] = start()
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn's graceful shutdown
        grace = float(options.get("timeout_graceful_shutdown") or 0) + KILL_MARGIN_SECONDS
        deadline = time.monotonic() + grace
        for proc in workers:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
