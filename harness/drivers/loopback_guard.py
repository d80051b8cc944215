"""Refuse every network connection that is not to loopback, loudly.

Installed in every Python child of imds-harness (imported by the boto3 driver; for the
AWS CLI put on PYTHONPATH as sitecustomize): older botocore ignores
AWS_ENDPOINT_URL_STS and would call the real STS, and a misconfigured IMDS endpoint would
reach 169.254.169.254. Neither may ever leave the machine.
"""

import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


class NonLoopbackConnection(RuntimeError):
    pass


def _check(address):
    if not isinstance(address, tuple):
        return  # unix sockets
    host = address[0]
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise NonLoopbackConnection(
        "imds-harness blocked a connection to %s:%s: drivers may only reach the mocks on loopback" % (host, address[1])
    )


def _guarded_connect(self, address):
    _check(address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check(address)
    return _connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


# --- time.sleep under libfaketime -------------------------------------------------------
# Not a network guard, but it must be in place before botocore is imported, as this
# module is (botocore binds `time.sleep` as a default argument at import:
# ContainerMetadataFetcher(sleep=time.sleep), its retry handlers). Measured here with
# the harness's libfaketime settings (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1,
# FAKETIME_DONT_FAKE_MONOTONIC=1), Python 3 and Debian's libfaketime: every
# `time.sleep(x)` raises `OSError: [Errno 22] Invalid argument` (Python sleeps with
# clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), whose absolute deadline libfaketime
# rewrites), at a zero offset too. botocore 1.34.40's container provider sleeps 1 s
# between its 3 attempts, so without this its error reads OSError, not the SDK's own.
# The replacement waits with select() (a relative timeout libfaketime leaves alone) until
# the unfaked monotonic clock reaches the deadline.
import os as _os
import select as _select
import time as _time

if "faketime" in _os.environ.get("LD_PRELOAD", ""):

    def _faketime_safe_sleep(seconds):
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _time.monotonic() + seconds
        while True:
            left = deadline - _time.monotonic()
            if left <= 0:
                return
            _select.select([], [], [], left)

    _time.sleep = _faketime_safe_sleep
