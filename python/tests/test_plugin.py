"""The wheel's pytest plugin and client, run by scripts/test-packages in a fresh
virtualenv holding only the wheel, boto3 and pytest, with a planted AWS_ACCESS_KEY_ID
and a planted ~/.aws/credentials (whose keys start with AKIAPLANTED) in the environment.

Every SDK call goes to the mock on loopback; nothing here reaches AWS or 169.254.169.254.
"""

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from mock_imds import ControlError, MockImds, StartError

pytest_plugins = ["pytester"]

PLANTED = "AKIAPLANTED"
ROLE_ARN_PART = ":assumed-role/mock-imds-role/"


def assert_only_mock_keys(mock: MockImds) -> None:
    """The fake STS saw at least one request, and every one was signed with a key the
    mock issued (ASIAMOCK…), none with a planted one."""
    keys = mock.sts_access_keys()
    assert keys, "the fake STS saw no request"
    assert all(k is not None and k.startswith("ASIAMOCK") for k in keys), keys


def test_the_planted_credentials_are_in_the_environment_without_the_fixture():
    # The premise of the sanitisation tests: the runner did plant them.
    assert os.environ.get("AWS_ACCESS_KEY_ID", "").startswith(PLANTED)
    with open(os.path.expanduser("~/.aws/credentials")) as f:
        assert PLANTED in f.read()


def test_the_trap_a_client_created_while_down_still_fails_after_up(mock_imds):
    mock_imds.down()
    stale = boto3.client("sts")  # resolves credentials now: IMDS refuses
    mock_imds.up()
    with pytest.raises(NoCredentialsError):
        stale.get_caller_identity()
    fresh = boto3.client("sts")
    assert ROLE_ARN_PART in fresh.get_caller_identity()["Arn"]
    assert mock_imds.credential_fetches() >= 1
    assert_only_mock_keys(mock_imds)


def test_planted_credentials_never_reach_the_sdk(mock_imds):
    assert not any(k.startswith("AWS_ACCESS_KEY_ID") or k == "AWS_PROFILE" for k in os.environ)
    assert not os.path.exists(os.path.expanduser("~/.aws"))
    identity = boto3.session.Session().client("sts").get_caller_identity()
    assert ROLE_ARN_PART in identity["Arn"]
    assert_only_mock_keys(mock_imds)


@pytest.mark.mock_imds(http_tokens="required")
def test_the_marker_sets_the_instance_options(mock_imds):
    # IMDSv1 (no token) is refused with 401: the setting reached the mock.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            mock_imds.endpoint + "/latest/meta-data/", timeout=10
        )
    assert refused.value.code == 401
    assert ROLE_ARN_PART in boto3.client("sts").get_caller_identity()["Arn"]
    gets = [e for e in mock_imds.events() if e["type"] == "imds-request" and e["method"] == "GET"]
    assert gets and all(e["token_present"] for e in gets if e["status"] == 200), gets


@pytest.mark.mock_imds(role_name="app-role", identity={"region": "eu-west-1"})
def test_the_marker_takes_tables_and_names(mock_imds):
    assert ":assumed-role/app-role/" in boto3.client("sts").get_caller_identity()["Arn"]


def test_a_bad_fault_raises_with_the_mocks_own_message(mock_imds):
    with pytest.raises(ControlError) as failed:
        mock_imds.fault("status(forty-two)")
    assert failed.value.status == 400
    assert "invalid fault `status(forty-two)`: the status must be a number" in failed.value.message
    assert mock_imds.state()["up"] is True


