// The labelling view of annotate_app.py as a Streamlit component (st.components.v2): the open
// document's paragraphs, the highlight on the current one, and a label bar that stays at the
// bottom of the window.
//
// A key is handled here the moment it is pressed: the highlight moves and your label shows
// at once, and an event naming the document (id + text sha256), the paragraph, the label, the
// annotator and where the cursor went is appended to a queue. The whole unacknowledged queue
// goes to Python with every new key (one state value, so runs that Streamlit merges lose
// nothing); Python applies the events it has not applied yet, in order
// (segmenter/labelling/keyqueue.py), and says how far it got ("acks"). What the screen shows
// is Python's last state with the queued events replayed on top.
//
// Keys that need Python to draw the next screen (another document, a range, the confident
// suggestions, an undo of a step on another document) wait for it; a key pressed meanwhile is
// refused with a notice, so no key lands on a paragraph the screen did not show.
//
// Text from Python (the document's paragraphs, names, messages) is only ever set as
// textContent, never as HTML.

const S =
  globalThis.__segmenterKeys ||
  (globalThis.__segmenterKeys = {
    nonce: Math.random().toString(36).slice(2) + Date.now().toString(36),
    seq: 0,
    pending: [], // events not acknowledged by Python, oldest first
    d: null, // Python's last data
    cursor: 0,
    docKey: null,
    view: null,
    waitFor: 0, // seq of an event whose result only Python can draw
    waitWhat: "",
    mounted: false,
    send: null,
    ui: null,
    notice: "",
    noticeKind: "",
    installed: false,
    sendTimer: null,
  });

const TYPING_INPUTS = ["button", "checkbox", "radio", "range", "submit", "reset", "file", "color", "image"];

function deepTarget(e) {
  const path = e.composedPath ? e.composedPath() : [];
  return path.length ? path[0] : e.target;
}

function isTyping(t) {
  if (!t || !t.tagName) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return !TYPING_INPUTS.includes((t.type || "text").toLowerCase());
  const role = t.getAttribute ? t.getAttribute("role") : null;
  return role === "combobox" || role === "textbox" || role === "spinbutton" || role === "listbox";
}

