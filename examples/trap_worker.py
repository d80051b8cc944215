"""A worker that shows the boto3 NoCredentialsError trap against mock-imds.

It creates one STS client at start-up, as a long-running worker would, then every
INTERVAL seconds calls GetCallerIdentity twice: on that same client, and on a client
created just now. Start it while IMDS is down, bring IMDS back, and watch the first column
stay at NoCredentialsError forever while the second recovers.

    python3 examples/trap_worker.py [--iterations N] [--interval SECONDS]

Point it at mock-imds with AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_ENDPOINT_URL_STS
(`mock-imds serve` prints the export lines).
"""

import argparse
import os
import sys
import time

import boto3


def call(client):
    try:
        arn = client.get_caller_identity()["Arn"]
        key = client._request_signer._credentials.access_key
        return "ok (%s)" % key
    except Exception as exc:  # the SDK's own exception names are the point here
        return type(exc).__name__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=0, help="stop after N rounds (0: run until Ctrl-C)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
    args = parser.parse_args()

    sts = os.environ.get("AWS_ENDPOINT_URL_STS")
    session = boto3.session.Session()
    started = time.monotonic()
    long_lived = session.client("sts", endpoint_url=sts)
    print("client created at start-up; credentials resolved: %s" % (long_lived._request_signer._credentials is not None), flush=True)
    round_ = 0
    while args.iterations == 0 or round_ < args.iterations:
        round_ += 1
        same = call(long_lived)
        fresh = call(session.client("sts", endpoint_url=sts))
        print("t=%5.1fs  same client: %-40s new client: %s" % (time.monotonic() - started, same, fresh), flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
