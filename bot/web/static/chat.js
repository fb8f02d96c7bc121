/* The practice chat: pick a scenario, talk to the simulated customer, read the feedback.
 *
 * This module runs the conversation (start, replies, end, a reloaded page) and wires the page;
 * chat-transport.js delivers the replies (one at a time, retried under the same id),
 * chat-render.js draws the transcript, chat-scorecard.js the mood meter and the scorecard,
 * chat-scenarios.js the scenario list; chat-page.js holds what they share, and the notices.
 */
import {
  CONVERSATION_GONE, PERSONA_WORDS, app, clear, hideNotice, maxChars, showNotice, state, ui, wireNotices
} from "./chat-page.js";
import { addCustomer, addFeedback, addTrainee, setTyping, updateCount } from "./chat-render.js";
import { checked, describeChoice, loadScenarios } from "./chat-scenarios.js";
import { drawScorecard, setMood } from "./chat-scorecard.js";
import {
  dropOutbox, forgetStoredOutboxes, listenForOnline, onAnswers, outboxHas, queue, request, retriable, saveOutbox,
  storedOutbox
} from "./chat-transport.js";

/* ---- one answer from the relay ---- */

function applyStarted(p) {
  state.customerName = p.customer_name || "The customer";
  state.turnLimit = p.turn_limit || null;
  state.mode = p.mode;
  ui.title.textContent = p.title ? p.title : "Conversation with " + state.customerName;
  ui.subtitle.textContent = "Customer: " + state.customerName + ". Persona: " + (PERSONA_WORDS[p.persona] || p.persona) +
    ". Mode: " + (p.mode === "coach" ? "coach (feedback after each reply)" : "assessment (score at the end)") + ".";
  // Assessment mode shows nothing until the scorecard, the customer's mood included.
  ui.mood.hidden = p.mode !== "coach";
  if (p.mode === "coach") { setMood(p.mood); }
}

// Returns true when the customer answered (a text came back).
function handleMessages(messages, traineeItem, traineeText) {
  var answered = false;
  var pendingCard = null;
  var lastCustomer = null;
  // Rasa sends the opening text before session_started; the name must be known first.
  messages.forEach(function (m) {
    if (m.kind === "custom" && m.payload && m.payload.type === "session_started") { applyStarted(m.payload); }
  });
  messages.forEach(function (m) {
    if (m.kind === "text") {
      lastCustomer = addCustomer(m.text);
      answered = true;
      return;
    }
    var p = m.payload || {};
    if (p.type === "feedback") {
      addFeedback(traineeItem, traineeText || "", p);
      setMood(p.mood, p.mood_change);
    } else if (p.type === "scorecard") {
      pendingCard = p;
    } else if (p.type === "error") {
      showNotice(p.message || ("The practice server refused that (" + p.code + ")."));
      if (CONVERSATION_GONE[p.code]) { endedWithoutCard(); }
    }
  });
  // The feedback went in above the customer's answer: bring both back into view.
  if (lastCustomer) { lastCustomer.scrollIntoView({ block: "end" }); }
  if (pendingCard) { showScorecard(pendingCard); }
  return answered;
}

function showScorecard(card) {
  state.ended = true;
  dropOutbox("The conversation had ended before this reply was sent.");
  ui.composer.hidden = true;
  setTyping(false);
  drawScorecard(card);
}

function endedWithoutCard() {
  state.ended = true;
  dropOutbox("The conversation had ended before this reply was sent.");
  setTyping(false);
  ui.composer.hidden = true;
  ui.scorecard.hidden = true;
  ui.setup.hidden = false;
}

/* ---- actions ---- */

function enterConversation(conversation, choices) {
  dropOutbox(null);
  state.conversation = conversation;
  state.choices = choices;
  state.ended = false;
  state.replies = 0;
  clear(ui.log);
  ui.setup.hidden = true;
  ui.scorecard.hidden = true;
  ui.composer.hidden = false;
  ui.chat.hidden = false;
  ui.end.disabled = false;
}

