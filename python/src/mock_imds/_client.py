"""`MockImds`: starts `mock-imds serve` on free loopback ports, reads the endpoints it
prints (`--print-endpoints json`), and drives it through its control API over HTTP with
the standard library only. The control API is mock-imds/src/control/server.rs."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ._binary import find_binary
from ._environ import sdk_environ
from ._errors import ControlError, StartError
from ._process import first_line, read_text, stop_process
from ._wire import Clock, Rotation, Step, config_toml, duration_text, is_credential_fetch, rfc3339, signed_duration_text

# The control API never goes through a proxy from the environment (HTTP_PROXY …).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MockImds:
    """One `mock-imds serve` process: a fake IMDS and a fake STS on free loopback ports,
    and the control API that switches them.

    Use it as a context manager (or call `start()` and `stop()`): on exit, even on an
    exception, the process is stopped and reaped. A forgotten instance is stopped when
    it is garbage-collected or at interpreter exit, and the process also stops by itself
    when this one dies (it serves with `--stop-on-stdin-eof` on a pipe from here).

    Args:
        binary: the `mock-imds` binary; default: `$MOCK_IMDS_BIN`, the one the wheel
            installed, then `PATH`.
        state: the state from start-up: `"up"`, or fault specs joined by `;`
            (`"refuse"`, `"status(403) on token"`).
        seed: the seed of fault probabilities and jitter (default: random, see `seed`).
        port, sts_port, control_port: loopback ports; 0 (the default) picks free ones.
        start_timeout: seconds to wait for the endpoints before giving up.
        request_timeout: seconds one control API call may take.
        **settings: the instance's options, the keys of `mock-imds serve --config`
            (mock-imds/src/config.rs): `http_tokens="required"`, `http_endpoint="disabled"`,
            `role_name`, `no_role=True`, `credential_lifetime="15m"`,
            `rotate_before_expiry`, `user_data`, `extended_credentials`,
            `http_put_response_hop_limit`, `identity={"region": …}`. An unknown key or
            a bad value fails the start with the mock's message (file:line:column).
    """

    def __init__(
        self,
        *,
        binary: Optional[str] = None,
        state: str = "up",
        seed: Optional[int] = None,
        port: int = 0,
        sts_port: int = 0,
        control_port: int = 0,
        start_timeout: float = 30.0,
        request_timeout: float = 10.0,
        **settings: Any,
    ) -> None:
        self._binary = binary
        self._state = state
        self._seed = seed
        self._ports = (port, sts_port, control_port)
        self._start_timeout = start_timeout
        self._request_timeout = request_timeout
        self._settings = dict(settings)
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._finalizer: Optional[Callable[[], Any]] = None
        self._endpoints: Dict[str, Any] = {}
        self._binary_path = ""
        self._workdir = ""
        self._stdout_ended = False

    # --- life cycle -------------------------------------------------------------------

    def __enter__(self) -> "MockImds":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "MockImds":
        """Starts `mock-imds serve` and waits (up to `start_timeout` s) for its endpoints.

        Raises:
            StartError: no binary, a port in use, a bad setting, the process exited, or
                no endpoints within `start_timeout`; with the mock's stderr.
        """
        if self._process is not None:
            raise StartError("this MockImds is already started")
        try:
            self._binary_path = find_binary(self._binary)
        except FileNotFoundError as e:
            raise StartError(f"cannot start mock-imds: {e}") from None
        workdir = tempfile.mkdtemp(prefix="mock-imds-")
        port, sts_port, control_port = self._ports
        argv = [
            self._binary_path, "serve",
            "--port", str(port), "--sts-port", str(sts_port), "--control-port", str(control_port),
            "--print-endpoints", "json", "--stop-on-stdin-eof",
            "--state", self._state,
        ]  # fmt: skip
        if self._seed is not None:
            argv += ["--seed", str(self._seed)]
        if self._settings:
            config = os.path.join(workdir, "config.toml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(config_toml(self._settings))
            argv += ["--config", config]
        stderr_path = os.path.join(workdir, "stderr")
        # The mock reads no AWS variable; it gets a minimal environment all the same.
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "RUST_LOG", "SYSTEMROOT")}
        with open(stderr_path, "wb") as stderr:
            try:
                process = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
                )
            except OSError as e:
                shutil.rmtree(workdir, ignore_errors=True)
                raise StartError(f"cannot run {self._binary_path}: {e}") from None
        self._process = process
        self._workdir = workdir
        self._finalizer = weakref.finalize(self, stop_process, process, workdir)
        try:
            line, self._stdout_ended = first_line(process, self._start_timeout)
        except BaseException:
            self.stop()
            raise
        if line is None:
            status = process.poll()
            if status is None and self._stdout_ended:
                # Its stdout ended: it is exiting; its status comes within moments.
                try:
                    status = process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            stderr_text = read_text(stderr_path)
            self.stop()
            if status is None:
                what = "closed its stdout" if self._stdout_ended else f"printed nothing for {self._start_timeout} s"
                raise StartError(
                    f"{self._binary_path} serve {what} before its endpoints; stderr: {stderr_text or '(empty)'}"
                )
            raise StartError(
                f"{self._binary_path} serve exited with status {status} before serving "
                f"(ports {port}/{sts_port}/{control_port}, 0 = any free one): {stderr_text or '(no stderr)'}"
            )
        try:
            self._endpoints = json.loads(line)
        except ValueError:
            self.stop()
            raise StartError(
                f"{self._binary_path} serve printed {line!r}, not the JSON line of "
                "--print-endpoints json: is it an older mock-imds?"
            ) from None
        return self

    def stop(self) -> None:
        """Stops the process and reaps it (closing its stdin, then SIGINT, then SIGKILL,
        each after 5 s), and removes its temporary files. Idempotent."""
        if self._finalizer is not None:
            self._finalizer()

    @property
    def running(self) -> bool:
        """True while the `mock-imds serve` process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The process id of `mock-imds serve`."""
        return self._started().pid

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise ControlError("mock-imds", None, "not started: use `with MockImds() as m:` or m.start()")
        return self._process

    # --- endpoints ---------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The IMDS base URL, e.g. `http://127.0.0.1:41234` (no trailing slash)."""
        return self._endpoint("imds")

    @property
    def sts_endpoint(self) -> str:
        """The fake STS base URL."""
        return self._endpoint("sts")

    @property
    def control_endpoint(self) -> str:
        """The control API's base URL."""
        return self._endpoint("control")

    @property
    def seed(self) -> int:
        """The seed of the mock's fault draws (printed at start; pass it back as `seed=`
        to replay a run)."""
        self._started()
        return int(self._endpoints["seed"])

    def _endpoint(self, name: str) -> str:
        self._started()
        return str(self._endpoints[name])

    @property
    def env(self) -> Dict[str, str]:
        """The variables that point an SDK at this mock, as `mock-imds serve` prints them:
        `AWS_EC2_METADATA_SERVICE_ENDPOINT`, `AWS_ENDPOINT_URL_STS`, `AWS_DEFAULT_REGION`,
        and `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE` set to an empty file. To keep
        real credentials out as well, use `sdk_environ()`."""
        self._started()
        return dict(self._endpoints["env"])

    def sdk_environ(self, base: Optional[Mapping[str, str]] = None, home: Optional[str] = None) -> Dict[str, str]:
        """A whole environment for an SDK (or a child process running one): `base`
        (default `os.environ`) with every real credential source taken out (every
        `AWS_*` variable, `BOTO_CONFIG`, `HOME` replaced by `home`, an empty folder),
        and `env` put in. See `mock_imds.sanitised_environ`. The default `home` is a
        folder of this mock's, removed when it stops."""
        env = self.env  # fails when not started
        if home is None:
            home = os.path.join(self._workdir, "home")
            os.makedirs(home, exist_ok=True)
        return sdk_environ(env, os.environ if base is None else base, home)

    # --- control API -------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        url = self.control_endpoint + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        what = f"{method} {path}"
        try:
            with _OPENER.open(request, timeout=self._request_timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text or e.reason
            raise ControlError(what, e.code, str(message)) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            status = self._process.poll() if self._process else None
            extra = f" (mock-imds exited with status {status})" if status is not None else ""
            raise ControlError(what, None, f"{reason}{extra}") from None

    def _object(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """`_call` for an endpoint that answers a JSON object."""
        answer = self._call(method, path, body)
        if not isinstance(answer, dict):
            raise ControlError(f"{method} {path}", 200, f"expected a JSON object, got {answer!r}")
        return answer

    def down(self) -> Dict[str, Any]:
        """Takes IMDS down: it refuses connections (the `refuse` fault, as
        `mock-imds ctl down`). Returns the state; in force when this returns."""
        return self.fault("refuse")

    def up(self) -> Dict[str, Any]:
        """Removes every fault (schedules keep running; see `stop_schedule`). Returns the
        state; in force when this returns."""
        return self._object("DELETE", "/faults")

    def fault(self, spec: str) -> Dict[str, Any]:
        """Sets one fault, replacing the fault on its target: `"blackhole"`,
        `"status(500)"`, `"status(403) on token"`, `"latency(2s) on credentials"`,
        `"reset p=0.5"`, or `"up on TARGET"`. Returns the state.

        Raises:
            ControlError: a spec the mock does not accept (400, its message says what is).
        """
        return self._object("POST", "/faults", {"fault": spec})

    def clear(self, target: Optional[str] = None) -> Dict[str, Any]:
        """Removes the fault on `target` (`listener`, `token`, `credentials`,
        `path(GLOB)`), or every fault when None. Returns the state."""
        if target is None:
            return self.up()
        return self._object("DELETE", "/faults/" + urllib.parse.quote(target, safe=""))

    def set_state(self, state: str) -> Dict[str, Any]:
        """Replaces the whole state: `"up"`, or fault specs joined by `;`."""
        return self._object("PUT", "/state", {"state": state})

    def reset(self) -> Dict[str, Any]:
        """Stops the schedule and removes every fault. Returns the state."""
        return self._object("POST", "/reset")

    def schedule(self, steps: Union[Sequence[Step], str, "os.PathLike[str]"]) -> int:
        """Runs a schedule from now, replacing a running one; returns its step count.

        `steps` is a list of `(at, change)` pairs or `{"at", "state"}` mappings (`at`:
        `"500ms"`, seconds as a number, or a `timedelta`; `change`: a fault, `up on
        TARGET` or `up`), or the path of a schedule file (TOML `[[schedule]]` steps and
        seeded `[[generate]]` generators), which `mock-imds ctl schedule` expands.

        Raises:
            ControlError: a step or file the mock does not accept, with its message.
        """
        if isinstance(steps, (str, os.PathLike)):
            return self._schedule_file(os.fspath(steps))
        wire = []
        for step in steps:
            if isinstance(step, Mapping):
                at, change = step["at"], step["state"]
            else:
                at, change = step
            wire.append({"at": duration_text(at), "state": change})
        return int(self._object("POST", "/schedule", {"steps": wire})["steps"])

    def _schedule_file(self, path: str) -> int:
        port = urllib.parse.urlsplit(self.control_endpoint).port
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "SYSTEMROOT")}
        out = subprocess.run(
            [self._binary_path, "ctl", "--control-port", str(port), "schedule", "--json", path],
            capture_output=True, text=True, env=env, timeout=self._request_timeout + 10,
        )  # fmt: skip
        if out.returncode != 0:
            message = out.stderr.strip().removeprefix("error: ")
            # `mock-imds ctl` reads and checks the file first: no HTTP status to report.
            raise ControlError(f"schedule {path}", None, message)
        return int(json.loads(out.stdout)["steps"])

    def stop_schedule(self) -> Dict[str, Any]:
        """Stops the running schedule (the state stays as its last step left it)."""
        return self._object("DELETE", "/schedule")

    def clock(self, offset: Union[None, str, float, _dt.timedelta] = None) -> Clock:
        """The mock's clock; with `offset`, first jumps it by that much (`"+5h52m"`,
        `"-30s"`, seconds as a number, or a `timedelta`), so credentials near their
        `Expiration` without waiting.

        Raises:
            ControlError: a mock without the clock endpoints (404), or a bad offset (400).
        """
        if offset is None:
            answer = self._object("GET", "/clock")
        else:
            answer = self._object("POST", "/clock", {"by": signed_duration_text(offset)})
        return Clock(now=rfc3339(answer["now"]), offset_ms=int(answer["offset_ms"]))

    def rotate(self) -> Rotation:
        """Issues a new set of role credentials now (as EC2 does ahead of expiry)."""
        answer = self._object("POST", "/rotate")
        return Rotation(access_key_id=answer["access_key_id"], expiration=rfc3339(answer["expiration"]))

    def sts_sessions(self) -> List[Dict[str, Any]]:
        """The role sessions the fake STS issued on `AssumeRole` (`GET /sts/sessions`),
        oldest first, each a dict with `access_key_id`, `expiration` (RFC 3339, on the
        mock's clock), `role_arn`, `session_name`, `arn` (what `GetCallerIdentity`
        answers the session), `assumed_role_id` and `source_access_key_id` (the key that
        signed the `AssumeRole`: the instance's, or a session's when chained)."""
        return list(self._call("GET", "/sts/sessions"))

    def token_ttl_header(self, mode: Union[None, str, int] = None) -> Union[str, int]:
        """What the token answer's `X-aws-ec2-metadata-token-ttl-seconds` header says:
        `"echo"` (the TTL granted, as EC2), `"absent"`, or seconds (`600`); with `mode`,
        first sets it (from the next token on).

        Raises:
            ControlError: a bad mode (400, saying what is accepted).
        """
        if mode is None:
            answer = self._object("GET", "/token-ttl-header")
        else:
            answer = self._object("PUT", "/token-ttl-header", {"token_ttl_header": mode})
        return answer["token_ttl_header"]

    def state(self) -> Dict[str, Any]:
        """The state (`GET /state`): `state` (text), `up`, `seed`, `events_recorded`,
        `events_dropped`, `imds_requests_recorded`."""
        return self._object("GET", "/state")

    def events(self, since_ms: float = 0.0) -> List[Dict[str, Any]]:
        """The events kept so far (`GET /events`), oldest first, each a dict with `type`
        (`transition`, `transition-failed`, `imds-request`, `sts-request`) and `at_ms`
        (milliseconds since the epoch, on the mock's clock); only those at or after
        `since_ms`. Fields: mock-imds/src/events/kinds.rs."""
        return list(self._call("GET", f"/events?since_ms={since_ms}"))

    def credential_fetches(self) -> int:
        """How many role credential documents IMDS served (200 on
        `…/meta-data/iam/security-credentials…/ROLE`, not the role listing): one per
        credential fetch by a client."""
        return sum(1 for e in self.events() if is_credential_fetch(e))

    def sts_access_keys(self) -> List[Optional[str]]:
        """The access key id of every request the fake STS received, in order (None for
        an unsigned one): what a test checks to see no real credential reached it."""
        return [e.get("access_key_id") for e in self.events() if e.get("type") == "sts-request"]


__all__ = ["MockImds", "Clock", "Rotation", "Step", "is_credential_fetch"]
