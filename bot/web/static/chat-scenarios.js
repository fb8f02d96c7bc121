/* The scenario list on the start form: scenarios assigned to the trainee first (picking one
 * preselects the persona and mode it is assigned in), then the rest as optional practice.
 */
import { MODE_WORDS, PERSONA_WORDS, clear, el, showNotice, state, ui } from "./chat-page.js";
import { request, retriable } from "./chat-transport.js";


/* ---- scenario list: assigned first, then the rest as optional practice ---- */

function formatDate(iso) {
  var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  if (!parts) { return iso; }
  var day = new Date(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]));
  return day.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

function overdue(iso) {
  var today = new Date();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var todayIso = today.getFullYear() + "-" + pad(today.getMonth() + 1) + "-" + pad(today.getDate());
  return !!iso && iso < todayIso;
}

// The server's status when it has one (passed, overdue...), else "overdue" from the date alone.
function statusWords(a) {
  if (a.status_label) { return a.status_label; }
  return overdue(a.due_date) ? "Overdue" : "";
}

function assignmentWords(a) {
  var words = "Assigned in " + a.curriculum;
  if (a.due_date) { words += ", due " + formatDate(a.due_date); }
  var how = [PERSONA_WORDS[a.persona], MODE_WORDS[a.mode]].filter(Boolean);
  if (how.length) { words += ": " + how.join(", "); }
  if (typeof a.pass_mark === "number") { words += ". Pass mark " + a.pass_mark; }
  var standing = statusWords(a);
  if (standing) { words += ". Status: " + standing; }
  return words + ".";
}

export function loadScenarios() {
  return request("GET", "/api/scenarios").then(function (result) {
    clear(ui.scenario);
    if (!result.ok) {
      ui.scenario.appendChild(el("option", null, "No scenarios available"));
      ui.scenario.firstChild.value = "";
      showNotice(result.error.message, retriable(result) ? loadScenarios : null);
      return;
    }
    var scenarios = result.data.scenarios || [];
    var byId = {};
    scenarios.forEach(function (s) { byId[s.id] = s; });
    state.assignments = {};
    var assignedOrder = [];
    (result.data.assigned || []).forEach(function (a) {
      if (!byId[a.scenario] || state.assignments[a.scenario]) { return; }
      state.assignments[a.scenario] = a;
      assignedOrder.push(a);
    });
    var placeholder = el("option", null, "Choose a scenario");
    placeholder.value = "";
    ui.scenario.appendChild(placeholder);
    if (assignedOrder.length) {
      var mine = el("optgroup");
      mine.label = "Assigned to you";
      assignedOrder.forEach(function (a) {
        var s = byId[a.scenario];
        var label = s.title + " (customer: " + s.customer_name + ")";
        if (a.due_date) { label += " \u2014 due " + formatDate(a.due_date); }
        var standing = statusWords(a);
        if (standing) { label += (a.due_date ? ", " : " \u2014 ") + standing.toLowerCase(); }
        var option = el("option", null, label);
        option.value = s.id;
        mine.appendChild(option);
      });
      ui.scenario.appendChild(mine);
    }
    var rest = scenarios.filter(function (s) { return !state.assignments[s.id]; });
    if (rest.length) {
      var optional = el("optgroup");
      optional.label = "Optional practice";
      rest.forEach(function (s) {
        var option = el("option", null, s.title + " (customer: " + s.customer_name + ")");
        option.value = s.id;
        optional.appendChild(option);
      });
      ui.scenario.appendChild(optional);
    }
    if (result.data.assignments === "unavailable") {
      ui.assignNote.textContent = "Training plans are not set up on this server yet, so every scenario is optional practice.";
    } else if (!assignedOrder.length) {
      ui.assignNote.textContent = "Nothing is assigned to you right now: every scenario is optional practice.";
    } else {
      ui.assignNote.textContent = assignedOrder.length + (assignedOrder.length === 1 ? " scenario is" : " scenarios are") +
        " assigned to you; the others are optional practice.";
    }
    if (scenarios.length === 1) { ui.scenario.value = scenarios[0].id; }
    describeChoice(false);
  });
}

export function checked(name) {
  var input = ui.setupForm.querySelector("input[name='" + name + "']:checked");
  return input ? input.value : null;
}

function choose(name, value) {
  if (!value) { return; }
  var input = ui.setupForm.querySelector("input[name='" + name + "'][value='" + value + "']");
  if (input) { input.checked = true; }
}

// An assigned scenario comes with the persona and mode it is assigned in.
export function describeChoice(preselect) {
  var a = state.assignments[ui.scenario.value];
  if (!a) {
    ui.scenarioHelp.textContent = ui.scenario.value ? "Optional practice: choose any customer and mode." : "";
    return;
  }
  if (preselect) {
    choose("persona", a.persona);
    choose("mode", a.mode);
  }
  ui.scenarioHelp.textContent = assignmentWords(a);
}
