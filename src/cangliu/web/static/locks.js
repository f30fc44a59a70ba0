// Edit locks: an element with data-edit-lock="<lock URL>" is an edit view. While it is open
// (a <details> when expanded, anything else always) its lock is taken and renewed every
// minute; closing it or leaving the page gives the lock back. If someone else holds the lock
// the page reloads into its read-only view; if the lock was broken, a warning says so.
(() => {
  const RENEW_MS = 60 * 1000;
  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch { return ""; }
  };
  const call = (url, method, keepalive = false) => fetch(url, {
    method, keepalive, credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" },
  });

  function watch(el) {
    const url = el.dataset.editLock;
    let timer = null;
    const lost = () => {
      stop();
      if (!el.parentNode.querySelector(".lock-lost")) {
        const note = document.createElement("p");
        note.className = "error lock-lost";
        note.setAttribute("role", "alert");
        note.textContent = el.dataset.lockLost || "";
        el.before(note);
      }
    };
    const stop = () => { if (timer) { clearInterval(timer); timer = null; } };
    const renew = async () => {
      const r = await call(url + "/renew", "POST");
      if (r.status === 409 || r.status === 423) lost();
    };
    const take = async () => {
      const r = await call(url, "POST");
      if (r.status === 423) { location.reload(); return; }
      if (r.ok && !timer) timer = setInterval(renew, RENEW_MS);
    };
    const give = (keepalive) => { if (timer) { stop(); call(url, "DELETE", keepalive); } };
    if (el.tagName === "DETAILS") el.addEventListener("toggle", () => (el.open ? take() : give(false)));
    if (el.tagName !== "DETAILS" || el.open) take();
    window.addEventListener("pagehide", () => give(true));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-edit-lock]").forEach(watch);
  });
})();
