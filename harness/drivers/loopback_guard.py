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
