"""The var folder is private: issue 16, finding 1 (databases and logs were created 0644)."""
from __future__ import annotations

import io
import os
import stat

from bot.private_files import loose_paths, make_private, report_loose


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_loose_files_are_reported_and_made_private(tmp_path):
    var = tmp_path / "var"
    (var / "logs").mkdir(parents=True)
    for name in ("coach.db", "rasa_tracker.db", "logs/rasa.5005.log"):
        (var / name).write_text("x")
        os.chmod(var / name, 0o644)
    os.chmod(var, 0o755)
    os.chmod(var / "logs", 0o755)
    (var / "lock-venv").mkdir()
    (var / "lock-venv" / "big").write_text("not walked")
    os.chmod(var / "lock-venv" / "big", 0o644)
    out = io.StringIO()
    assert {p.name for p, _ in report_loose(var, out)} == {"var", "coach.db", "rasa_tracker.db", "logs", "rasa.5005.log"}
    assert "could be read by other users" in out.getvalue() and "coach.db was 0644" in out.getvalue()
    make_private(var)
    assert loose_paths(var) == []
    assert _mode(var) == 0o700 and _mode(var / "coach.db") == 0o600 and _mode(var / "logs" / "rasa.5005.log") == 0o600
    out = io.StringIO()
    assert report_loose(var, out) == [] and out.getvalue() == ""


def test_a_running_assistant_keeps_every_file_private(assistant):
    """Databases, tracker store, logs, secrets and generated endpoints: 0600 in a 0700 folder."""
    var = assistant["settings"].var_dir
    assert _mode(var) == 0o700
    names = {p.name for p in var.iterdir()}
    assert {"coach.db", "rasa_tracker.db", "service_secret", "secret_key", "logs"} <= names
    assert any(n.startswith("endpoints.") for n in names)
    # Only what the launcher and the services made: browser tests put their screenshots here too.
    ours = ("coach.db", "rasa_tracker.db", "service_secret", "secret_key", "endpoints.", "first-admin", "logs")
    loose = [(str(p), oct(m)) for p, m in loose_paths(var)
             if p == var or p.relative_to(var).parts[0].startswith(ours)]
    assert loose == []
