"""A small sampling profiler for a server process: where does its main thread spend its time?

    python -m bench.sampling --out rasa.json -m bot.rasa_main run --model ...

runs the module as `python -m` would, and every `--interval` seconds records the main thread's
stack (sys._current_frames; py-spy is not installed here). Every few seconds the counts are
written to `--out` as JSON, so a server stopped with SIGTERM leaves its profile behind.
`python -m bench.sampling --report rasa.json` prints the top functions with their share.

Samples where the main thread waits for work (the event loop's select) count as idle; shares
are of the busy samples.
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# A stack whose innermost frame is one of these is waiting, not working. Sanic runs uvloop, whose
# loop is C code: while it waits, the innermost Python frame is Sanic's `serve`.
IDLE_LEAVES = {("selectors.py", "select"), ("threading.py", "wait"), ("socket.py", "accept"), ("runners.py", "serve")}
WRITE_EVERY_SECONDS = 3.0


def _frame_key(frame) -> str:
    code = frame.f_code
    return f"{Path(code.co_filename).name}:{code.co_name}"


class Sampler:
    def __init__(self, out: Path, interval: float, thread_id: int) -> None:
        self.out, self.interval, self.thread_id = out, interval, thread_id
        self.inclusive: Counter = Counter()
        self.leaf: Counter = Counter()
        self.busy = 0
        self.idle = 0
        self._written = time.monotonic()

    def sample(self) -> None:
        frame = sys._current_frames().get(self.thread_id)
        if frame is None:
            return
        leaf = (Path(frame.f_code.co_filename).name, frame.f_code.co_name)
        if leaf in IDLE_LEAVES:
            self.idle += 1
            return
        self.busy += 1
        self.leaf[_frame_key(frame)] += 1
        seen = set()
        while frame is not None:
            key = _frame_key(frame)
            if key not in seen:
                seen.add(key)
                self.inclusive[key] += 1
            frame = frame.f_back

    def write(self) -> None:
        data = {"busy": self.busy, "idle": self.idle, "interval": self.interval,
                "inclusive": dict(self.inclusive.most_common(400)), "leaf": dict(self.leaf.most_common(400))}
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.out)

    def run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.sample()
            if time.monotonic() - self._written > WRITE_EVERY_SECONDS:
                self.write()
                self._written = time.monotonic()


def top(profile: Dict, kind: str, count: int, *, below: float = 1.0) -> List[Tuple[str, float]]:
    """The `count` commonest functions with their share of busy samples, leaving out those above `below`."""
    busy = max(1, profile["busy"])
    shares = [(name, hits / busy) for name, hits in Counter(profile[kind]).most_common()]
    return [(name, share) for name, share in shares if share <= below][:count]


def load(path: Path) -> Dict:
    return json.loads(path.read_text(encoding="utf-8"))


def difference(after: Dict, before: Optional[Dict]) -> Dict:
    """The samples taken between two snapshots of one profile (e.g. without the start-up)."""
    if not before:
        return after
    result = {"busy": after["busy"] - before["busy"], "idle": after["idle"] - before["idle"], "interval": after["interval"]}
    for kind in ("inclusive", "leaf"):
        counts = Counter(after[kind])
        counts.subtract(before[kind])
        result[kind] = {name: hits for name, hits in counts.items() if hits > 0}
    return result


def report(profile: Dict, name: str, count: int = 20) -> str:
    busy, idle = profile["busy"], profile["idle"]
    lines = [
        f"{name}: {busy} busy samples, {idle} idle (busy {busy / max(1, busy + idle):.0%} of the time), "
        f"one every {profile['interval'] * 1000:.0f} ms"
    ]
    # Frames in (nearly) every busy sample are the server's own loop and say nothing.
    lines.append(f"  top {count} in the stack (inclusive; the server's loop, in over 95% of samples, left out):")
    lines.extend(f"    {share:6.1%}  {fn}" for fn, share in top(profile, "inclusive", count, below=0.95))
    lines.append(f"  top {count} innermost frames (self time):")
    lines.extend(f"    {share:6.1%}  {fn}" for fn, share in top(profile, "leaf", count))
    return "\n".join(lines)


def sampled(service, out: Path):
    """The same bot.launcher Service, its module run under this sampler writing to `out`."""
    command = list(service.command)
    module_at = command.index("-m")
    service.command = [command[0], "-m", "bench.sampling", "--out", str(out), *command[module_at:]]
    return service


def snapshots(paths: Dict[str, Path]) -> Dict[str, Dict]:
    """The profiles as written now (by name), after waiting for the samplers' next write."""
    time.sleep(WRITE_EVERY_SECONDS + 1)
    return {name: load(path) for name, path in paths.items() if path.exists()}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Sample a module's main thread while it runs.", allow_abbrev=False)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--report", type=Path, help="print the top functions of a written profile and stop")
    parser.add_argument("-m", dest="module")
    args, rest = parser.parse_known_args(argv)
    if args.report:
        print(report(load(args.report), args.report.name))
        return
    if not (args.out and args.module):
        parser.error("give --out and -m MODULE (or --report FILE)")
    sampler = Sampler(args.out, args.interval, threading.main_thread().ident)
    threading.Thread(target=sampler.run, name="bench-sampler", daemon=True).start()
    sys.argv = [args.module, *rest]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
