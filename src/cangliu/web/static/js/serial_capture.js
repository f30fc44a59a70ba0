// Serial capture on document pages (一物一码): each [data-serial-capture] block holds a textarea
// taking one code per line. A keyboard-wedge scanner types a code and Enter; in a textarea Enter
// adds a line, and a scanner's Enter in the line's quantity fields must not post the form either.
// The count "3 / 5" follows the typing (of the quantity typed, else what the line still has to
// move), and each new code is checked at once by /api/v1/serials/check, showing the service's
// message for a bad one. The feedback never blocks posting: the service has the last word.
(() => {
  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch { return ""; }
  };
  // Only line feeds split: GS1 content keeps its group separators.
  const codesOf = (text) => text.split("\n").map((c) => c.replace(/^[ \t\r]+|[ \t\r]+$/g, "")).filter(Boolean);
  const fill = (template, params) => template.replace(/\{(\w+)\}/g, (m, k) => (k in params ? params[k] : m));

  function watch(box) {
    const area = box.querySelector("textarea");
    const form = box.closest("form");
    const count = box.querySelector("[data-count]");
    const of = box.querySelector("[data-of]");
    const last = box.querySelector("[data-last]");
    const list = box.querySelector(".serial-checks");
    const statuses = (box.dataset.statuses || "").split(" ").filter(Boolean);
    const words = JSON.parse(box.dataset.words || "{}");
    const qtyInputs = (box.dataset.qtyInputs || "").split(" ").filter(Boolean)
      .map((name) => form && form.elements.namedItem(name)).filter(Boolean);
    const answers = new Map(); // code → list of problem messages ([] when usable), or a promise

    const expected = () => {
      const typed = qtyInputs.map((i) => i.value.trim()).filter(Boolean);
      return typed.length ? typed.reduce((sum, v) => sum + Number(v), 0) : Number(box.dataset.expected || 0);
    };

    function problemsOf(code, answer) {
      // Every message names its code, so a bad one is found among many.
      const found = answer.problems.map((p) => (p.message.includes(code) ? p.message : `${code}: ${p.message}`));
      if (!found.length && statuses.length && answer.status && !statuses.includes(answer.status)) {
        found.push(fill(box.dataset.msgStatus, { code: answer.code || code, status: words[answer.status] || answer.status }));
      }
      return found;
    }

    async function check(code) {
      const body = { code, sku: box.dataset.sku };
      if (box.dataset.site) body.site = box.dataset.site;
      try {
        const r = await fetch("/api/v1/serials/check", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify(body),
        });
        answers.set(code, r.ok ? problemsOf(code, await r.json()) : null); // null: not checkable here
      } catch { answers.set(code, null); }
      show();
    }

    function show() {
      const codes = codesOf(area.value);
      const n = expected();
      count.textContent = codes.length;
      of.textContent = n;
      box.classList.toggle("complete", codes.length === n);
      box.classList.toggle("over", codes.length > n);
      list.replaceChildren();
      const seen = new Set();
      for (const code of codes) {
        const problems = seen.has(code) ? [fill(box.dataset.msgTwice, { code })] : answers.get(code);
        seen.add(code);
        if (!Array.isArray(problems)) continue;
        for (const message of problems) {
          const li = document.createElement("li");
          li.className = "field-error";
          li.textContent = message;
          list.append(li);
        }
      }
      const newest = codes[codes.length - 1];
      const verdict = newest && answers.get(newest);
      last.textContent = Array.isArray(verdict) && !verdict.length ? fill(box.dataset.msgOk, { code: newest }) : "";
    }

    function update() {
      for (const code of codesOf(area.value)) {
        if (!answers.has(code)) { answers.set(code, "pending"); check(code); }
      }
      show();
    }

    let timer = null;
    area.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 250); });
    // A scanner's Enter completes a code: check it now rather than after the pause.
    area.addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); setTimeout(update, 0); } });
    qtyInputs.forEach((i) => i.addEventListener("input", show));
    update();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const boxes = document.querySelectorAll("[data-serial-capture]");
    boxes.forEach(watch);
    // In a form that captures serials, Enter in a single-line field (a scan landing in the
    // wrong box) must not post the form half filled.
    new Set([...boxes].map((b) => b.closest("form")).filter(Boolean)).forEach((form) => {
      form.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && e.target instanceof HTMLInputElement) e.preventDefault();
      });
    });
  });
})();
