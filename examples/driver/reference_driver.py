"""A reference imds-harness driver (README "Bring your own driver"): botocore, no boto3.

Run by a scenario as `[driver.NAME] command = ["python3", "reference_driver.py"]` with a
Python that has botocore. One JSON object per line on stdin, one answer per line on stdout.
"""
import json
import os
import socket
import sys

# Loopback guard: the harness points the SDK at loopback mocks; refuse anything else.
_connect = socket.socket.connect


def _guarded(sock, address):
    if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
        raise ConnectionRefusedError("imds-harness blocked a connection to %s" % (address[0],))
    return _connect(sock, address)


socket.socket.connect = _guarded

import botocore  # noqa: E402
import botocore.session  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


def say(obj):
    print(json.dumps(obj), flush=True)


def error(exc):
    if "imds-harness blocked a connection" in repr(exc) + repr(exc.__context__):
        return {"driver_error": "misrouted endpoint: %s" % exc}
    if isinstance(exc, ClientError):
        return {"error": {"kind": exc.response["Error"]["Code"], "message": str(exc)}}
    return {"error": {"kind": type(exc).__name__, "message": str(exc)}}


say({"ready": True, "sdk": "reference botocore %s" % botocore.__version__})
config = session = client = None
call_id = [None]


def add_call_id(request, **_):
    if call_id[0] is not None:
        request.headers["x-mock-imds-call-id"] = call_id[0]


for line in sys.stdin:
    request = json.loads(line)
    op = request.get("op")
    try:
        if op == "configure":
            config = request
            os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = request["imds_endpoint"].rstrip("/") + "/"
            os.environ.update(request.get("env") or {})
            session = botocore.session.get_session()
            say({"ok": True})
        elif op == "new_session":
            session = botocore.session.get_session()
            say({"ok": True})
        elif op == "new_client":
            client = None
            client = session.create_client("sts", region_name=config["region"], endpoint_url=config["sts_endpoint"])
            client.meta.events.register("before-send.sts", add_call_id)
            say({"ok": True, "credentials_resolved": client._request_signer._credentials is not None})
        elif op == "call":
            call_id[0] = request["call_id"]
            try:
                arn = client.get_caller_identity()["Arn"]
                creds = client._request_signer._credentials
                say({"arn": arn, "access_key_id": creds.access_key if creds else None})
            finally:
                call_id[0] = None
        elif op == "drop_client":
            client = None
            say({"ok": True})
        else:
            say({"driver_error": "unknown op %r" % op})
    except Exception as exc:  # the SDK's error, or a misrouted endpoint
        say(error(exc))
