/* Drawing the conversation: the transcript with the feedback under each reply (evidence marked
 * in the trainee's own words), the typing indicator and the reply box's count.
 *
 * Untrusted words reach the page only through textContent (el() in chat-page.js).
 */
import { CHECKS, clear, el, maxChars, state, ui } from "./chat-page.js";

/* ---- typing indicator and the reply box ---- */

export function setTyping(on) {
  ui.typingName.textContent = state.customerName;
  ui.typing.hidden = !on;
}

export function updateCount() {
  var length = ui.reply.value.trim().length;
  ui.count.textContent = length + " / " + maxChars + " characters";
  ui.count.classList.toggle("over", length > maxChars);
}

// Words that could not be delivered go back into the reply box, before what is typed there.
export function giveBack(text) {
  if (!text) { return; }
  var current = ui.reply.value.trim();
  if (current.indexOf(text) !== -1) { return; }
  ui.reply.value = current ? text + "\n" + current : text;
  updateCount();
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

export function addCustomer(text) { return addItem("customer", state.customerName + ":", text); }
export function addTrainee(text) { return addItem("trainee", "You:", text); }

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
export function addFeedback(item, text, payload) {
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
