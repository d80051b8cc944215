"""`MockImds.clock()` and `rotate()` against the mock's `GET/POST /clock` and
`POST /rotate` (the contract: `{"now": RFC 3339, "offset_ms": i64}` and
`{"access_key_id", "expiration": RFC 3339}`). Run by scripts/test-packages."""

import datetime

import boto3


def test_the_clock_jumps_by_the_offset(mock_imds):
    before = mock_imds.clock()
    assert before.now.tzinfo is not None
    after = mock_imds.clock("+5h52m")
    jump = datetime.timedelta(hours=5, minutes=52)
    assert after.offset_ms - before.offset_ms == jump.total_seconds() * 1000
    assert after.now - before.now >= jump
    assert mock_imds.clock(datetime.timedelta(minutes=-52)).offset_ms == after.offset_ms - 52 * 60 * 1000


def test_rotate_issues_the_keys_a_new_client_then_signs_with(mock_imds):
    boto3.client("sts").get_caller_identity()
    first = mock_imds.sts_access_keys()[-1]
    rotation = mock_imds.rotate()
    assert rotation.access_key_id.startswith("ASIAMOCK") and rotation.access_key_id != first
    assert rotation.expiration > datetime.datetime.now(datetime.timezone.utc)
    boto3.session.Session().client("sts").get_caller_identity()
    assert mock_imds.sts_access_keys()[-1] == rotation.access_key_id
