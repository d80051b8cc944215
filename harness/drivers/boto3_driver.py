"""boto3 driver for imds-harness: real boto3 behind a JSON-lines protocol.

Reads one JSON object per line on stdin and answers one per line on stdout:

  {"op": "configure", "imds_endpoint": URL, "sts_endpoint": URL, "region": R|null, "env": {...}}
      -> {"ok": true}          (sets the endpoint and setting variables, creates a Session;
                               region null: left to botocore; the harness has written the
                               cell's profile to $AWS_CONFIG_FILE before this)
  {"op": "new_session"}        -> {"ok": true}   (a new boto3 Session for later clients)
  {"op": "new_client"}
      -> {"ok": true, "credentials_resolved": bool}  or  {"error": {...}}
  {"op": "call", "call_id": ID} (sts.get_caller_identity on the current client; every
                               STS request of the call carries x-mock-imds-call-id: ID)
      -> {"arn", "access_key_id", "expiration", "account_id"}  or  {"error": {"kind", "message"}}
                               (expiration, account_id: the credentials as botocore holds
                               them after the call, or null)
  Any answer may carry "sdk_warnings": [{"level", "logger", "message"}], what botocore
  logged during the operation (see SdkLog).
  {"op": "drop_client"}        -> {"ok": true}

Error kinds are boto3's own names: the exception class (NoCredentialsError,
EndpointConnectionError, ...) or, for service errors, the error code STS returned
(InvalidClientTokenId, ExpiredToken, ...). A call on a client whose creation raised
fails with the kind creation raised. A driver-side problem is answered as
{"driver_error": "..."}: an unknown op, a bug in this file (an exception whose innermost
frame is here), or a connection the loopback guard blocked (a misrouted endpoint) - never
reported as an SDK error kind, so an expectation cannot hold because the driver broke. The first line printed is the greeting with the versions.
Every connection to a non-loopback address is refused (loopback_guard).
"""

import datetime
import json
import logging
import os
import random
import sys
import traceback


