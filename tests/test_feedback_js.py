"""bot/web/static/feedback.js under node with a tiny fake DOM: one focus with its example,
compact praise, every check folded in <details>, untrusted words only ever as text."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.test_web import STATIC_DIR

HARNESS = r"""
const assert = require("assert");
const fs = require("fs");
const vm = require("vm");
class Node {
  constructor(tag, text) { this.tagName = tag; this.childNodes = []; this.className = ""; this.attrs = {}; this._text = text || "";
    const self = this; this.classList = { add(c) { self.className = (self.className + " " + c).trim(); } }; }
  appendChild(c) { this.childNodes.push(c); return c; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  get textContent() { return this.tagName === "#text" ? this._text : this.childNodes.map(c => c.textContent).join(""); }
  set textContent(v) { this.childNodes = [new Node("#text", String(v))]; }
  set innerHTML(v) { throw new Error("innerHTML written"); }
  all() { return this.childNodes.flatMap(c => [c, ...c.all()]); }
  byClass(c) { return this.all().filter(n => n.className.split(" ").includes(c)); }
}
const document = { createElement: t => new Node(t), createTextNode: t => new Node("#text", t) };
const context = vm.createContext({ document, Array, String, Object });
vm.runInContext(fs.readFileSync(process.argv[2], "utf8"), context);
const EVIL = "<img src=x onerror=alert(1)>";
const CHECKS = { greeting: { label: "Greeting" }, apology: { label: "Apology" }, next_step: { label: "Next step with a time" },
                 defensive: { label: "Defensive or blaming words", bad: true } };
const drawn = context.CoachFeedback.render({
  type: "feedback", turn: 2, mood_change: -5,
  focus: { check: "next_step", tip: "Say when. " + EVIL, example: "I'll call you by 5 pm today. " + EVIL },
  praise: [{ check: "apology", text: "You apologized.", evidence: ["sorry", "a", "b", "c"] }],
  checks: { greeting: { found: false, evidence: [], tip: null }, apology: { found: true, evidence: ["sorry"], tip: null },
            next_step: { found: false, evidence: [], tip: "Say when. " + EVIL }, defensive: { found: false, evidence: [], tip: null } },
}, CHECKS);
const box = drawn.box;
const focus = box.byClass("fb-focus");
assert.strictEqual(focus.length, 1);
assert.ok(focus[0].textContent.includes("Next step with a time: Say when. " + EVIL));
assert.ok(box.byClass("fb-example")[0].textContent.includes("I'll call you by 5 pm today. " + EVIL));
const praise = box.byClass("fb-praise")[0].childNodes;
assert.strictEqual(praise.length, 1);
assert.ok(praise[0].textContent.includes("Apology: \u201csorry\u201d, \u201ca\u201d, \u201cb\u201d"));
assert.ok(!praise[0].textContent.includes("\u201cc\u201d"), "at most three quotes");
const details = box.all().filter(n => n.tagName === "details");
assert.strictEqual(details.length, 1);
assert.ok(!("open" in details[0].attrs));
// The folded list: done, tip, and a missed check with no tip marked "Not now"; nothing for a bad check not found.
const items = details[0].byClass("feedback-list")[0].childNodes.map(n => n.textContent);
assert.deepStrictEqual(items.map(t => t.split(" ")[0]), ["Not", "Done", "Tip"]);
assert.strictEqual(JSON.stringify(drawn.marks.map(m => m.text)), JSON.stringify(["sorry"]));
assert.ok(box.all().every(n => n.tagName !== "img" && n.tagName !== "script"));
// No focus and no praise: it says there is nothing to note.
const quiet = context.CoachFeedback.render({ type: "feedback", turn: 3, focus: null, praise: [], checks: {} }, CHECKS).box;
assert.ok(quiet.textContent.includes("Nothing to note on this reply."));
console.log("ok");
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_feedback_js_draws_one_focus_compact_praise_and_folded_checks(tmp_path):
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS, encoding="utf-8")
    result = subprocess.run(["node", str(harness), str(STATIC_DIR / "feedback.js")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == "ok"
