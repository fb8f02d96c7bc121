// The transcript's "next flagged reply" key: n jumps to the next flagged reply below the top of
// the window, p to the previous one. Without this script the links still jump (to the first
// flagged reply, and from each flagged reply to the next).
(function () {
  "use strict";
  var turns = Array.prototype.slice.call(document.querySelectorAll("[data-flagged]"));
  if (!turns.length) { return; }

  function go(step) {
    // The reply whose top is nearest below (or above) the current reading position.
    var line = 8;
    var target = null;
    if (step > 0) {
      target = turns.filter(function (t) { return t.getBoundingClientRect().top > line; })[0] || turns[0];
    } else {
      var above = turns.filter(function (t) { return t.getBoundingClientRect().top < -line; });
      target = above[above.length - 1] || turns[turns.length - 1];
    }
    location.hash = "#" + target.id;
    target.scrollIntoView({ block: "start" });
    var status = document.getElementById("flag-status");
    if (status) {
      // Said by screen readers: where the jump landed among the flagged replies.
      status.textContent = "Flagged reply " + (turns.indexOf(target) + 1) + " of " + turns.length + ".";
    }
    var heading = target.querySelector("h3");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  }

  var next = document.getElementById("next-flagged");
  if (next) {
    next.addEventListener("click", function (event) { event.preventDefault(); go(1); });
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    if (event.key === "n") { event.preventDefault(); go(1); }
    else if (event.key === "p") { event.preventDefault(); go(-1); }
  });
}());
