"""`python -m bot assess` as a user runs it: JSON Lines in, one JSON line out per input."""
import json
import subprocess
import sys

from bot.settings import PROJECT_ROOT


def run_assess(lines, env=None):
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "assess"], input=text, capture_output=True, text=True, cwd=PROJECT_ROOT,
        timeout=300, env=env,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_assess_writes_one_line_per_input_with_every_check():
    code, out, _ = run_assess([
        {"customer": "My laptop crashes every day!", "reply": "I'm so sorry about that, Dana.", "customer_name": "Dana Whitfield"},
        {"customer": "Why was I charged twice?", "reply": "That wasn't my fault, calm down.", "scenario": "unexplained_bill_charge"},
    ])
    assert code == 0 and len(out) == 2
    first, second = out[0]["checks"], out[1]["checks"]
    assert set(first) == {"greeting", "active_listening", "apology", "next_step", "thanks", "defensive",
                          "name_use", "jargon", "probing_question"}
    assert first["apology"]["found"] and first["name_use"]["found"]
    assert not first["defensive"]["found"]
    assert second["defensive"]["found"] and second["defensive"]["tip"]
    for result in (*first.values(), *second.values()):
        assert isinstance(result["evidence"], list)


def test_bad_lines_get_an_error_line_and_the_rest_is_still_assessed():
    code, out, err = run_assess([
        "this is not json",
        {"customer": "hello"},
        {"reply": "Sorry about that.", "scenario": "no_such_scenario"},
        {"reply": "x" * 5000},
        {"customer": "It broke.", "reply": "I apologize for the trouble."},
    ])
    assert code == 1 and "4 of 5 lines" in err
    assert [o.get("error", {}).get("code") for o in out] == [
        "bad_json", "bad_input", "unknown_scenario", "message_too_long", None
    ]
    assert "line 1" in out[0]["error"]["message"]
    assert out[4]["checks"]["apology"]["found"]
