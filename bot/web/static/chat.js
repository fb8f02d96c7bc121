/* The practice chat: pick a scenario, talk to the simulated customer, read the feedback.
 *
 * Everything the customer, Rasa or the trainee wrote is untrusted and reaches the page only
 * through textContent (see el()), never parsed as HTML.
 *
 * Replies go into an outbox and leave it one at a time, each under an id made here: the order
 * on screen is the order sent, and the trainee can type the next reply while the customer
 * answers. A reply that could not be delivered stays in the outbox (and in sessionStorage, so a
 * reload keeps it too), marked as not delivered, and is sent again under the same id: the
 * server remembers the answer per id, so a reply Rasa already answered is never answered twice.
 */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) { return; }
  var maxChars = parseInt(app.getAttribute("data-max-chars"), 10) || 2000;

  function $(id) { return document.getElementById(id); }

  var ui = {
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

  var CHECKS = {
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
  var OUTCOMES = {
    resolved: "The customer accepted your plan.",
    churned: "The customer gave up and left.",
    escalated: "The customer asked for a manager.",
    abandoned: "You ended the conversation before it was settled."
  };
  var PERSONA_WORDS = { angry: "angry customer", dispassionate: "matter-of-fact customer" };
  var MODE_WORDS = { coach: "coach mode", assessment: "assessment mode" };
  // Refusals after which this page's conversation is gone: nothing queued can be delivered.
  var CONVERSATION_GONE = { no_session: true, session_over: true, conversation_changed: true, not_your_conversation: true };
  // Waits before each automatic retry of a reply the server could not take now (503: a Rasa
  // server restarting, or no network); after the last, that long again until it is delivered, so
  // the conversation goes on by itself once a server is back. "Retry now" skips the wait.
  var RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000];
  var STORE_PREFIX = "coach-outbox:";

  var state = {
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

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function detach(node) {
    if (node && node.parentNode) { node.parentNode.removeChild(node); }
  }

  /* ---- requests ---- */

  function request(method, path, body) {
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

  function retriable(result) { return result.status === 0 || result.status >= 500; }

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

  /* ---- notices (errors, never shown as a customer message) ---- */

  var retryAction = null;
  function showNotice(message, retry, options) {
    ui.noticeText.textContent = message;
    retryAction = retry || null;
    ui.retry.hidden = !retry;
    ui.notice.hidden = false;
    // Moving focus while the trainee types the next reply would swallow their keystrokes.
    if (retry && !(options && options.keepFocus)) { ui.retry.focus(); }
  }
  function hideNotice() {
    ui.notice.hidden = true;
    retryAction = null;
  }
  ui.retry.addEventListener("click", function () {
    var action = retryAction;
    hideNotice();
    if (action) { action(); }
  });
  ui.dismiss.addEventListener("click", hideNotice);

  /* ---- typing indicator and mood ---- */

  function setTyping(on) {
    ui.typingName.textContent = state.customerName;
    ui.typing.hidden = !on;
  }

  function moodWords(mood) {
    if (mood < 15) { return "furious"; }
    if (mood < 35) { return "upset"; }
    if (mood < 55) { return "calming down"; }
    if (mood < 75) { return "reassured"; }
    return "satisfied";
  }

  function setMood(mood, change) {
    if (typeof mood !== "number") { return; }
    ui.meter.value = mood;
    var words = mood + " of 100, " + moodWords(mood);
    if (typeof change === "number" && change !== 0) { words += " (" + (change > 0 ? "+" : "") + change + ")"; }
    ui.meter.textContent = words;
    ui.moodText.textContent = words;
  }

  /* ---- transcript ---- */

  function addItem(kind, who, text) {
    var item = el("li", "msg msg-" + kind);
    item.appendChild(el("span", "msg-who", who));
    var body = el("p", "msg-text", text);
    item.appendChild(body);
    ui.log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function addCustomer(text) { return addItem("customer", state.customerName + ":", text); }
  function addTrainee(text) { return addItem("trainee", "You:", text); }

  // Mark each piece of evidence inside the trainee's own words.
  function highlight(body, text, marks) {
    var lower = text.toLowerCase();
    if (lower.length !== text.length) { return; }  // case folding moved offsets: leave the text plain
    var ranges = [];
    marks.forEach(function (mark) {
      var needle = String(mark.text).toLowerCase();
      if (!needle) { return; }
      var from = 0;
      var at;
      while ((at = lower.indexOf(needle, from)) !== -1) {
        ranges.push({ start: at, end: at + needle.length, mark: mark });
        from = at + needle.length;
      }
    });
    if (!ranges.length) { return; }
    ranges.sort(function (a, b) { return a.start - b.start || b.end - a.end; });
    clear(body);
    var pos = 0;
    ranges.forEach(function (range) {
      if (range.start < pos) { return; }  // overlaps one already marked
      if (range.start > pos) { body.appendChild(document.createTextNode(text.slice(pos, range.start))); }
      var node = el("mark", range.mark.bad ? "bad" : "good", text.slice(range.start, range.end));
      node.title = range.mark.label;
      body.appendChild(node);
      pos = range.end;
    });
    if (pos < text.length) { body.appendChild(document.createTextNode(text.slice(pos))); }
  }

  var lastFeedback = null;

  // The box itself is drawn by feedback.js (one focused tip, praise, every check folded away).
  function addFeedback(item, text, payload) {
    var drawn = CoachFeedback.render(payload, CHECKS);
    // Only the newest feedback keeps its praise open: three replies must not push the tip away.
    if (lastFeedback) { lastFeedback.classList.add("older"); }
    lastFeedback = drawn.box;
    if (item) {
      highlight(item.querySelector(".msg-text"), text, drawn.marks);
      item.appendChild(drawn.box);
    } else {
      var wrapper = el("li", "msg msg-feedback");
      wrapper.appendChild(drawn.box);
      ui.log.appendChild(wrapper);
    }
  }

  /* ---- scorecard ---- */

  function showScorecard(card) {
    state.ended = true;
    dropOutbox("The conversation had ended before this reply was sent.");
    ui.composer.hidden = true;
    setTyping(false);
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

  function endedWithoutCard() {
    state.ended = true;
    dropOutbox("The conversation had ended before this reply was sent.");
    setTyping(false);
    ui.composer.hidden = true;
    ui.scorecard.hidden = true;
    ui.setup.hidden = false;
  }

  /* ---- the outbox: replies and the end, one at a time, each under its own id ---- */

  var outbox = [];       // [{id, kind: "message"|"end", text, conversation, item, attempts, waiting, timer}]
  var inFlight = null;

  function storage() {
    try { return typeof sessionStorage !== "undefined" ? sessionStorage : null; } catch (e) { return null; }
  }

  function saveOutbox() {
    var store = storage();
    if (!store || !state.conversation) { return; }
    var keep = outbox.filter(function (e) { return e.conversation === state.conversation; })
      .map(function (e) { return { id: e.id, kind: e.kind, text: e.text }; });
    try {
      if (keep.length) { store.setItem(STORE_PREFIX + state.conversation, JSON.stringify(keep)); }
      else { store.removeItem(STORE_PREFIX + state.conversation); }
    } catch (e) { /* storage full or refused: the outbox still lives in this page */ }
  }

  function storedOutbox(conversation) {
    var store = storage();
    if (!store) { return []; }
    try {
      var saved = JSON.parse(store.getItem(STORE_PREFIX + conversation) || "[]");
      return Array.isArray(saved) ? saved : [];
    } catch (e) { return []; }
  }

  function forgetStoredOutboxes() {
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
    clear(status);
    status.appendChild(document.createTextNode(text));
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

  function queue(kind, text, id) {
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
    var answered = handleMessages(data.messages || [], entry.item, entry.text);
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
      if (CONVERSATION_GONE[result.error.code]) { endedWithoutCard(); }
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

  // The browser says the network is back: do not wait out the back-off.
  if (typeof window !== "undefined" && window.addEventListener) {
    window.addEventListener("online", function () { if (outbox.length) { retryNow(outbox[0]); } });
  }

  // Take every queued reply out (a new conversation, or the old one ended); their words are not lost.
  function dropOutbox(reason) {
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

  function giveBack(text) {
    if (!text) { return; }
    var current = ui.reply.value.trim();
    if (current.indexOf(text) !== -1) { return; }
    ui.reply.value = current ? text + "\n" + current : text;
    updateCount();
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
    if (!outbox.some(function (e) { return e.noticed; })) { hideNotice(); }
    ui.reply.value = "";
    updateCount();
    queue("message", trimmed);
    ui.reply.focus();
  }

  function endSession() {
    if (state.ended || !state.conversation) { return; }
    if (outbox.some(function (e) { return e.kind === "end"; })) { return; }
    hideNotice();
    queue("end");
  }

  function updateCount() {
    var length = ui.reply.value.trim().length;
    ui.count.textContent = length + " / " + maxChars + " characters";
    ui.count.classList.toggle("over", length > maxChars);
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

  function loadScenarios() {
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

  function checked(name) {
    var input = ui.setupForm.querySelector("input[name='" + name + "']:checked");
    return input ? input.value : null;
  }

  function choose(name, value) {
    if (!value) { return; }
    var input = ui.setupForm.querySelector("input[name='" + name + "'][value='" + value + "']");
    if (input) { input.checked = true; }
  }

  // An assigned scenario comes with the persona and mode it is assigned in.
  function describeChoice(preselect) {
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

  /* ---- wiring ---- */

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
})();
