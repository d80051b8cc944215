"""Fails on purpose: scripts/test-packages runs this file, expects exactly these two
failures, then checks that no mock-imds process outlived the run (and conftest.py that
the fixtures' teardown stopped them)."""

from conftest import PIDS


def test_fails_while_its_own_mock_is_down(mock_imds):
    PIDS.append(mock_imds.pid)
    mock_imds.down()
    assert mock_imds.running
    raise AssertionError("planted failure, with a per-test mock running")


def test_fails_while_the_session_mock_runs(mock_imds_session):
    PIDS.append(mock_imds_session.pid)
    assert mock_imds_session.running
    raise AssertionError("planted failure, with the session mock running")
