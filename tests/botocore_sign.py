"""Signs requests with botocore's own SigV4 signer, for tests/sts_botocore.rs.

Reads a JSON list of requests on stdin, each
  {"method", "url", "body", "headers": [[name, value], ...],
   "access_key", "secret_key", "token" (or null), "region", "service",
   "skew_seconds" (signing time = now + this), "presign" (SigV4QueryAuth instead of
   SigV4Auth)}
and writes a JSON list of the signed, prepared requests on stdout, each
  {"method", "target" (path and query, as sent), "host" (the Host value botocore
   signed, which its HTTP client sends), "headers": [[name, value], ...], "body"}.

Signs only: no network, no credentials from the environment or files.
"""

import datetime
import json
import sys
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    request = AWSRequest(
        method=case["method"],
        url=case["url"],
        data=case["body"].encode(),
        headers=dict(case["headers"]),
    )
    credentials = Credentials(case["access_key"], case["secret_key"], case["token"])
    signer_class = SigV4QueryAuth if case["presign"] else SigV4Auth
    signer = signer_class(credentials, case["service"], case["region"])
    # botocore takes the signing time from botocore.auth.get_current_datetime.
    now = botocore.auth.get_current_datetime() + datetime.timedelta(
        seconds=case["skew_seconds"]
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return {
        "method": prepared.method,
        "target": target,
        "host": _host_from_url(prepared.url),
        "headers": [[k, v] for k, v in prepared.headers.items()],
        "body": body.decode(),
    }


def main():
    cases = json.load(sys.stdin)
    json.dump([sign(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
