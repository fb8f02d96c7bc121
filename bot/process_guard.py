"""Services that do not outlive their launcher, even when it is killed with SIGKILL.

Two guards, because each alone leaves a gap:

- `die_with_parent()`: on Linux each child asks the kernel to send it SIGTERM when the launcher
  dies (prctl PR_SET_PDEATHSIG). That covers the child, not processes the child starts, and not
  a child that ignores SIGTERM.
- `ProcessRecord` / `stop_leftovers()`: the launcher writes the process group of each child to
  <var>/processes/launcher-<pid>.json as it starts it; the next start stops the groups whose
  launcher is gone and says what it stopped, so a hard kill never leaves the ports taken.

A process is recognised by its pid and its start time (/proc/<pid>/stat), so a pid the system
has since given to another program is never signalled. Linux only; elsewhere both are no-ops.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, List, Optional

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
RECORD_DIR = "processes"
STOP_TIMEOUT = 15.0  # the same grace as Service.stop gives a service on Ctrl-C


def die_with_parent() -> Optional[Callable[[], None]]:
    """A preexec_fn for Popen: the child gets SIGTERM when the process that started it dies.

    The kernel sends it when the *thread* that started the child ends, so start services from a
    thread that lives as long as they should (the launcher's and the tests' main thread do).
    """
    if not sys.platform.startswith("linux"):
        return None
    # Looked up before the fork: the child should only make the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def ask_for_sigterm() -> None:
        prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGTERM), ctypes.c_ulong(0),
              ctypes.c_ulong(0), ctypes.c_ulong(0))
        if os.getppid() != parent:  # the launcher died before the request was in place
            os._exit(1)

    return ask_for_sigterm


def _stat_fields(pid: int) -> Optional[List[str]]:
    """Fields 3 onwards of /proc/<pid>/stat (state, ppid, pgrp, ...), None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # Field 2 is the command name in parentheses and may itself contain spaces or ')'.
    return stat.rsplit(")", 1)[1].split()


def start_time(pid: int) -> Optional[str]:
    """When `pid` started (clock ticks since boot), or None if it is not running (zombies included)."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22, starttime


def group_members(pgid: int) -> List[int]:
    """Live (non-zombie) processes in process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and fields[0] not in ("Z", "X") and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


@dataclass(frozen=True)
class Group:
    name: str
    pgid: int
    started: Optional[str]
    command: str


class ProcessRecord:
    """The launcher's list of the process groups it started, on disk for the next start to read."""

    def __init__(self, var_dir: Path) -> None:
        self.path = Path(var_dir) / RECORD_DIR / f"launcher-{os.getpid()}.json"
        self.launcher = {"pid": os.getpid(), "started": start_time(os.getpid())}
        self.groups: List[Group] = []

    def add(self, name: str, process: subprocess.Popen) -> None:
        """Record a child started with start_new_session=True (its pid is its process group)."""
        command = process.args if isinstance(process.args, str) else " ".join(map(str, process.args))
        self.groups.append(Group(name=name, pgid=process.pid, started=start_time(process.pid), command=command))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(
            json.dumps({"launcher": self.launcher, "groups": [asdict(g) for g in self.groups]}, indent=1),
            encoding="utf-8",
        )
        os.replace(partial, self.path)  # never a half-written record, whenever the launcher dies

    def close(self) -> None:
        """The services stopped in order: nothing is left for the next start to clean up."""
        self.path.unlink(missing_ok=True)


def _stop_group(group: Group, timeout: float) -> bool:
    """Stop what is left of `group`; False if nothing of it was running."""
    leader_started = start_time(group.pgid)
    if leader_started is not None and leader_started != group.started:
        return False  # the pid now belongs to another program; our group is long gone
    if not group_members(group.pgid):
        return False
    # The leader is ours, or it is gone and the group outlived it: Linux does not hand out a pid
    # that is still some group's id, so every member of the group is a process we started.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group.pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not group_members(group.pgid):
                return True
            time.sleep(0.2)
    return True


def stop_leftovers(var_dir: Path, *, timeout: float = STOP_TIMEOUT) -> List[str]:
    """Stop the services of launchers that died without stopping them; one line per finding.

    Records of a launcher that is still running (another `make run` with the same var folder)
    are left alone.
    """
    if not sys.platform.startswith("linux"):
        return []
    messages = []
    for path in sorted((Path(var_dir) / RECORD_DIR).glob("launcher-*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            launcher = record["launcher"]
            groups = [Group(**group) for group in record["groups"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            messages.append(f"Ignored an unreadable record of an earlier launcher, {path}: {exc}")
            path.unlink(missing_ok=True)
            continue
        if launcher.get("started") is not None and start_time(launcher["pid"]) == launcher["started"]:
            continue
        stopped = [group for group in groups if _stop_group(group, timeout)]
        for group in stopped:
            messages.append(
                f"Stopped what an earlier launcher (pid {launcher['pid']}) left running: "
                f"{group.name} (process group {group.pgid})."
            )
        if not stopped:
            messages.append(
                f"An earlier launcher (pid {launcher['pid']}) ended without stopping its services; "
                "they had stopped with it."
            )
        path.unlink(missing_ok=True)
    return messages