function nameInBox() {
  // the name box's text while it is not being edited (null: no box, or being typed in)
  const label = S.d && S.d.name_field;
  if (!label) return null;
  for (const input of document.querySelectorAll("input")) {
    if (input.getAttribute("aria-label") === label) {
      return document.activeElement === input ? null : (input.value || "").trim();
    }
  }
  return null;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// -- what the screen shows: Python's state with the queued events replayed ------------------
function curDoc() {
  return S.d && S.d.doc ? S.d.doc : null;
}

function sameDoc(ev) {
  const doc = curDoc();
  return !!doc && ev.doc === doc.id && ev.sha === doc.sha;
}

function project() {
  const d = S.d;
  const labels = d ? d.paras.map((p) => p[1]) : [];
  const stack = d ? d.undo.slice() : [];
  for (const ev of S.pending) {
    if (ev.type === "label") {
      const here = sameDoc(ev);
      stack.push({
        doc: ev.doc,
        sha: ev.sha,
        cursor_doc: ev.doc,
        cursor_sha: ev.sha,
        cursor: ev.index,
        items: [[ev.index, here ? labels[ev.index] : null]],
        adjudicated: false,
      });
      if (here) labels[ev.index] = ev.label;
    } else if (ev.type === "undo") {
      const e = stack.pop();
      if (e && !e.adjudicated && e.doc === (curDoc() || {}).id && e.sha === (curDoc() || {}).sha) {
        for (const [i, before] of e.items) labels[i] = before;
      }
    }
  }
  return { labels, stack };
}

function nextUnlabelled(labels, after) {
  const n = labels.length;
  for (let k = 1; k <= n; k++) {
    const i = (after + k) % n;
    if (labels[i] === null || labels[i] === undefined) return i;
  }
  return null;
}

// -- keys -------------------------------------------------------------------------------
function actionFor(e) {
  const d = S.d;
  if (!d) return null;
  const k = e.key;
  for (const lab of d.labels) if (lab.key === k) return { type: "label", label: lab.name, key: k };
  switch (k) {
    case "Enter":
      return { type: "accept", key: "Enter" };
    case "u":
      return { type: "undo", key: k };
    case "j":
      return { type: "move", delta: 1, key: k };
    case "k":
      return { type: "move", delta: -1, key: k };
    case "l":
      return { type: "unlabelled", key: k };
    case "n":
      return { type: "document", delta: 1, key: k };
    case "p":
      return { type: "document", delta: -1, key: k };
    case "a":
      return { type: "accept_above", key: k };
    case "b":
      return { type: "bulk", key: k };
    default:
      return null;
  }
}

function onKeyDown(e) {
  if (!S.mounted || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  if (isTyping(deepTarget(e))) return;
  const a = actionFor(e);
  if (!a) return;
  e.preventDefault(); // Enter on a focused button must not click it as well
  if (e.repeat && a.type !== "move") return; // a held key labels one paragraph, not a run of them
  act(a);
}

function say(text, kind) {
  S.notice = text || "";
  S.noticeKind = kind || "";
  paintNotice();
}

function push(ev, waits, what) {
  const d = S.d;
  const doc = curDoc();
  S.seq += 1;
  const full = Object.assign(
    { seq: S.seq, annotator: d.annotator, doc: doc ? doc.id : null, sha: doc ? doc.sha : null },
    ev,
  );
  S.pending.push(full);
  if (waits) {
    S.waitFor = full.seq;
    S.waitWhat = what;
  }
  // a move only tells Python where the cursor is: it waits for a pause (or the next
  // decision), so a run of j/k starts no run of the script per key
  sendQueue(full.type === "move" ? 350 : 0);
  return full;
}

function sendQueue(delay) {
  clearTimeout(S.sendTimer);
  const go = () => {
    S.sendTimer = null;
    if (S.send) S.send("queue", { nonce: S.nonce, events: S.pending.slice() });
  };
  // after the frame that shows the key: sending starts Streamlit's own work on this thread
  if (delay) S.sendTimer = setTimeout(go, delay);
  else requestAnimationFrame(() => {
    S.sendTimer = setTimeout(go, 0);
  });
}

function act(a) {
  const d = S.d;
  const doc = curDoc();
  if (!d || !doc || !d.paras.length) {
    say("no document open: choose one in the sidebar", "warn");
    return;
  }
  const boxed = nameInBox();
  if (boxed !== null && boxed !== d.annotator) {
    // the key would be stored under the name the page last drew, not the one in the box
    say(`"${a.key}" not applied: the name box says "${boxed}", the page still labels as "${d.annotator}"; press Enter in the name box`, "warn");
    return;
  }
  if (S.waitFor) {
    say(`"${a.key}" not applied: waiting for ${S.waitWhat}; press it again once it shows`, "warn");
    return;
  }
  const { labels, stack } = project();
  const cur = S.cursor;
  if (a.type === "label" || a.type === "accept") {
    if (!d.annotator) {
      say("enter your name in the sidebar to label", "warn");
      return;
    }
    let label = a.label;
    if (a.type === "accept") {
      label = d.paras[cur][2];
      if (!label) {
        say("no model loaded: no suggestion to accept", "warn");
        return;
      }
    }
    labels[cur] = label;
    let next = cur;
    let waits = false;
    let note = "";
    if (d.mode === "queue") {
      const item = d.queue.find(
        ([pos, i]) => !(pos === d.doc_pos && (i === cur || (labels[i] !== null && labels[i] !== undefined))),
      );
      if (!item) note = "the uncertainty queue is empty: every paragraph is labelled";
      else if (item[0] === d.doc_pos) next = item[1];
      else waits = true;
    } else {
      const n = nextUnlabelled(labels, cur);
      if (n === null) note = "every paragraph of this document is labelled";
      else next = n;
    }
    push({ type: "label", key: a.key, index: cur, label, cursor: next }, waits, "the next document in the queue");
    S.cursor = next;
    say(note || `${label} on ¶${cur}`, note ? "info" : "");
  } else if (a.type === "undo") {
    const e = stack[stack.length - 1];
    if (!e) {
      say("nothing to undo", "info");
      return;
    }
    const here = e.cursor_doc === doc.id && e.cursor_sha === doc.sha;
    push({ type: "undo", key: a.key, expect: [e.doc, e.items[0][0]], cursor: here ? e.cursor : cur }, !here, "the undone step's document");
    if (here) S.cursor = e.cursor;
    say(`undone: ${e.description || `${e.items.length} decision(s)`}`, "info");
  } else if (a.type === "move" || a.type === "unlabelled") {
    let next = cur;
    if (a.type === "move") next = Math.max(0, Math.min(d.paras.length - 1, cur + a.delta));
    else {
      const n = nextUnlabelled(labels, cur);
      if (n === null) say("every paragraph of this document is labelled", "info");
      else next = n;
    }
    if (next === cur) {
      paint();
      return;
    }
    S.cursor = next;
    push({ type: "move", key: a.key, cursor: next });
    say("", "");
  } else if (a.type === "document") {
    const to = d.doc_pos + a.delta;
    if (to < 0 || to >= d.doc_count) {
      say(a.delta > 0 ? "this is the last document" : "this is the first document", "info");
      return;
    }
    push({ type: "document", key: a.key, delta: a.delta }, true, "the next document");
    say("opening the document …", "info");
  } else if (a.type === "accept_above" || a.type === "bulk") {
    if (!d.annotator) {
      say("enter your name in the sidebar to label", "warn");
      return;
    }
    if (a.type === "accept_above" && !d.model) {
      say("no model loaded: no suggestions to accept", "warn");
      return;
    }
    push({ type: a.type, key: a.key }, true, a.type === "bulk" ? "the range to be labelled" : "the confident suggestions");
    say(a.type === "bulk" ? "labelling the range …" : "accepting the confident suggestions …", "info");
  }
  paint();
}

// -- data from Python -------------------------------------------------------------------------
function onData(d) {
  const prevDocKey = S.docKey;
  S.d = d;
  const ack = (d.acks && d.acks[S.nonce]) || 0;
  S.pending = S.pending.filter((ev) => ev.seq > ack);
  if (S.waitFor && ack >= S.waitFor) {
    S.waitFor = 0;
    S.waitWhat = "";
  }
  const doc = curDoc();
  const docKey = doc ? `${doc.id}\u0000${doc.sha}` : null;
  if (docKey !== prevDocKey || d.view !== S.view) {
    // Python moved the view itself: follow it, unless keys pressed since are still queued
    const last = S.pending[S.pending.length - 1];
    S.cursor = last && sameDoc(last) && last.cursor !== undefined ? last.cursor : d.cursor;
  }
  S.cursor = Math.max(0, Math.min(Math.max(0, d.paras.length - 1), S.cursor));
  S.docKey = docKey;
  S.view = d.view;
  const problems = d.problems || [];
  if (problems.length) say(problems.join(" · "), "error");
  else if (d.message && !S.pending.length && !S.waitFor) say(d.message, "info");
  return docKey !== prevDocKey;
}

// -- drawing ----------------------------------------------------------------------------------
function button(act, key, label, cls) {
  const b = el("button", cls || "");
  b.type = "button";
  b.tabIndex = -1; // a click leaves the keys to the page, not to a focused button
  b.dataset.act = act;
  b.appendChild(el("kbd", "", key));
  b.appendChild(el("span", "lbl", label));
  b.addEventListener("mousedown", (e) => e.preventDefault());
  return b;
}

function build(root) {
  // only this view's own element: Streamlit keeps the component's stylesheet beside it
  for (const old of root.querySelectorAll(":scope > .segk")) old.remove();
  const wrap = el("div", "segk");
  const list = el("ol", "paras");
  list.dataset.testid = "segk-paras";
  const bar = el("div", "bar");
  bar.dataset.testid = "segk-bar";
  const row1 = el("div", "row");
  for (const lab of S.d.labels) {
    const b = button(`label:${lab.name}`, lab.key, lab.name, "lab");
    b.style.setProperty("--c", lab.color);
    row1.appendChild(b);
  }
  const accept = button("accept", "Enter", "accept suggestion", "primary");
  row1.appendChild(accept);
  row1.appendChild(button("undo", "u", "undo", "nav"));
  const row2 = el("div", "row");
  for (const [a, k, t] of [
    ["prev", "k", "previous ¶"],
    ["next", "j", "next ¶"],
    ["unl", "l", "next unlabelled"],
    ["pdoc", "p", "previous document"],
    ["ndoc", "n", "next document"],
    ["above", "a", "accept confident"],
    ["bulk", "b", "label range"],
  ])
    row2.appendChild(button(a, k, t, "nav"));
  const status = el("div", "status");
  const where = el("span", "where");
  where.dataset.testid = "segk-where";
  const notice = el("span", "notice");
  notice.dataset.testid = "segk-notice";
  notice.setAttribute("aria-live", "polite");
  status.appendChild(where);
  status.appendChild(notice);
  bar.appendChild(row1);
  bar.appendChild(row2);
  bar.appendChild(status);
  bar.addEventListener("click", (e) => {
    const b = e.target.closest ? e.target.closest("button") : null;
    if (!b || b.disabled) return;
    const x = b.dataset.act;
    const map = {
      accept: { type: "accept", key: "Enter" },
      undo: { type: "undo", key: "u" },
      prev: { type: "move", delta: -1, key: "k" },
      next: { type: "move", delta: 1, key: "j" },
      unl: { type: "unlabelled", key: "l" },
      pdoc: { type: "document", delta: -1, key: "p" },
      ndoc: { type: "document", delta: 1, key: "n" },
      above: { type: "accept_above", key: "a" },
      bulk: { type: "bulk", key: "b" },
    };
    if (x.startsWith("label:")) {
      const name = x.slice(6);
      const lab = S.d.labels.find((l) => l.name === name);
      act({ type: "label", label: name, key: lab ? lab.key : name });
    } else if (map[x]) act(map[x]);
  });
  wrap.appendChild(list);
  wrap.appendChild(bar);
  root.appendChild(wrap);
  S.ui = { root, wrap, list, bar, accept, where, notice, rows: [], shown: -1 };
}

function fillRows() {
  const ui = S.ui;
  while (ui.list.firstChild) ui.list.removeChild(ui.list.firstChild);
  ui.rows = S.d.paras.map((p, i) => {
    const li = el("li", "para");
    li.dataset.testid = "segk-para";
    li.dataset.index = String(i);
    const num = el("div", "num", `¶${i}`);
    const tags = el("div", "tags");
    const mine = el("span", "mine");
    const sugg = el("span", "sugg");
    tags.appendChild(mine);
    tags.appendChild(sugg);
    const text = el("div", "text", p[0]);
    li.appendChild(num);
    li.appendChild(tags);
    li.appendChild(text);
    li.addEventListener("click", () => {
      if (S.waitFor || i === S.cursor) return;
      S.cursor = i;
      push({ type: "move", key: "click", cursor: i });
      paint();
    });
    ui.list.appendChild(li);
    return { li, num, mine, sugg };
  });
  ui.shown = -1;
}

function color(name) {
  const lab = S.d.labels.find((l) => l.name === name);
  return lab ? lab.color : "#555";
}

function paintNotice() {
  const ui = S.ui;
  if (!ui) return;
  ui.notice.textContent = S.notice;
  ui.notice.className = `notice ${S.noticeKind}`;
}

function paint() {
  const ui = S.ui;
  const d = S.d;
  if (!ui || !d) return;
  const { labels } = project();
  const cur = S.cursor;
  ui.rows.forEach((r, i) => {
    const mine = labels[i];
    r.mine.textContent = mine ? `yours: ${mine}` : "";
    r.mine.style.setProperty("--c", mine ? color(mine) : "transparent");
    r.mine.hidden = !mine;
    const p = d.paras[i];
    r.sugg.textContent = p[2] ? `model: ${p[2]} ${Math.round(p[3] * 100)}%` : "";
    r.sugg.style.setProperty("--c", p[2] ? color(p[2]) : "transparent");
    r.sugg.hidden = !p[2];
  });
  if (ui.shown !== cur) {
    const old = ui.rows[ui.shown];
    if (old) {
      old.li.classList.remove("current");
      old.li.removeAttribute("data-current");
      old.num.textContent = `¶${ui.shown}`;
    }
    const now = ui.rows[cur];
    if (now) {
      now.li.classList.add("current");
      now.li.dataset.current = "true";
      now.num.textContent = `▶ ¶${cur}`;
    }
    ui.shown = cur;
  }
  const done = labels.filter((l) => l !== null && l !== undefined).length;
  const queued = S.pending.length;
  ui.where.textContent =
    `${d.doc.id} · ¶${cur} of ${d.paras.length} · ${done} of ${d.paras.length} paragraphs labelled by you` +
    (d.annotator ? ` (${d.annotator})` : " · no name: labelling is off") +
    (queued ? ` · ${queued} key${queued > 1 ? "s" : ""} being stored` : "");
  const sug = d.paras[cur] ? d.paras[cur][2] : null;
  ui.accept.querySelector(".lbl").textContent = sug
    ? `accept: ${sug} ${Math.round(d.paras[cur][3] * 100)}%`
    : "accept suggestion";
  for (const b of ui.bar.querySelectorAll("button")) {
    const x = b.dataset.act;
    const labelling = x.startsWith("label:") || x === "accept" || x === "above" || x === "bulk";
    b.disabled = (labelling && !d.annotator) || ((x === "accept" || x === "above") && !d.model);
  }
  ui.wrap.classList.toggle("waiting", !!S.waitFor);
  paintNotice();
  keepInView();
}

function keepInView() {
  const ui = S.ui;
  const row = ui.rows[S.cursor];
  if (!row) return;
  const r = row.li.getBoundingClientRect();
  const header = document.querySelector('[data-testid="stHeader"]');
  const top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
  const bottom = ui.bar.getBoundingClientRect().top;
  if (r.top >= top && r.bottom <= bottom) return;
  const band = bottom - top;
  // centre the paragraph in the band between the app's header and the label bar
  const scroller = scrollParent(row.li);
  const delta = r.top - (top + Math.max(0, (band - r.height) / 2));
  if (scroller) scroller.scrollTop += delta;
  else window.scrollBy(0, delta);
}

function scrollParent(node) {
  let n = node;
  while (n) {
    n = n.parentNode || n.host;
    if (!n || n === document) return null;
    if (n.nodeType === 1) {
      const s = getComputedStyle(n);
      if (/(auto|scroll)/.test(s.overflowY) && n.scrollHeight > n.clientHeight) return n;
    }
  }
  return null;
}

// -- focus: fields give the keys back -----------------------------------------------------
function installOnce() {
  if (S.installed) return;
  S.installed = true;
  document.addEventListener("keydown", onKeyDown, false);
  // Enter (in a one-line field) and Esc leave the field, so the next key labels again: on
  // the key's release, once the field itself has handled it (Streamlit commits on Enter).
  document.addEventListener(
    "keyup",
    (e) => {
      const t = deepTarget(e);
      if (!isTyping(t) || e.isComposing) return;
      const oneLine = t.tagName === "INPUT" && (t.getAttribute("role") || "") !== "combobox";
      if (e.key === "Escape" || (e.key === "Enter" && oneLine)) t.blur();
    },
    true,
  );
  // a choice made in a drop-down (the document list) gives the keys back too
  document.addEventListener(
    "click",
    (e) => {
      const t = deepTarget(e);
      if (t && t.closest && t.closest('[role="option"]')) {
        setTimeout(() => {
          const a = document.activeElement;
          if (a && a.getAttribute && a.getAttribute("role") === "combobox") a.blur();
        }, 0);
      }
    },
    true,
  );
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  S.send = setStateValue;
  S.mounted = true;
  installOnce();
  const newDoc = onData(data);
  const root = parentElement;
  if (!S.ui || S.ui.root !== root || !root.contains(S.ui.wrap)) {
    build(root);
    fillRows();
  } else if (newDoc || S.ui.rows.length !== data.paras.length) {
    fillRows();
  }
  // one live view: a copy left in an element Streamlit is replacing (a page switch, a rerun
  // that re-creates the element) goes, so only the view the keys act on is on screen
  S.wraps = (S.wraps || []).filter((w) => w.isConnected && w !== S.ui.wrap);
  for (const w of S.wraps) w.remove();
  S.wraps = [S.ui.wrap];
  paint();
  return () => {
    // an old element's clean-up can come after the new one is drawn: leave the new one be
    if (S.ui && S.ui.root === root) {
      S.mounted = false;
      S.ui = null;
    }
  };
}
