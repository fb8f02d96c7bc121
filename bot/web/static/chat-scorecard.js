/* The customer's mood meter (coach mode) and the scorecard at the end of a conversation. */
import { OUTCOMES, clear, el, ui } from "./chat-page.js";

/* ---- mood ---- */

function moodWords(mood) {
  if (mood < 15) { return "furious"; }
  if (mood < 35) { return "upset"; }
  if (mood < 55) { return "calming down"; }
  if (mood < 75) { return "reassured"; }
  return "satisfied";
}

export function setMood(mood, change) {
  if (typeof mood !== "number") { return; }
  ui.meter.value = mood;
  var words = mood + " of 100, " + moodWords(mood);
  if (typeof change === "number" && change !== 0) { words += " (" + (change > 0 ? "+" : "") + change + ")"; }
  ui.meter.textContent = words;
  ui.moodText.textContent = words;
}

/* ---- scorecard ---- */

export function drawScorecard(card) {
  var score = typeof card.score === "number" ? card.score : 0;
  ui.scoreSummary.textContent = "Score " + score + " / 100: " + (card.passed ? "passed" : "not passed yet") +
    (typeof card.pass_mark === "number" ? " (pass mark " + card.pass_mark + ")." : ".");
  ui.scoreSummary.className = "score-summary " + (card.passed ? "passed" : "failed");
  ui.scoreOutcome.textContent = OUTCOMES[card.outcome] || ("Outcome: " + (card.outcome || "unknown") + ".");
  clear(ui.scoreRows);
  var criteria = card.criteria || {};
  // The rubric's order (the page has it), whatever order the JSON keys arrived in.
  var order = (ui.scoreRows.parentNode && ui.scoreRows.parentNode.getAttribute("data-order") || "").split(" ");
  var rank = function (name) { var at = order.indexOf(name); return at < 0 ? order.length : at; };
  Object.keys(criteria).sort(function (a, b) { return rank(a) - rank(b); }).forEach(function (name) {
    var c = criteria[name] || {};
    var na = c.applicable === false;
    var row = el("tr", na ? "na" : c.met ? "met" : "unmet");
    var label = el("th", null, c.label || name.replace(/_/g, " "));
    label.scope = "row";
    row.appendChild(label);
    // Not applicable: it never came up, so it is out of the total rather than free points.
    row.appendChild(el("td", null, na ? "not applicable" : (c.points || 0) + " / " + (c.weight || 0) + (c.met ? " (met)" : " (not met)")));
    row.appendChild(el("td", null, c.explanation || ""));
    ui.scoreRows.appendChild(row);
  });
  ui.scorecard.hidden = false;
  ui.scoreTitle.focus();
}