def answer(obj):
    """Writes one answer line, with what botocore logged since the last one (as
    "sdk_warnings", when anything was)."""
    if SDK_LOG.records and "ready" not in obj:
        obj = dict(obj, sdk_warnings=SDK_LOG.take())
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class SdkLog(logging.Handler):
    """Collects what botocore logs as warnings: every record of WARNING and above from a
    `botocore.*` logger, and the INFO records of `botocore.utils`, the IMDS fetcher's
    logger, which logs its static-stability extension at INFO ("Attempting credential
    expiration extension due to a credential service availability issue...",
    InstanceMetadataFetcher._evaluate_expiration in botocore/utils.py)."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.records = []

    def emit(self, record):
        if record.levelno >= logging.WARNING or record.name == "botocore.utils":
            try:
                message = record.getMessage()
            except Exception:  # a malformed record of the SDK's: keep its template
                message = str(record.msg)
            self.records.append({"level": record.levelname, "logger": record.name, "message": message})

    def take(self):
        taken, self.records = self.records, []
        return taken

    def install(self):
        log = logging.getLogger("botocore")
        log.addHandler(self)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)


SDK_LOG = SdkLog()


def held_credentials(creds, account_id=None):
    """The expiry and account id of botocore credentials as botocore holds them, read
    without the refreshing properties: {"expiration": RFC 3339 or None, "account_id"}."""
    fields = vars(creds) if creds is not None else {}
    expiry = fields.get("_expiry_time")
    if expiry is not None and expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=datetime.timezone.utc)
    account = account_id or fields.get("_account_id") or fields.get("account_id")
    return {"expiration": expiry.isoformat() if expiry is not None else None, "account_id": account}


DRIVER_FILES = ("boto3_driver.py", "aiobotocore_driver.py", "loopback_guard.py")


def driver_fault(exc):
    """Why `exc` is the driver's own problem rather than the SDK's, or None."""
    seen = set()
    e = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if type(e).__name__ == "NonLoopbackConnection" or "imds-harness blocked a connection" in str(e):
            return "the loopback guard blocked a connection (a misrouted endpoint): %s" % e
        e = e.__cause__ or e.__context__
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is not None and os.path.basename(last.tb_frame.f_code.co_filename) in DRIVER_FILES:
        return "the driver's own code raised %s" % "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return None


def error_of(exc):
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        return {"kind": code, "message": str(exc)}
    return {"kind": type(exc).__name__, "message": str(exc)}


CALL_ID_HEADER = "x-mock-imds-call-id"

REQUIRE_CRT = os.environ.get("IMDS_HARNESS_REQUIRE_CRT") == "1"


def record_signers(client, used):
    """Adds to `used` the class of every signer the client's RequestSigner hands out
    (observation only: the SDK's own instance is returned), so boto3-crt can check that
    its calls were really signed by botocore/crt/auth.py."""
    signer = client._request_signer
    original = signer.get_auth_instance

    def recorded(*args, **kwargs):
        auth = original(*args, **kwargs)
        used.add("%s.%s" % (type(auth).__module__, type(auth).__name__))
        return auth

    signer.get_auth_instance = recorded


class CallId:
    """The id of the call in progress, added to every request the client sends for it
    (botocore's retries inside one call included) by a before-send handler."""

    def __init__(self):
        self.current = None

    def add_to(self, request, **kwargs):
        if self.current is not None:
            request.headers[CALL_ID_HEADER] = self.current


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import loopback_guard  # noqa: F401  (refuses non-loopback connections)
    import boto3
    import botocore

    sdk = "boto3 %s (botocore %s)" % (boto3.__version__, botocore.__version__)
    if REQUIRE_CRT:
        # boto3-crt: botocore must sign through botocore/crt/auth.py, which it does when
        # awscrt imports (botocore/auth.py: `if HAS_CRT: AUTH_TYPE_MAPS.update(CRT_AUTH_TYPE_MAPS)`);
        # requests are signed by the class AUTH_TYPE_MAPS holds for STS's "v4".
        import botocore.auth

        signer = botocore.auth.AUTH_TYPE_MAPS.get("v4")
        where = "%s.%s" % (signer.__module__, signer.__name__) if signer else "none"
        if not where.startswith("botocore.crt.auth."):
            answer({"driver_error": "boto3-crt: botocore signs v4 with %s, not botocore.crt.auth "
                                    "(awscrt missing or too old for this botocore?)" % where})
            return
        import awscrt

        sdk = "boto3 %s (botocore %s, awscrt %s, signer %s)" % (
            boto3.__version__, botocore.__version__, awscrt.__version__, where)
    answer({"ready": True, "sdk": sdk})
    SDK_LOG.install()

    session = None
    client = None
    client_error = None  # what creating the current client raised
    settings = {}
    call_id = CallId()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
        except ValueError as exc:
            answer({"driver_error": "request is not JSON: %s" % exc})
            continue
        try:
            if op == "configure":
                settings = request
                # botocore's own jitter (credential expiry extension, retry backoff) draws
                # from `random`: seeded, a scenario's run is the same every time.
                if request.get("seed") is not None:
                    random.seed(request["seed"])
                # botocore reads these when a client resolves credentials; older botocore
                # needs the trailing slash on the IMDS endpoint.
                os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = request["imds_endpoint"].rstrip("/") + "/"
                os.environ["AWS_ENDPOINT_URL_STS"] = request["sts_endpoint"]
                # region null (region_from_imds): botocore finds one itself, or raises.
                if request.get("region") is not None:
                    os.environ["AWS_DEFAULT_REGION"] = request["region"]
                # botocore's settings, already mapped to its variables by the harness.
                for name, value in (request.get("env") or {}).items():
                    os.environ[name] = value
                # The container credential provider's variables ([endpoint]), from the mock.
                for name, value in (request.get("container_env") or {}).items():
                    os.environ[name] = value
                session = boto3.session.Session(region_name=request["region"])
                answer({"ok": True})
            elif op == "new_session":
                session = boto3.session.Session(region_name=settings["region"])
                answer({"ok": True})
            elif op == "new_client":
                if session is None:
                    answer({"driver_error": "new_client before configure"})
                    continue
                client = None
                client_error = None
                try:
                    # The STS endpoint is passed in code too: botocore before 1.31 ignores
                    # AWS_ENDPOINT_URL_STS and would call the real STS.
                    client = session.client(
                        "sts", region_name=settings["region"], endpoint_url=settings["sts_endpoint"]
                    )
                except Exception as exc:  # client creation itself failed
                    fault = driver_fault(exc)
                    if fault:
                        answer({"driver_error": fault})
                        continue
                    client_error = error_of(exc)
                    answer({"error": client_error})
                    continue
                client.meta.events.register("before-send.sts", call_id.add_to)
                signers = set()
                record_signers(client, signers)
                creds = getattr(client._request_signer, "_credentials", None)
                answer({"ok": True, "credentials_resolved": creds is not None})
            elif op == "call":
                if client is None:
                    if client_error is None:
                        answer({"driver_error": "call before new_client"})
                    else:
                        # The application has no client: its call fails with what creation raised.
                        answer({"error": {"kind": client_error["kind"],
                                          "message": "no client: creating it raised: %s" % client_error["message"]}})
                    continue
                call_id.current = request.get("call_id")
                try:
                    response = client.get_caller_identity()
                except Exception as exc:
                    fault = driver_fault(exc)
                    answer({"driver_error": fault} if fault else {"error": error_of(exc)})
                    continue
                finally:
                    call_id.current = None
                not_crt = sorted(s for s in signers if not s.startswith("botocore.crt.auth."))
                if REQUIRE_CRT and (not signers or not_crt):
                    answer({"driver_error": "boto3-crt: the call was signed by %s, not botocore.crt.auth"
                                            % (not_crt or "no recorded signer")})
                    continue
                creds = getattr(client._request_signer, "_credentials", None)
                # The key as it is, read without the `access_key` property: on
                # RefreshableCredentials that property refreshes (an IMDS request the
                # application never made, which raises inside the mandatory window).
                fields = vars(creds) if creds is not None else {}
                key = fields.get("_access_key") or fields.get("access_key")
                answer(dict({"arn": response.get("Arn"), "access_key_id": key}, **held_credentials(creds)))
            elif op == "drop_client":
                client = None
                answer({"ok": True})
            else:
                answer({"driver_error": "unknown op %r" % (op,)})
        except Exception:
            answer({"driver_error": traceback.format_exc()})


if __name__ == "__main__":
    main()
