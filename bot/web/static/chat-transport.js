/* Talking to the web app: JSON requests, and the outbox that delivers the trainee's replies.
 *
 * Replies go into an outbox and leave it one at a time, each under an id made here: the order
 * on screen is the order sent, and the trainee can type the next reply while the customer
 * answers. A reply that could not be delivered stays in the outbox (and in sessionStorage, so a
 * reload keeps it too), marked as not delivered, and is sent again under the same id: the
 * server remembers the answer per id, so a reply Rasa already answered is never answered twice.
 */
import { CONVERSATION_GONE, detach, el, hideNotice, showNotice, state, ui } from "./chat-page.js";
import { addTrainee, giveBack, setTyping } from "./chat-render.js";

// Waits before each automatic retry of a reply the server could not take now (503: a Rasa
// server restarting, or no network); after the last, that long again until it is delivered, so
// the conversation goes on by itself once a server is back. "Retry now" skips the wait.
var RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000];
var STORE_PREFIX = "coach-outbox:";

/* ---- requests ---- */

export function request(method, path, body) {
  var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return fetch(path, options).then(function (response) {
    return response.json().catch(function () { return null; }).then(function (data) {
      if (response.ok && data) { return { ok: true, data: data }; }
      var error = (data && data.error) || {
        code: "http_" + response.status,
        message: "The practice chat answered with an error (HTTP " + response.status + "). Try again."
      };
      return { ok: false, status: response.status, error: error };
    });
  }, function () {
    return { ok: false, status: 0, error: {
      code: "web_down", message: "The practice chat cannot be reached. Check your connection."
    } };
  });
}

export function retriable(result) { return result.status === 0 || result.status >= 500; }

function newId() {
  var bytes = [];
  var cryptoApi = typeof crypto !== "undefined" && crypto && crypto.getRandomValues ? crypto : null;
  if (cryptoApi) {
    var buffer = new Uint8Array(16);
    cryptoApi.getRandomValues(buffer);
    for (var i = 0; i < buffer.length; i++) { bytes.push(buffer[i]); }
  } else {
    for (var j = 0; j < 16; j++) { bytes.push(Math.floor(Math.random() * 256)); }
  }
  return bytes.map(function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
}

/* ---- the outbox: replies and the end, one at a time, each under its own id ---- */

var outbox = [];       // [{id, kind: "message"|"end", text, conversation, item, attempts, waiting, timer}]
var inFlight = null;
// What the conversation does with an answer, and when the server says it is gone (chat.js).
var answers = { handle: null, ended: null };

export function onAnswers(handle, ended) {
  answers.handle = handle;
  answers.ended = ended;
}

export function outboxHas(test) { return outbox.some(test); }

function storage() {
  try { return typeof sessionStorage !== "undefined" ? sessionStorage : null; } catch (e) { return null; }
}

export function saveOutbox() {
  var store = storage();
  if (!store || !state.conversation) { return; }
  var keep = outbox.filter(function (e) { return e.conversation === state.conversation; })
    .map(function (e) { return { id: e.id, kind: e.kind, text: e.text }; });
  try {
    if (keep.length) { store.setItem(STORE_PREFIX + state.conversation, JSON.stringify(keep)); }
    else { store.removeItem(STORE_PREFIX + state.conversation); }
  } catch (e) { /* storage full or refused: the outbox still lives in this page */ }
}

export function storedOutbox(conversation) {
  var store = storage();
  if (!store) { return []; }
  try {
    var saved = JSON.parse(store.getItem(STORE_PREFIX + conversation) || "[]");
    return Array.isArray(saved) ? saved : [];
  } catch (e) { return []; }
}

export function forgetStoredOutboxes() {
  var store = storage();
  if (!store) { return; }
  try {
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(STORE_PREFIX) === 0) { store.removeItem(key); }
    }
  } catch (e) { /* nothing to forget */ }
}

function setStatus(entry, text, retryButton) {
  if (!entry.item) { return; }
  var status = entry.item.querySelector(".msg-status");
  if (!status) {
    status = el("span", "msg-status");
    entry.item.appendChild(status);
  }
  status.textContent = text;  // replaces the earlier status and its Retry button
  if (retryButton) {
    var button = el("button", "retry-one secondary", "Retry now");
    button.type = "button";
    button.addEventListener("click", function () { retryNow(entry); });
    status.appendChild(document.createTextNode(" "));
    status.appendChild(button);
  }
}

