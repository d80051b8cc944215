"""The `mock-imds serve` child process: reading the first line it prints, within a
bound, and stopping and reaping it (closing its stdin, then SIGINT, then SIGKILL)."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from typing import Optional, Tuple


def first_line(process: subprocess.Popen[bytes], timeout_s: float) -> Tuple[Optional[str], bool]:
    """The first line `process` prints on stdout, or None when it exits, closes its
    stdout or prints no full line within `timeout_s` seconds; and whether its stdout
    ended."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    data = b""
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, False
            if not sel.select(timeout=min(left, 0.5)):
                if process.poll() is not None:
                    return None, False
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                return None, True
            data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace"), False


def stop_process(process: subprocess.Popen[bytes], workdir: str) -> None:
    """Stops and reaps `process` (closing its stdin stops it; SIGINT, then SIGKILL, if
    it lingers), and removes `workdir`. Idempotent; also what a forgotten instance's
    finalizer runs."""
    try:
        if process.poll() is None:
            for closer, wait_s in ((_close_stdin, 5.0), (_interrupt, 5.0), (_kill, 10.0)):
                closer(process)
                try:
                    process.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if process.stdout:
            process.stdout.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _close_stdin(process: subprocess.Popen[bytes]) -> None:
    if process.stdin and not process.stdin.closed:
        try:
            process.stdin.close()
        except OSError:
            pass


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    try:
        process.send_signal(signal.SIGINT)
    except (OSError, ValueError):
        pass


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        process.kill()
    except OSError:
        pass


def read_text(path: str) -> str:
    """The text of file `path`, stripped; empty when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""
