"""Services die with their launcher, and the next start cleans up what a hard kill left behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot import process_guard
from bot.launcher import DEFAULT_MODEL, free_port
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups are read from /proc")


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def sessions():
    """Processes a test starts in sessions of their own; whatever survives the test is killed."""
    started = []

    def start(command):
        process = subprocess.Popen(command, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def record_of_dead_launcher(var_dir: Path, groups) -> Path:
    record = process_guard.ProcessRecord(var_dir)
    for name, process in groups:
        record.add(name, process)
    data = json.loads(record.path.read_text())
    data["launcher"] = {"pid": dead_pid(), "started": "1"}
    record.path.write_text(json.dumps(data))
    return record.path


def test_leftover_group_of_a_dead_launcher_is_stopped_grandchildren_included(tmp_path, sessions):
    # A shell whose own child would not be reached by the death signal: only the group finds it.
    service = sessions(["sh", "-c", "sleep 300 & sleep 300; wait"])
    wait_for(lambda: len(process_guard.group_members(service.pid)) == 3, 10, "the shell and its two sleeps")
    path = record_of_dead_launcher(tmp_path, [("Rasa server", service)])

    messages = process_guard.stop_leftovers(tmp_path, timeout=5)

    assert process_guard.group_members(service.pid) == []
    assert len(messages) == 1
    assert "Rasa server" in messages[0] and f"process group {service.pid}" in messages[0]
    assert not path.exists()


def test_a_service_that_ignores_sigterm_is_killed(tmp_path, sessions):
    service = sessions([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(300)"])
    wait_for(lambda: process_guard.start_time(service.pid), 10, "the service")
    time.sleep(1)  # past the interpreter start, SIGTERM now ignored
    record_of_dead_launcher(tmp_path, [("Action server", service)])

    process_guard.stop_leftovers(tmp_path, timeout=2)

    assert process_guard.group_members(service.pid) == []


def test_the_services_of_a_running_launcher_are_left_alone(tmp_path, sessions):
    service = sessions(["sleep", "300"])
    record = process_guard.ProcessRecord(tmp_path)  # this test process is the launcher, alive
    record.add("Web app", service)

    assert process_guard.stop_leftovers(tmp_path, timeout=2) == []
    assert process_guard.group_members(service.pid) == [service.pid]
    assert record.path.exists()
    record.close()
    assert not record.path.exists()


def test_a_pid_now_used_by_another_program_is_not_signalled(tmp_path, sessions):
    """The recorded start time differs: the pid was reused, the process is not ours."""
    other = sessions(["sleep", "300"])
    path = record_of_dead_launcher(tmp_path, [("Rasa server", other)])
    data = json.loads(path.read_text())
    data["groups"][0]["started"] = "1"
    path.write_text(json.dumps(data))

    messages = process_guard.stop_leftovers(tmp_path, timeout=2)

    assert process_guard.group_members(other.pid) == [other.pid]
    assert messages == [f"An earlier launcher (pid {data['launcher']['pid']}) ended without stopping its services; "
                        "they had stopped with it."]


def test_an_unreadable_record_is_reported_and_removed(tmp_path):
    path = tmp_path / process_guard.RECORD_DIR / "launcher-12345.json"
    path.parent.mkdir()
    path.write_text('{"launcher": {"pid"')

    messages = process_guard.stop_leftovers(tmp_path)

    assert len(messages) == 1 and "unreadable" in messages[0] and str(path) in messages[0]
    assert not path.exists()


def test_child_gets_sigterm_when_its_launcher_is_killed(tmp_path):
    launcher = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(
            """
            import subprocess, sys, time
            from bot.process_guard import die_with_parent
            child = subprocess.Popen(["sleep", "300"], start_new_session=True, preexec_fn=die_with_parent())
            print(child.pid, flush=True)
            time.sleep(300)
            """
        )],
        cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    child = int(launcher.stdout.readline())
    started = process_guard.start_time(child)
    try:
        assert started is not None
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        wait_for(lambda: process_guard.start_time(child) is None, 10, f"the child {child} to die with its launcher")
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        if process_guard.start_time(child) == started:  # still our sleep, not a reused pid
            os.killpg(child, signal.SIGKILL)


def start_launcher(env, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.launcher", "--model", str(DEFAULT_MODEL)],
        cwd=PROJECT_ROOT, env=env, stdout=out.open("w"), stderr=subprocess.STDOUT,
    )


def wait_until_up(launcher: subprocess.Popen, out: Path) -> str:
    def up():
        text = out.read_text()
        if launcher.poll() is not None:
            pytest.fail(f"the launcher exited with {launcher.returncode}:\n{text}")
        return text if "The assistant is up." in text else None

    return wait_for(up, 300, "the launcher to say the assistant is up")


@pytest.mark.e2e
def test_sigkill_to_the_launcher_leaves_nothing_running_and_the_next_start_works(tmp_path):
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"No trained model at {DEFAULT_MODEL}: `make test` trains it first.")
    var_dir = tmp_path / "var"
    env = {
        **os.environ, "PYTHONPATH": str(PROJECT_ROOT), "COACH_VAR_DIR": str(var_dir), "COACH_HOST": "127.0.0.1",
        "COACH_RASA_PORT": str(free_port()), "COACH_ACTIONS_PORT": str(free_port()), "COACH_WEB_PORT": str(free_port()),
    }
    first = start_launcher(env, tmp_path / "first.out")
    second = None
    try:
        wait_until_up(first, tmp_path / "first.out")
        record = json.loads((var_dir / process_guard.RECORD_DIR / f"launcher-{first.pid}.json").read_text())
        groups = [group["pgid"] for group in record["groups"]]
        assert [group["name"] for group in record["groups"]] == ["Action server", "Rasa server", "Web app"]
        assert all(process_guard.group_members(pgid) for pgid in groups)

        first.send_signal(signal.SIGKILL)
        first.wait()
        wait_for(lambda: not any(process_guard.group_members(pgid) for pgid in groups), 60,
                 "the services to stop with their launcher")

        second = start_launcher(env, tmp_path / "second.out")
        text = wait_until_up(second, tmp_path / "second.out")
        assert f"An earlier launcher (pid {first.pid}) ended without stopping its services" in text
        assert "already in use" not in text

        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        assert "Stopped." in (tmp_path / "second.out").read_text()
        assert list((var_dir / process_guard.RECORD_DIR).glob("*.json")) == []
    finally:
        for launcher in (first, second):
            if launcher is not None and launcher.poll() is None:
                launcher.kill()
                launcher.wait()
        # Never leave services running, whatever failed above; the record knows which are ours.
        process_guard.stop_leftovers(var_dir, timeout=10)