function startSession(choices) {
  hideNotice();
  ui.start.disabled = true;
  ui.again.disabled = true;
  return request("POST", "/api/session", choices).then(function (result) {
    ui.start.disabled = false;
    ui.again.disabled = false;
    if (!result.ok) {
      showNotice(result.error.message, retriable(result) ? function () { startSession(choices); } : null);
      return;
    }
    var started = result.data.messages.some(function (m) { return m.kind === "custom" && m.payload && m.payload.type === "session_started"; });
    if (!started || !result.data.conversation) {
      handleMessages(result.data.messages);  // shows Rasa's error notice
      return;
    }
    forgetStoredOutboxes();
    enterConversation(result.data.conversation, choices);
    ui.reply.value = "";
    updateCount();
    handleMessages(result.data.messages);
    ui.reply.focus();
  });
}

function sendReply(text) {
  if (state.ended || !state.conversation) { return; }
  var trimmed = text.trim();
  if (!trimmed) { showNotice("Your reply is empty: type what you would say to the customer."); return; }
  if (trimmed.length > maxChars) {
    showNotice("Your reply is " + trimmed.length + " characters long; the limit is " + maxChars + ". Shorten it and send it again.");
    return;
  }
  if (trimmed.charAt(0) === "/") {
    showNotice("A reply cannot start with \"/\". Use the buttons to start or end the conversation.");
    return;
  }
  // A notice about a reply still waiting to be delivered stays up until that one is through.
  if (!outboxHas(function (e) { return e.noticed; })) { hideNotice(); }
  ui.reply.value = "";
  updateCount();
  queue("message", trimmed);
  ui.reply.focus();
}

function endSession() {
  if (state.ended || !state.conversation) { return; }
  if (outboxHas(function (e) { return e.kind === "end"; })) { return; }
  hideNotice();
  queue("end");
}

/* ---- a reloaded page: the running conversation as the server recorded it ---- */

function restore() {
  return request("GET", "/api/conversation").then(function (result) {
    if (!result.ok) {
      if (result.status === 401) { return; }
      showNotice(result.error.message + " Your conversation is kept on the server.", retriable(result) ? restore : null);
      return;
    }
    var data = result.data;
    if (!data.conversation || !data.session) {
      forgetStoredOutboxes();
      return;
    }
    var session = data.session;
    enterConversation(data.conversation, { scenario: session.scenario, persona: session.persona, mode: session.mode });
    applyStarted(session);
    if (data.opening) { addCustomer(data.opening); }
    (data.turns || []).forEach(function (turn) {
      var item = addTrainee(turn.trainee || "");
      if (turn.checks) { addFeedback(item, turn.trainee || "", turn); }
      if (turn.customer) { addCustomer(turn.customer); }
      if (session.mode === "coach") { setMood(turn.mood, turn.mood_change); }
      state.replies += 1;
    });
    // Replies this tab had not got answered before the reload: an answered one is in the turns.
    var answered = {};
    (data.answered || []).forEach(function (id) { answered[id] = true; });
    storedOutbox(data.conversation).forEach(function (saved) {
      if (!saved || answered[saved.id] || (saved.kind !== "message" && saved.kind !== "end")) { return; }
      queue(saved.kind, typeof saved.text === "string" ? saved.text : "", saved.id);
    });
    saveOutbox();
    ui.title.focus();
  });
}

/* ---- wiring ---- */

if (app) {
  wireNotices();
  listenForOnline();
  onAnswers(handleMessages, endedWithoutCard);

  ui.scenario.addEventListener("change", function () { describeChoice(true); });

  ui.setupForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!ui.scenario.value) {
      showNotice("Choose a scenario first.");
      ui.scenario.focus();
      return;
    }
    startSession({ scenario: ui.scenario.value, persona: checked("persona"), mode: checked("mode") });
  });

  ui.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    sendReply(ui.reply.value);
  });

  ui.reply.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply(ui.reply.value);
    }
  });
  ui.reply.addEventListener("input", updateCount);
  ui.end.addEventListener("click", endSession);
  ui.again.addEventListener("click", function () { if (state.choices) { startSession(state.choices); } });
  ui.fresh.addEventListener("click", function () {
    ui.scorecard.hidden = true;
    ui.chat.hidden = true;
    ui.setup.hidden = false;
    ui.scenario.focus();
  });

  updateCount();
  loadScenarios().then(restore);
}
