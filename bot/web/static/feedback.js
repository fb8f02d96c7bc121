/* The coach feedback under one reply: one focused tip with its example, what went well, and
 * every check folded away in a <details>. Loaded before chat.js, which calls
 * CoachFeedback.render(payload, checks) and puts the box under the trainee's reply.
 *
 * Everything in the payload is untrusted and reaches the page only through textContent.
 */
(function (root) {
  "use strict";

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }

  function strings(list) {
    return Array.isArray(list) ? list.filter(function (e) { return typeof e === "string" && e; }) : [];
  }

  function quote(evidence) {
    return evidence.map(function (e) { return "\u201c" + e + "\u201d"; }).join(", ");
  }

  function tagged(className, tag, text) {
    var line = el("li", className);
    line.appendChild(el("span", "fb-tag", tag));
    line.appendChild(document.createTextNode(" " + text));
    return line;
  }

  // The one thing to work on next, with an example that passed the checks on the server.
  function focusBlock(focus, spec) {
    var box = el("div", "fb-focus");
    var head = el("p", "fb-focus-tip");
    head.appendChild(el("span", "fb-tag", "Next"));
    head.appendChild(el("strong", null, " " + ((spec && spec.label) || String(focus.check || "")) + ": "));
    head.appendChild(document.createTextNode(String(focus.tip || "")));
    box.appendChild(head);
    if (typeof focus.example === "string" && focus.example) {
      var example = el("p", "fb-example");
      example.appendChild(el("span", "fb-example-label", "For example: "));
      example.appendChild(el("q", null, focus.example));
      box.appendChild(example);
    }
    return box;
  }

  // Every verdict, for those who want it all; marks collects the evidence to highlight.
  function allChecks(payload, checks, marks) {
    var list = el("ul", "feedback-list");
    var results = payload.checks || {};
    Object.keys(checks).forEach(function (name) {
      var result = results[name];
      if (!result) { return; }
      var spec = checks[name];
      var evidence = strings(result.evidence);
      var line = null;
      if (result.found && !spec.bad) {
        line = tagged("fb-good", "Done", spec.label + (evidence.length ? ": " + quote(evidence) : ""));
        evidence.forEach(function (e) { marks.push({ text: e, label: spec.label, bad: false }); });
      } else if (result.found && spec.bad) {
        line = tagged("fb-bad", "Avoid", spec.label + (evidence.length ? ": " + quote(evidence) : ""));
        if (result.tip) { line.appendChild(el("span", "fb-tip", " " + result.tip)); }
        evidence.forEach(function (e) { marks.push({ text: e, label: spec.label, bad: true }); });
      } else if (!spec.bad && result.tip) {
        line = tagged("fb-tip-line", "Tip", spec.label + ": " + result.tip);
      } else if (!spec.bad) {
        line = tagged("fb-none", "Not now", spec.label);
      }
      if (line) { list.appendChild(line); }
    });
    return list;
  }

  function render(payload, checks) {
    var marks = [];
    var box = el("section", "feedback");
    box.setAttribute("aria-label", "Coach feedback on reply " + (payload.turn || ""));
    box.appendChild(el("h3", "feedback-title", "Coach feedback"));
    if (payload.focus && typeof payload.focus === "object") {
      box.appendChild(focusBlock(payload.focus, checks[payload.focus.check]));
    }
    var praise = Array.isArray(payload.praise) ? payload.praise : [];
    if (praise.length) {
      var good = el("ul", "fb-praise");
      // Compact: the check's name and the words that earned it; the sentence when there are none.
      praise.forEach(function (p) {
        if (!p || typeof p.text !== "string") { return; }
        var evidence = strings(p.evidence).slice(0, 3);
        var spec = checks[p.check];
        var line = el("li", "fb-good");
        line.appendChild(el("span", "fb-tag", "Good"));
        line.appendChild(el("strong", null, " " + (spec ? spec.label : p.check) + ": "));
        line.appendChild(document.createTextNode(evidence.length ? quote(evidence) : p.text));
        line.title = p.text;
        good.appendChild(line);
      });
      box.appendChild(good);
    }
    if (!payload.focus && !praise.length) { box.appendChild(el("p", "hint", "Nothing to note on this reply.")); }
    var list = allChecks(payload, checks, marks);
    if (list.childNodes.length) {
      var details = el("details", "fb-all");
      details.appendChild(el("summary", null, "All checks on this reply (" + list.childNodes.length + ")"));
      details.appendChild(list);
      box.appendChild(details);
    }
    if (typeof payload.mood_change === "number" && payload.mood_change !== 0) {
      box.appendChild(el("p", "hint", "Customer mood " + (payload.mood_change > 0 ? "+" : "") + payload.mood_change + "."));
    }
    return { box: box, marks: marks };
  }

  root.CoachFeedback = { render: render };
})(typeof window !== "undefined" ? window : this);
