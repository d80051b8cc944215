"""A small Spot termination handler: polls IMDS for an interruption notice and drains.

It does what aws-node-termination-handler and in-house drain scripts do, with the
standard library only: an IMDSv2 session token (PUT /latest/api/token, refreshed before
its TTL runs out, fetched again on a 401), then every INTERVAL seconds a GET of
/latest/meta-data/spot/instance-action. A 404 means no notice; any other failure (a
refused connection, a timeout, a 5xx) is logged and polled again. On the first 200 it
prints the action and time and exits 0 ("drained").

    python3 examples/termination_handler.py [--interval SECONDS] [--timeout SECONDS]
                                            [--path PATH]

It reads AWS_EC2_METADATA_SERVICE_ENDPOINT (as the SDKs do; `mock-imds serve` and
`imds-harness exec` set it), defaulting to EC2's address only on a real instance.
Put it through a notice with:

    imds-harness exec --schedule-file examples/termination-handler/spot.toml \\
        --notice-within 5s -- python3 examples/termination_handler.py
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

TOKEN_TTL = 21600


def log(message):
    print("%.3f handler: %s" % (time.monotonic(), message), file=sys.stderr, flush=True)


class Imds:
    def __init__(self, endpoint, timeout):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.token = None
        self.token_expires = 0.0

    def _token(self):
        if self.token is None or time.monotonic() > self.token_expires - 60:
            request = urllib.request.Request(
                self.endpoint + "/latest/api/token",
                method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL)},
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                self.token = answer.read().decode()
            self.token_expires = time.monotonic() + TOKEN_TTL
        return self.token

    def get(self, path):
        """The body at `path`, or None for a 404. Raises on anything else."""
        for attempt in (1, 2):
            request = urllib.request.Request(
                self.endpoint + path,
                headers={"X-aws-ec2-metadata-token": self._token()},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    return answer.read().decode()
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401 and attempt == 1:
                    self.token = None  # expired or refused: fetch a new one
                    continue
                raise
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per request")
    parser.add_argument("--path", default="/latest/meta-data/spot/instance-action")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
    if not endpoint:
        sys.exit("set AWS_EC2_METADATA_SERVICE_ENDPOINT (mock-imds serve prints it)")
    imds = Imds(endpoint, args.timeout)
    while True:
        try:
            body = imds.get(args.path)
        except Exception as error:  # any failure: log it and poll again
            log("poll failed: %s" % (error,))
            body = None
        if body is not None:
            try:
                notice = json.loads(body)
                log("notice: %s at %s; draining" % (notice.get("action"), notice.get("time")))
            except ValueError:
                log("notice: %s; draining" % body.strip())
            return 0
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
