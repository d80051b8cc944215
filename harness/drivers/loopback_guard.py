"""Refuse every network connection that is not to loopback, loudly.

Installed in every Python child of imds-harness (imported by the boto3 driver; for the
AWS CLI put on PYTHONPATH as sitecustomize): older botocore ignores
AWS_ENDPOINT_URL_STS and would call the real STS, and a misconfigured IMDS endpoint would
reach 169.254.169.254. Neither may ever leave the machine.

In a link-local cell (`[network] mode = "link-local"`) the harness runs the process in a
network namespace of the cell's own and sets IMDS_HARNESS_NETNS, IMDS_HARNESS_HOST_NETNS
and IMDS_HARNESS_LINK_LOCAL; the listed 169.254.0.0/16 addresses are then allowed, but
only if this process's own namespace (/proc/self/ns/net) is the one named, is not the
harness's, and has no interface but lo (/proc/self/net/dev): the variables alone never
open anything.
"""

import ipaddress
import os
import socket

_LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")


def _link_local_allowed():
    """The link-local addresses this process may reach, and why not when none."""
    netns = os.environ.get("IMDS_HARNESS_NETNS")
    listed = os.environ.get("IMDS_HARNESS_LINK_LOCAL")
    if not netns or not listed:
        return frozenset(), "not a link-local cell"
    try:
        own = os.readlink("/proc/self/ns/net")
        with open("/proc/self/net/dev") as f:
            ifaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
    except OSError as e:
        return frozenset(), "cannot read this process's network namespace: %s" % e
    if own != netns or own == os.environ.get("IMDS_HARNESS_HOST_NETNS"):
        return frozenset(), "this process is in %s, not the cell's namespace %s" % (own, netns)
    if ifaces != ["lo"]:
        return frozenset(), "this namespace has interfaces %s, not only lo" % ifaces
    allowed = set()
    for text in listed.split(","):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if ip in _LINK_LOCAL:
            allowed.add(ip)
    return frozenset(allowed), "not one of the cell's link-local addresses"


_ALLOWED, _WHY_NOT = _link_local_allowed()

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


class NonLoopbackConnection(RuntimeError):
    pass


def _check(address):
    if not isinstance(address, tuple):
        return  # unix sockets
    host = address[0]
    why = ""
    try:
        ip = ipaddress.ip_address(host)
        if ip.is_loopback or ip in _ALLOWED:
            return
        if ip in _LINK_LOCAL:
            why = " (link-local: %s)" % _WHY_NOT
    except ValueError:
        if host == "localhost":
            return
    raise NonLoopbackConnection(
        "imds-harness blocked a connection to %s:%s: drivers may only reach the mocks on loopback%s"
        % (host, address[1], why)
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