def test_a_call_to_a_mock_that_died_says_so():
    with MockImds() as mock:
        os.kill(mock.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while mock.running:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(ControlError) as failed:
            mock.state()
    assert failed.value.status is None
    assert "mock-imds exited with status -9" in failed.value.message, failed.value.message


def test_fault_and_clear_on_one_target(mock_imds):
    assert mock_imds.fault("status(500) on credentials")["up"] is False
    with pytest.raises(NoCredentialsError):
        boto3.client("sts").get_caller_identity()
    assert mock_imds.clear("credentials")["up"] is True
    assert ROLE_ARN_PART in boto3.client("sts").get_caller_identity()["Arn"]


def wait_for_transitions(mock: MockImds, states, within_s=10.0):
    deadline = time.monotonic() + within_s
    while True:
        seen = [e["state"] for e in mock.events() if e["type"] == "transition"]
        if seen[-len(states) :] == states:
            return
        assert time.monotonic() < deadline, f"transitions {seen}, expected to end with {states}"
        time.sleep(0.05)


def test_schedule_of_steps(mock_imds):
    assert mock_imds.schedule([("0s", "refuse"), (datetime.timedelta(milliseconds=200), "up")]) == 2
    wait_for_transitions(mock_imds, ["refuse", "up"])
    assert mock_imds.stop_schedule()["up"] is True


def test_schedule_file_and_its_errors(mock_imds, tmp_path):
    good = tmp_path / "blip.toml"
    good.write_text('[[schedule]]\nat = "0s"\nstate = "refuse"\n[[schedule]]\nat = "0.2s"\nstate = "up"\n')
    assert mock_imds.schedule(good) == 2
    wait_for_transitions(mock_imds, ["refuse", "up"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[schedule]]\nat = "soon"\nstate = "refuse"\n')
    with pytest.raises(ControlError) as failed:
        mock_imds.schedule(bad)
    assert f"{bad}:2:" in failed.value.message, failed.value.message


def test_events_are_parsed(mock_imds):
    mock_imds.down()
    mock_imds.up()
    transitions = [e for e in mock_imds.events() if e["type"] == "transition"]
    assert [t["state"] for t in transitions][-2:] == ["refuse", "up"]
    assert all(isinstance(t["at_ms"], (int, float)) for t in transitions)


def test_a_held_port_fails_the_start_saying_so():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(StartError) as failed:
            MockImds(port=port).start()
    assert "serve exited with status 2 before serving" in str(failed.value), failed.value
    assert f"127.0.0.1:{port}: Address already in use" in str(failed.value), failed.value


def test_the_fixture_says_why_it_cannot_start(pytester):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        pytester.makepyfile(
            f"""
            import pytest

            @pytest.mark.mock_imds(binary="/no/such/mock-imds")
            def test_no_binary(mock_imds):
                pass

            @pytest.mark.mock_imds(port={port})
            def test_port_held(mock_imds):
                pass
            """
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*StartError: cannot start mock-imds: binary='/no/such/mock-imds' is not an executable file*",
            f"*StartError: *serve exited with status 2 before serving*127.0.0.1:{port}: Address already in use*",
        ],
        consecutive=False,
    )


def test_a_missing_binary_fails_the_start_saying_so():
    with pytest.raises(StartError, match="/no/such/mock-imds"):
        MockImds(binary="/no/such/mock-imds").start()


def test_a_bad_setting_fails_the_start_with_file_line_column():
    with pytest.raises(StartError, match=r"config\.toml:1:\d+: unknown variant `sometimes`"):
        MockImds(http_tokens="sometimes").start()


def test_the_context_manager_stops_the_process_on_an_exception():
    with pytest.raises(RuntimeError):
        with MockImds() as mock:
            pid = mock.pid
            raise RuntimeError("the test's own failure")
    assert not mock.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: no such process, not even a zombie


def test_sdk_environ_runs_a_child_process_against_the_mock():
    # Outside the fixture: the environment for a child process, from the planted one.
    with MockImds() as mock:
        env = mock.sdk_environ()
        assert os.environ["AWS_ACCESS_KEY_ID"].startswith(PLANTED)
        assert "AWS_ACCESS_KEY_ID" not in env and os.listdir(env["HOME"]) == []
        child = subprocess.run(
            [sys.executable, "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr
        assert ROLE_ARN_PART in child.stdout
        assert_only_mock_keys(mock)
    assert not os.path.exists(env["HOME"])  # removed with the mock


# Last: the session fixture's environment stays for the rest of the session.
SESSION_PIDS = []


@pytest.mark.parametrize("round_", [1, 2])
def test_the_session_fixture_is_one_mock(mock_imds_session, round_):
    SESSION_PIDS.append(mock_imds_session.pid)
    mock_imds_session.reset()
    assert ROLE_ARN_PART in boto3.client("sts").get_caller_identity()["Arn"]
    assert_only_mock_keys(mock_imds_session)
    assert len(set(SESSION_PIDS)) == 1



def _token_put(mock: MockImds):
    """One token PUT asking for 60 s: (status, the answer's TTL header or None)."""
    request = urllib.request.Request(
        mock.endpoint + "/latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60", "User-Agent": "plugin-test/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
    except urllib.error.HTTPError as failed:
        return failed.code, None


def test_a_counted_fault_lifts_itself_and_the_ttl_header_mode_changes(mock_imds):
    mock_imds.fault("status(401) on token times=2")
    assert [_token_put(mock_imds)[0] for _ in range(3)] == [401, 401, 200]
    assert mock_imds.token_ttl_header() == "echo"
    assert mock_imds.token_ttl_header("absent") == "absent"
    assert _token_put(mock_imds) == (200, None)
    assert mock_imds.token_ttl_header(600) == 600
    assert _token_put(mock_imds) == (200, "600")
    with pytest.raises(ControlError) as failed:
        mock_imds.token_ttl_header("never")
    assert failed.value.status == 400
    events = mock_imds.events()
    assert any(e["type"] == "fault-lifted" and e["after"] == 2 for e in events)
    puts = [e for e in events if e["type"] == "imds-request" and e["method"] == "PUT"]
    assert puts and all(e["user_agent"] == "plugin-test/1" for e in puts)
    assert all(e["token_ttl_seconds"] == "60" for e in puts)


def test_assume_role_chains_from_the_instance_credentials(mock_imds):
    instance = boto3.client("sts")
    role = "arn:aws:iam::210987654321:role/team/chained"
    creds = instance.assume_role(RoleArn=role, RoleSessionName="py-chain", DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIAMOCK")
    chained = boto3.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert chained.get_caller_identity()["Arn"] == "arn:aws:sts::210987654321:assumed-role/chained/py-chain"
    [session] = mock_imds.sts_sessions()
    assert session["access_key_id"] == creds["AccessKeyId"]
    assert (session["role_arn"], session["session_name"]) == (role, "py-chain")
    # Role chaining is limited to one hour, as STS says.
    with pytest.raises(ClientError) as refused:
        instance.assume_role(RoleArn=role, RoleSessionName="py-chain", DurationSeconds=7200)
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "role chaining" in refused.value.response["Error"]["Message"]
    # 16 minutes on: the 15-minute session has expired.
    mock_imds.clock("+16m")
    with pytest.raises(ClientError) as expired:
        chained.get_caller_identity()
    assert expired.value.response["Error"]["Code"] == "ExpiredToken"
