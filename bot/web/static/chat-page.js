/* What every part of the practice chat shares: the page's elements, the running conversation's
 * state, the words for checks, outcomes, personas and modes, text-only DOM helpers and notices.
 *
 * Everything the customer, Rasa or the trainee wrote is untrusted and reaches the page only
 * through textContent (see el()), never parsed as HTML.
 *
 * The page loads chat.js as a module (<script type="module">), which imports this one and the
 * others: transport (requests and the outbox with its retries), render (the transcript),
 * scorecard (mood meter and scorecard) and scenarios (the scenario list).
 */

function $(id) { return document.getElementById(id); }

export var app = $("app");
export var maxChars = (app && parseInt(app.getAttribute("data-max-chars"), 10)) || 2000;

export var ui = {
  setup: $("setup"), setupForm: $("setup-form"), scenario: $("scenario"), start: $("start-button"),
  scenarioHelp: $("scenario-help"), assignNote: $("assign-note"),
  chat: $("chat"), title: $("chat-title"), subtitle: $("chat-subtitle"),
  mood: $("mood"), meter: $("mood-meter"), moodText: $("mood-text"),
  log: $("log"), typing: $("typing"), typingName: $("typing-name"),
  composer: $("composer"), reply: $("reply"), count: $("reply-count"),
  send: $("send-button"), end: $("end-button"),
  notice: $("notice"), noticeText: $("notice-text"), retry: $("retry-button"), dismiss: $("dismiss-button"),
  scorecard: $("scorecard"), scoreTitle: $("score-title"), scoreSummary: $("score-summary"),
  scoreOutcome: $("score-outcome"), scoreRows: $("score-rows"),
  again: $("again-button"), fresh: $("new-button")
};

export var CHECKS = {
  greeting: { label: "Greeting" },
  active_listening: { label: "Restating the problem" },
  apology: { label: "Apology" },
  next_step: { label: "Next step with a time" },
  thanks: { label: "Thanks" },
  name_use: { label: "Using the customer's name" },
  probing_question: { label: "Question to learn more" },
  defensive: { label: "Defensive or blaming words", bad: true },
  jargon: { label: "Jargon", bad: true },
  broken_promise: { label: "Went back on a promise", bad: true }
};
export var OUTCOMES = {
  resolved: "The customer accepted your plan.",
  churned: "The customer gave up and left.",
  escalated: "The customer asked for a manager.",
  abandoned: "You ended the conversation before it was settled."
};
export var PERSONA_WORDS = { angry: "angry customer", dispassionate: "matter-of-fact customer" };
export var MODE_WORDS = { coach: "coach mode", assessment: "assessment mode" };
// Refusals after which this page's conversation is gone: nothing queued can be delivered.
export var CONVERSATION_GONE = { no_session: true, session_over: true, conversation_changed: true, not_your_conversation: true };

export var state = {
  conversation: null, // the conversation id the server gave this page
  choices: null,      // {scenario, persona, mode} of the running or last session
  mode: null,
  customerName: "The customer",
  ended: false,
  replies: 0,
  turnLimit: null,
  assignments: {}     // scenario id -> the first assignment of it
};

/* ---- DOM helpers: text only ---- */

export function el(tag, className, content) {
  var node = document.createElement(tag);
  if (className) { node.className = className; }
  if (content !== undefined && content !== null) { node.textContent = String(content); }
  return node;
}

export function clear(node) {
  while (node.firstChild) { node.removeChild(node.firstChild); }
}

export function detach(node) {
  if (node && node.parentNode) { node.parentNode.removeChild(node); }
}

/* ---- notices (errors, never shown as a customer message) ---- */

var retryAction = null;
export function showNotice(message, retry, options) {
  ui.noticeText.textContent = message;
  retryAction = retry || null;
  ui.retry.hidden = !retry;
  ui.notice.hidden = false;
  // Moving focus while the trainee types the next reply would swallow their keystrokes.
  if (retry && !(options && options.keepFocus)) { ui.retry.focus(); }
}
export function hideNotice() {
  ui.notice.hidden = true;
  retryAction = null;
}
// Called once, when the page starts.
export function wireNotices() {
  ui.retry.addEventListener("click", function () {
    var action = retryAction;
    hideNotice();
    if (action) { action(); }
  });
  ui.dismiss.addEventListener("click", hideNotice);
}
