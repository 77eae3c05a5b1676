// The review screen: every bucket of one unit at once, decided by keyboard.
// a accept all, 1-6 toggle a bucket, p/n/r polarity of the focused bucket, j/k next/previous,
// u undo. Decisions go to the server in one request; a stale one (409) is kept on screen and
// in localStorage until the reviewer dismisses it, never silently dropped.
(function () {
  "use strict";
  const root = document.getElementById("review");
  if (!root) return;
  const unit = root.dataset.unit;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const rows = Array.from(root.querySelectorAll("tr.row"));
  const statusEl = document.getElementById("status");
  const staleKey = "themecoder:stale";
  const history = [];
  let focused = rows.findIndex((r) => r.dataset.sid);
  if (focused < 0) focused = 0;
  let busy = false;

  const box = (row) => row.querySelector('input[type="checkbox"]');
  const pol = (row) => (row.querySelector('input[type="radio"]:checked') || {}).value;
  const setPol = (row, value) => {
    const radio = row.querySelector(`input[type="radio"][value="${value}"]`);
    if (radio) radio.checked = true;
  };
  const editable = (row) => row.dataset.editable === "1";
  const say = (text) => { statusEl.textContent = text; };

  function focusRow(i) {
    focused = i;
    rows.forEach((r, j) => r.classList.toggle("focused", j === i));
  }
  focusRow(focused);

  function snapshot(row) { return { on: box(row).checked, polarity: pol(row) }; }
  function restore(row, s) { box(row).checked = s.on; setPol(row, s.polarity); }
  const last = rows.map(snapshot); // each row as it was before its latest change, for undo

  function change(i, fn) {
    const row = rows[i];
    if (!row || !editable(row)) { say("That bucket is already decided."); return; }
    history.push({ i, before: last[i] });
    fn(row);
    last[i] = snapshot(row);
    focusRow(i);
    say(`${row.dataset.bucket.replace(/_/g, " ")}: ${box(row).checked ? pol(row) : "removed"}`);
  }

  rows.forEach((row, i) => {
    row.addEventListener("focusin", () => focusRow(i));
    // Mouse and Tab users change the inputs directly; undo covers that too.
    row.addEventListener("change", () => {
      history.push({ i, before: last[i] });
      last[i] = snapshot(row);
    });
  });

  function undo() {
    const step = history.pop();
    if (!step) { say("Nothing to undo on this unit."); return; }
    restore(rows[step.i], step.before);
    last[step.i] = step.before;
    focusRow(step.i);
    say("Undone.");
  }

  function decisions() {
    const out = { decisions: [], add: [] };
    rows.forEach((row) => {
      if (!editable(row)) return;
      const on = box(row).checked, p = pol(row);
      if (row.dataset.sid) {
        const base = { suggestion_id: +row.dataset.sid, version: +row.dataset.version };
        if (!on) out.decisions.push({ ...base, action: "reject" });
        else if (p !== row.dataset.polarity) out.decisions.push({ ...base, action: "override", polarity: p });
        else out.decisions.push({ ...base, action: "approve" });
      } else if (on && row.dataset.on !== "1") {
        out.add.push({ bucket: row.dataset.bucket, polarity: p });
      }
    });
    return out;
  }

  function loadStale() {
    try { return JSON.parse(localStorage.getItem(staleKey) || "[]"); } catch (e) { return []; }
  }
  function showStale() {
    const items = loadStale();
    const section = document.getElementById("stale");
    const list = document.getElementById("stale-list");
    list.replaceChildren();
    items.forEach((s) => {
      const li = document.createElement("li");
      li.textContent = `Unit ${s.unit}, ${s.bucket.replace(/_/g, " ")}: you chose ${s.mine}` +
        ` on version ${s.version}; it is now ${s.now}. ${s.message}`;
      const a = document.createElement("a");
      a.href = `/review?unit=${s.unit}`; a.textContent = " Open the unit";
      li.appendChild(a);
      list.appendChild(li);
    });
    section.hidden = items.length === 0;
  }
  document.getElementById("stale-dismiss").addEventListener("click", () => {
    localStorage.removeItem(staleKey); showStale();
  });
  showStale();

  async function submit() {
    if (busy) return;
    busy = true;
    say("Saving...");
    const body = decisions();
    const q = root.dataset.query ? `?${root.dataset.query}` : "";
    let res;
    try {
      res = await fetch(`/review/units/${unit}/decide${q}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (e) {
      busy = false; say("Could not reach the server; nothing was lost, try again."); return;
    }
    const data = await res.json().catch(() => ({}));
    if (res.status === 401) { window.location = `/signin?next=${encodeURIComponent(location.pathname + location.search)}`; return; }
    if (!res.ok) { busy = false; say((data.error && data.error.message) || `Error ${res.status}`); return; }
    const stale = data.results.filter((r) => r.status === "conflict");
    if (stale.length) {
      const kept = loadStale();
      stale.forEach((r) => kept.push({
        unit, bucket: r.suggestion.bucket, version: r.mine.version,
        mine: r.mine.action + (r.mine.polarity ? ` (${r.mine.polarity})` : ""),
        now: `${r.suggestion.state} at version ${r.suggestion.version}`, message: r.message,
      }));
      localStorage.setItem(staleKey, JSON.stringify(kept));
      showStale();
      busy = false;
      say(`${stale.length} decision(s) were stale: someone decided first. See below.`);
      document.getElementById("stale").focus(); // tabindex="-1": "See below" is where focus lands
      return;
    }
    sessionStorage.setItem("themecoder:last", unit);
    window.location = data.next_url || "/review";
  }

  document.getElementById("codes").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  document.getElementById("undo").addEventListener("click", undo);

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t.tagName === "SELECT" || t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio")) return;
    const k = ev.key;
    if (k >= "1" && k <= "6") {
      ev.preventDefault();
      change(+k - 1, (row) => { box(row).checked = !box(row).checked; });
    } else if (k === "p" || k === "n" || k === "r") {
      ev.preventDefault();
      const value = { p: "positive", n: "neutral", r: "risk" }[k];
      change(focused, (row) => { setPol(row, value); box(row).checked = true; });
    } else if (k === "a") {
      ev.preventDefault(); submit();
    } else if (k === "u") {
      ev.preventDefault(); undo();
    } else if (k === "j" && root.dataset.next) {
      ev.preventDefault(); window.location = root.dataset.next;
    } else if (k === "k" && root.dataset.prev) {
      ev.preventDefault(); window.location = root.dataset.prev;
    }
  });
})();