function clearStatus(entry) {
  if (!entry.item) { return; }
  entry.item.classList.remove("pending");
  entry.item.classList.remove("undelivered");
  detach(entry.item.querySelector(".msg-status"));
}

export function queue(kind, text, id) {
  var entry = { id: id || newId(), kind: kind, text: text || "", conversation: state.conversation, attempts: 0 };
  if (kind === "message") {
    entry.item = addTrainee(entry.text);
    entry.item.classList.add("pending");
    setStatus(entry, "Waiting to send…");
  } else {
    ui.end.disabled = true;
  }
  outbox.push(entry);
  saveOutbox();
  pump();
  return entry;
}

function pump() {
  if (inFlight || !outbox.length) { return; }
  var entry = outbox[0];
  if (entry.waiting) { return; }
  inFlight = entry;
  entry.attempts += 1;
  setStatus(entry, "Sending…");
  setTyping(entry.kind === "message");
  var body = { message_id: entry.id, conversation: entry.conversation };
  if (entry.kind === "message") { body.text = entry.text; }
  request("POST", entry.kind === "end" ? "/api/end" : "/api/message", body).then(function (result) {
    inFlight = null;
    setTyping(false);
    if (entry.dropped) { pump(); return; }
    if (result.ok) { delivered(entry, result.data); } else { failed(entry, result); }
    pump();
  });
}

function delivered(entry, data) {
  outbox.shift();
  saveOutbox();
  if (entry.noticed) { hideNotice(); }
  clearStatus(entry);
  if (entry.kind === "end") { ui.end.disabled = false; }
  var answered = answers.handle(data.messages || [], entry.item, entry.text);
  if (entry.kind === "message") {
    if (answered || (entry.item && entry.item.querySelector(".feedback"))) {
      state.replies += 1;
    } else if (entry.item) {
      detach(entry.item);  // refused by the practice server: the notice says why
      giveBack(entry.text);
    }
  }
}

function failed(entry, result) {
  if (!retriable(result)) {
    // Refused for good: out of the queue, and the words go back into the box.
    outbox.shift();
    saveOutbox();
    detach(entry.item);
    if (entry.kind === "end") { ui.end.disabled = false; }
    var message = result.error.message;
    if (result.status === 401) { message = "You are signed out. Sign in again (reload the page), then send your reply again."; }
    if (entry.kind === "message") { giveBack(entry.text); }
    showNotice(message);
    if (CONVERSATION_GONE[result.error.code]) { answers.ended(); }
    return;
  }
  entry.waiting = true;
  entry.noticed = true;
  var automatic = result.status === 0 || result.status === 503;
  var what = entry.kind === "end" ? "Ending the conversation" : "Your reply";
  var message = result.error.message + " " + what + " is kept and was not delivered yet.";
  if (automatic) {
    var delay = RETRY_DELAYS[Math.min(entry.attempts, RETRY_DELAYS.length) - 1];
    message += " Trying again in " + Math.round(delay / 1000) + " s.";
    entry.timer = setTimeout(function () { retryNow(entry); }, delay);
  }
  if (entry.item) {
    entry.item.classList.remove("pending");
    entry.item.classList.add("undelivered");
    setStatus(entry, automatic ? "Kept, not delivered yet: sent again by itself when the server answers…" : "Not delivered.", true);
  }
  showNotice(message, function () { retryNow(entry); }, { keepFocus: true });
}

function retryNow(entry) {
  if (entry.timer) { clearTimeout(entry.timer); }
  entry.timer = null;
  if (outbox[0] !== entry || inFlight) { return; }
  entry.waiting = false;
  hideNotice();
  if (entry.item) {
    entry.item.classList.remove("undelivered");
    entry.item.classList.add("pending");
  }
  pump();
}

// The browser says the network is back: do not wait out the back-off. Called once, at the start.
export function listenForOnline() {
  if (typeof window !== "undefined" && window.addEventListener) {
    window.addEventListener("online", function () { if (outbox.length) { retryNow(outbox[0]); } });
  }
}

// Take every queued reply out (a new conversation, or the old one ended); their words are not lost.
export function dropOutbox(reason) {
  var dropped = outbox;
  outbox = [];
  dropped.forEach(function (entry) {
    entry.dropped = true;
    if (entry.timer) { clearTimeout(entry.timer); }
    if (entry.kind === "message") {
      detach(entry.item);
      giveBack(entry.text);
    }
  });
  ui.end.disabled = false;
  if (dropped.some(function (e) { return e.kind === "message"; }) && reason) {
    showNotice(reason + " Your words are back in the reply box.");
  }
  saveOutbox();
}
