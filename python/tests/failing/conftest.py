"""Checks, once every fixture is torn down, that each mock the failing tests started
is gone and reaped (by the fixtures' teardown, not by this process's exit closing the
mock's stdin); if not, the run exits 3 instead of 1, which scripts/test-packages fails."""

import os

import pytest

#: The pid of every mock the tests here started.
PIDS = []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # a zombie (not reaped) counts as alive
    except ProcessLookupError:
        return False
    return True


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    alive = [pid for pid in PIDS if _alive(pid)]
    if len(PIDS) != 2 or alive:
        print(f"\nmock-imds pids {PIDS}: still running after the fixtures' teardown: {alive}")
        session.exitstatus = 3
