"""Keeps the local stack's processes running, as Kubernetes keeps the cluster's pods.

A child that exits, whatever the cause (a crash, `kill -9`, an out-of-memory kill), is
started again after a back-off that doubles from `min_backoff` to `max_backoff` seconds
and starts over once the child has stayed up `settle` seconds, like a pod's
CrashLoopBackOff. Written here rather than taken from supervisord or honcho: those run
from their own config files and would add a daemon to a `make run` that must stop with
one Ctrl-C.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, even by SIGKILL, so no
    model server is left holding its port (Linux's PR_SET_PDEATHSIG; elsewhere a no-op)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    log: Path | None = None  # where its output goes; None = the terminal
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = 0.0
    restarts: int = 0


@dataclass
class Supervisor:
    children: list[Child]
    min_backoff: float = 1.0
    max_backoff: float = 30.0
    settle: float = 60.0

    @staticmethod
    def _say(text: str) -> None:
        print(f"supervisor: {text}", file=sys.stderr, flush=True)

    def _start(self, child: Child) -> None:
        # Its own process group, like a container: what it leaves behind (gunicorn's
        # workers outlive a killed master for a second, still answering on the port) is
        # killed with it before it starts again.
        output = open(child.log, "ab") if child.log else None  # noqa: SIM115 - the child keeps it
        try:
            child.process = subprocess.Popen(child.argv, env=child.env, start_new_session=True,
                                             preexec_fn=_die_with_parent, stdout=output,
                                             stderr=subprocess.STDOUT if output else None)
        finally:
            if output:
                output.close()
        child.started_at, child.restart_at = time.monotonic(), None

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def poll(self) -> bool:
        """Restarts every child that exited, each after its back-off; True when one
        exited since the last poll."""
        now, exited = time.monotonic(), False
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._say(f"starting {child.name} again (restart {child.restarts})")
                    self._start(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            exited = True
            _kill_group(child.process)
            if now - child.started_at >= self.settle:
                child.backoff = 0.0
            child.backoff = min(max(child.backoff * 2, self.min_backoff), self.max_backoff)
            child.restart_at = now + child.backoff
            how = f"signal {-code}" if code < 0 else f"code {code}"
            self._say(f"{child.name} exited ({how}); restarting in {child.backoff:g} s")
        return exited

    def all_running(self) -> bool:
        """Every child started (again) and not exited: only then can a readiness check
        tell that the site is back, and not a dying process's last answer."""
        return all(c.restart_at is None and c.process.poll() is None for c in self.children)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to every child, SIGKILL to those still running after `timeout`."""
        live = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in live:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in live:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(process)
            process.wait()
