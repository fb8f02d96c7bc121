/* The practice chat: pick a scenario, talk to the simulated customer, read the feedback.
 *
 * Everything the customer, Rasa or the trainee wrote is untrusted and reaches the page only
 * through textContent (see el()), never parsed as HTML.
 * Requests go out one at a time (enqueue), so the order on screen is the order sent, and a
 * reply stays in the box until the customer has answered it.
 */
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) { return; }
  var maxChars = parseInt(app.getAttribute("data-max-chars"), 10) || 2000;

  function $(id) { return document.getElementById(id); }

  var ui = {
    setup: $("setup"), setupForm: $("setup-form"), scenario: $("scenario"), start: $("start-button"),
    chat: $("chat"), title: $("chat-title"), subtitle: $("chat-subtitle"),
    meter: $("mood-meter"), moodText: $("mood-text"),
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
    jargon: { label: "Jargon", bad: true }
  };
  var OUTCOMES = {
    resolved: "The customer accepted your plan.",
    churned: "The customer gave up and left.",
    escalated: "The customer asked for a manager.",
    abandoned: "You ended the conversation before it was settled."
  };

  var state = {
    choices: null,      // {scenario, persona, mode} of the running or last session
    customerName: "The customer",
    sending: false,     // a reply is on its way and not yet answered
    ended: false,
    replies: 0,
    turnLimit: null
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

  /* ---- requests, one at a time ---- */

  var chain = Promise.resolve();
  function enqueue(task) {
    var run = chain.then(task, task);
    chain = run.catch(function () {});
    return run;
  }

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
        code: "web_down", message: "The practice chat cannot be reached. Check your connection and try again."
      } };
    });
  }

  /* ---- notices (errors, never shown as a customer message) ---- */

  var retryAction = null;
  function showNotice(message, retry) {
    ui.noticeText.textContent = message;
    retryAction = retry || null;
    ui.retry.hidden = !retry;
    ui.notice.hidden = false;
    if (retry) { ui.retry.focus(); }
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

  function quote(evidence) {
    return evidence.map(function (e) { return "\u201c" + e + "\u201d"; }).join(", ");
  }

  function addFeedback(item, text, payload) {
    var checks = payload.checks || {};
    var list = el("ul", "feedback-list");
    var marks = [];
    Object.keys(CHECKS).forEach(function (name) {
      var result = checks[name];
      if (!result) { return; }
      var spec = CHECKS[name];
      var evidence = Array.isArray(result.evidence) ? result.evidence.filter(function (e) { return typeof e === "string"; }) : [];
      var line;
      if (result.found && !spec.bad) {
        line = el("li", "fb-good");
        line.appendChild(el("span", "fb-tag", "Done"));
        line.appendChild(document.createTextNode(" " + spec.label + (evidence.length ? ": " + quote(evidence) : "")));
        evidence.forEach(function (e) { marks.push({ text: e, label: spec.label, bad: false }); });
      } else if (result.found && spec.bad) {
        line = el("li", "fb-bad");
        line.appendChild(el("span", "fb-tag", "Avoid"));
        line.appendChild(document.createTextNode(" " + spec.label + (evidence.length ? ": " + quote(evidence) : "")));
        if (result.tip) { line.appendChild(el("span", "fb-tip", " " + result.tip)); }
        evidence.forEach(function (e) { marks.push({ text: e, label: spec.label, bad: true }); });
      } else if (!spec.bad && result.tip) {
        line = el("li", "fb-tip-line");
        line.appendChild(el("span", "fb-tag", "Tip"));
        line.appendChild(document.createTextNode(" " + spec.label + ": " + result.tip));
      }
      if (line) { list.appendChild(line); }
    });
    var box = el("section", "feedback");
    box.setAttribute("aria-label", "Coach feedback on reply " + (payload.turn || ""));
    box.appendChild(el("h3", "feedback-title", "Coach feedback"));
    if (list.childNodes.length) { box.appendChild(list); }
    else { box.appendChild(el("p", "hint", "Nothing to note on this reply.")); }
    if (typeof payload.mood_change === "number" && payload.mood_change !== 0) {
      box.appendChild(el("p", "hint", "Customer mood " + (payload.mood_change > 0 ? "+" : "") + payload.mood_change + "."));
    }
    if (item) {
      highlight(item.querySelector(".msg-text"), text, marks);
      item.appendChild(box);
    } else {
      var wrapper = el("li", "msg msg-feedback");
      wrapper.appendChild(box);
      ui.log.appendChild(wrapper);
    }
  }

  /* ---- scorecard ---- */

  function showScorecard(card) {
    state.ended = true;
    ui.composer.hidden = true;
    setTyping(false);
    var score = typeof card.score === "number" ? card.score : 0;
    ui.scoreSummary.textContent = "Score " + score + " / 100: " + (card.passed ? "passed" : "not passed yet") +
      (typeof card.pass_mark === "number" ? " (pass mark " + card.pass_mark + ")." : ".");
    ui.scoreSummary.className = "score-summary " + (card.passed ? "passed" : "failed");
    ui.scoreOutcome.textContent = OUTCOMES[card.outcome] || ("Outcome: " + (card.outcome || "unknown") + ".");
    clear(ui.scoreRows);
    var criteria = card.criteria || {};
    Object.keys(criteria).forEach(function (name) {
      var c = criteria[name] || {};
      var row = el("tr", c.met ? "met" : "unmet");
      var label = el("th", null, c.label || name.replace(/_/g, " "));
      label.scope = "row";
      row.appendChild(label);
      row.appendChild(el("td", null, (c.points || 0) + " / " + (c.weight || 0) + (c.met ? " (met)" : " (not met)")));
      row.appendChild(el("td", null, c.explanation || ""));
      ui.scoreRows.appendChild(row);
    });
    ui.scorecard.hidden = false;
    ui.scoreTitle.focus();
  }

  /* ---- one answer from the relay ---- */

  // Returns true when the customer answered (a text came back).
  function handleMessages(messages, traineeItem, traineeText) {
    var answered = false;
    var pendingCard = null;
    messages.forEach(function (m) {
      if (m.kind === "text") {
        addCustomer(m.text);
        answered = true;
        return;
      }
      var p = m.payload || {};
      if (p.type === "session_started") {
        state.customerName = p.customer_name || "The customer";
        state.turnLimit = p.turn_limit || null;
        ui.title.textContent = p.title ? p.title : "Conversation with " + state.customerName;
        ui.subtitle.textContent = "Customer: " + state.customerName + ". Persona: " + p.persona +
          ". Mode: " + (p.mode === "coach" ? "coach (feedback after each reply)" : "assessment (score at the end)") + ".";
        setMood(p.mood);
      } else if (p.type === "feedback") {
        addFeedback(traineeItem, traineeText || "", p);
        setMood(p.mood, p.mood_change);
      } else if (p.type === "scorecard") {
        pendingCard = p;
      } else if (p.type === "error") {
        showNotice(p.message || ("The practice server refused that (" + p.code + ")."));
        if (p.code === "session_over" || p.code === "no_session") { endedWithoutCard(); }
      }
    });
    if (pendingCard) { showScorecard(pendingCard); }
    return answered;
  }

  function endedWithoutCard() {
    state.ended = true;
    ui.composer.hidden = true;
    ui.scorecard.hidden = true;
    ui.setup.hidden = false;
  }

  /* ---- actions ---- */

  function setBusy(busy) {
    state.sending = busy;
    ui.reply.readOnly = busy;
    ui.send.disabled = busy;
    ui.composer.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function startSession(choices) {
    hideNotice();
    ui.start.disabled = true;
    return enqueue(function () {
      return request("POST", "/api/session", choices).then(function (result) {
        ui.start.disabled = false;
        if (!result.ok) {
          showNotice(result.error.message, result.status >= 500 || result.status === 0 ? function () { startSession(choices); } : null);
          return;
        }
        var started = result.data.messages.some(function (m) { return m.kind === "custom" && m.payload && m.payload.type === "session_started"; });
        if (!started) {
          handleMessages(result.data.messages);  // shows Rasa's error notice
          return;
        }
        state.choices = choices;
        state.ended = false;
        state.replies = 0;
        clear(ui.log);
        ui.reply.value = "";
        updateCount();
        ui.setup.hidden = true;
        ui.scorecard.hidden = true;
        ui.composer.hidden = false;
        ui.chat.hidden = false;
        setBusy(false);
        handleMessages(result.data.messages);
        ui.reply.focus();
      });
    });
  }

  function sendReply(text) {
    if (state.sending || state.ended) { return; }
    var trimmed = text.trim();
    if (!trimmed) { showNotice("Your reply is empty: type what you would say to the customer."); return; }
    if (trimmed.length > maxChars) {
      showNotice("Your reply is " + trimmed.length + " characters long; the limit is " + maxChars + ". Shorten it and send it again.");
      return;
    }
    hideNotice();
    setBusy(true);
    var item = addItem("trainee", "You:", trimmed);
    item.classList.add("pending");
    var status = el("span", "msg-status", "Sending…");
    item.appendChild(status);
    enqueue(function () {
      setTyping(true);
      return request("POST", "/api/message", { text: trimmed }).then(function (result) {
        setTyping(false);
        item.classList.remove("pending");
        if (status.parentNode) { status.parentNode.removeChild(status); }
        if (!result.ok) {
          // Not answered: take the bubble back; the words stay in the box for the retry.
          item.parentNode.removeChild(item);
          setBusy(false);
          var retriable = result.status >= 500 || result.status === 0;
          showNotice(result.error.message, retriable ? function () { ui.reply.value = text; updateCount(); sendReply(text); } : null);
          if (result.error.code === "no_session") { endedWithoutCard(); }
          return;
        }
        var answered = handleMessages(result.data.messages, item, trimmed);
        setBusy(false);
        if (answered) {
          state.replies += 1;
          if (ui.reply.value === text) { ui.reply.value = ""; }
          updateCount();
          if (!state.ended) { ui.reply.focus(); }
        } else if (item.parentNode && !item.querySelector(".feedback")) {
          item.parentNode.removeChild(item);  // refused by the server: the notice says why
        }
      });
    });
  }

  function endSession() {
    if (state.ended) { return; }
    hideNotice();
    ui.end.disabled = true;
    enqueue(function () {
      return request("POST", "/api/end", {}).then(function (result) {
        ui.end.disabled = false;
        if (!result.ok) {
          showNotice(result.error.message, result.status >= 500 || result.status === 0 ? endSession : null);
          if (result.error.code === "no_session") { endedWithoutCard(); }
          return;
        }
        handleMessages(result.data.messages);
      });
    });
  }

  function updateCount() {
    var length = ui.reply.value.trim().length;
    ui.count.textContent = length + " / " + maxChars + " characters";
    ui.count.classList.toggle("over", length > maxChars);
  }

  /* ---- scenario list ---- */

  function loadScenarios() {
    return request("GET", "/api/scenarios").then(function (result) {
      clear(ui.scenario);
      if (!result.ok) {
        ui.scenario.appendChild(el("option", null, "No scenarios available"));
        ui.scenario.firstChild.value = "";
        showNotice(result.error.message, loadScenarios);
        return;
      }
      var placeholder = el("option", null, "Choose a scenario");
      placeholder.value = "";
      ui.scenario.appendChild(placeholder);
      result.data.scenarios.forEach(function (s) {
        var option = el("option", null, s.title + " (customer: " + s.customer_name + ")");
        option.value = s.id;
        ui.scenario.appendChild(option);
      });
      if (result.data.scenarios.length === 1) { ui.scenario.selectedIndex = 1; }
    });
  }

  function checked(name) {
    var input = ui.setupForm.querySelector("input[name='" + name + "']:checked");
    return input ? input.value : null;
  }

  /* ---- wiring ---- */

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
  loadScenarios();
})();
