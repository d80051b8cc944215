"""aiobotocore driver for imds-harness: real aiobotocore (asyncio botocore) behind the
JSON-lines protocol of boto3_driver.py (same ops, answers and error rules; README
"Bring your own driver").

One asyncio event loop for the process; each request runs on it to completion. A client
is what `async with session.create_client("sts")` yields: created (credentials resolved,
as botocore does at client creation) by `__aenter__`, closed (its aiohttp session) by
`__aexit__` at drop_client. Sessions are `aiobotocore.session.AioSession`s. The helpers
(answers, error kinds, driver faults, the call-id header) are boto3_driver.py's, and every
connection to a non-loopback address is refused (loopback_guard).
"""

import asyncio
import json
import os
import random
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback_guard  # noqa: E402,F401  (refuses non-loopback connections)
from boto3_driver import SDK_LOG, CallId, answer, driver_fault, error_of, held_credentials  # noqa: E402


class Driver:
    def __init__(self):
        self.settings = None
        self.session = None
        self.context = None  # the client's `async with` context
        self.client = None
        self.client_error = None  # what creating the current client raised
        self.call_id = CallId()

    def new_session(self):
        from aiobotocore.session import AioSession

        self.session = AioSession()
        if self.settings.get("region") is not None:  # null: region_from_imds
            self.session.set_config_variable("region", self.settings["region"])

    async def close_client(self):
        context, self.context, self.client = self.context, None, None
        if context is not None:
            await context.__aexit__(None, None, None)

    async def handle(self, request):
        op = request.get("op")
        if op == "configure":
            self.settings = request
            if request.get("seed") is not None:
                random.seed(request["seed"])
            os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = request["imds_endpoint"].rstrip("/") + "/"
            os.environ["AWS_ENDPOINT_URL_STS"] = request["sts_endpoint"]
            if request.get("region") is not None:
                os.environ["AWS_DEFAULT_REGION"] = request["region"]
            for name, value in (request.get("env") or {}).items():
                os.environ[name] = value
            for name, value in (request.get("container_env") or {}).items():
                os.environ[name] = value
            self.new_session()
            return {"ok": True}
        if op == "new_session":
            self.new_session()
            return {"ok": True}
        if op == "new_client":
            if self.session is None:
                return {"driver_error": "new_client before configure"}
            await self.close_client()
            self.client_error = None
            context = self.session.create_client(
                "sts", region_name=self.settings["region"], endpoint_url=self.settings["sts_endpoint"]
            )
            try:
                self.client = await context.__aenter__()
            except Exception as exc:  # client creation itself failed
                fault = driver_fault(exc)
                if fault:
                    return {"driver_error": fault}
                self.client_error = error_of(exc)
                return {"error": self.client_error}
            self.context = context
            self.client.meta.events.register("before-send.sts", self.call_id.add_to)
            creds = getattr(self.client._request_signer, "_credentials", None)
            return {"ok": True, "credentials_resolved": creds is not None}
        if op == "call":
            if self.client is None:
                if self.client_error is None:
                    return {"driver_error": "call before new_client"}
                return {"error": {"kind": self.client_error["kind"],
                                  "message": "no client: creating it raised: %s" % self.client_error["message"]}}
            self.call_id.current = request.get("call_id")
            try:
                response = await self.client.get_caller_identity()
            except Exception as exc:
                fault = driver_fault(exc)
                return {"driver_error": fault} if fault else {"error": error_of(exc)}
            finally:
                self.call_id.current = None
            creds = getattr(self.client._request_signer, "_credentials", None)
            # aiobotocore's refreshable credentials give their key only through the
            # coroutine (the call just refreshed them if needed).
            frozen = (await creds.get_frozen_credentials()) if creds is not None else None
            key = frozen.access_key if frozen is not None else None
            account = getattr(frozen, "account_id", None)
            return dict({"arn": response.get("Arn"), "access_key_id": key}, **held_credentials(creds, account))
        if op == "drop_client":
            await self.close_client()
            return {"ok": True}
        return {"driver_error": "unknown op %r" % (op,)}


def main():
    import aiobotocore
    import botocore

    answer({"ready": True, "sdk": "aiobotocore %s (botocore %s)" % (aiobotocore.__version__, botocore.__version__)})
    SDK_LOG.install()
    loop = asyncio.new_event_loop()
    driver = Driver()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError as exc:
            answer({"driver_error": "request is not JSON: %s" % exc})
            continue
        try:
            answer(loop.run_until_complete(driver.handle(request)))
        except Exception:
            answer({"driver_error": traceback.format_exc()})
    loop.run_until_complete(driver.close_client())


if __name__ == "__main__":
    main()
