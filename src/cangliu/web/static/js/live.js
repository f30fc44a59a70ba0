// Every signed-in page: live updates and the navigation menus.
// Live pages: one EventSource per page on /events. An element with an id and
// data-live="kind kind…" is refreshed when a matching event arrives: the page (or data-live-url)
// is fetched again and the element with the same id swapped in, then it flashes and says
// "updated". Filters: data-live-sku / data-live-site (stock.changed lines), data-live-entity
// (record.changed). The browser resumes a lost connection with Last-Event-ID by itself.
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.hasAttribute("data-live-after") || !window.EventSource) return;
  var pending = new Map();  // element id -> timer

  function matches(el, kind, data) {
    var kinds = (el.getAttribute("data-live") || "").split(/\s+/);
    if (kinds.indexOf(kind) < 0) return false;
    var sku = el.getAttribute("data-live-sku"), site = el.getAttribute("data-live-site");
    if (kind === "stock.changed" && (sku || site)) {
      return (data.lines || []).some(function (l) {
        return (!sku || l.sku === sku) && (!site || l.site === site);
      });
    }
    var entity = el.getAttribute("data-live-entity");
    if (kind === "record.changed" && entity) {
      return entity.split(/\s+/).indexOf(data.entity) >= 0;
    }
    return true;
  }

  function cue(el) {
    el.classList.remove("live-flash");
    void el.offsetWidth;  // restart the animation
    el.classList.add("live-flash");
    var badge = document.getElementById("live-cue");
    if (badge) {
      badge.textContent = body.getAttribute("data-live-label") + " " +
        new Date().toLocaleTimeString();
      badge.hidden = false;
    }
  }

  function refresh(id) {
    pending.delete(id);
    var el = document.getElementById(id);
    if (!el) return;
    var url = el.getAttribute("data-live-url") || window.location.href;
    fetch(url, {credentials: "same-origin", headers: {"X-Live": "1"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById(id) || (el.hasAttribute("data-live-url") ? doc.body.firstElementChild : null);
        var current = document.getElementById(id);
        if (!fresh || !current) return;
        current.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        cue(fresh);
        fresh.dispatchEvent(new CustomEvent("live:updated", {bubbles: true}));
      })
      .catch(function () { /* the next event tries again */ });
  }

  function onEvent(kind, message) {
    var data = {};
    try { data = JSON.parse(message.data || "{}"); } catch (e) { return; }
    body.setAttribute("data-live-last", message.lastEventId || "");
    document.querySelectorAll("[data-live][id]").forEach(function (el) {
      if (!matches(el, kind, data) || pending.has(el.id)) return;
      // Changes come in bursts (a receipt of many lines): refresh once per burst.
      pending.set(el.id, setTimeout(refresh, 250, el.id));
    });
    document.dispatchEvent(new CustomEvent("live:event", {detail: {kind: kind, data: data}}));
  }

  var source = new EventSource("/events?after=" + encodeURIComponent(body.getAttribute("data-live-after")));
  ["stock.changed", "record.changed", "notification.created", "alert.opened",
   "alert.acknowledged", "alert.resolved", "alert.escalated"].forEach(function (kind) {
    source.addEventListener(kind, function (m) { onEvent(kind, m); });
  });
  source.addEventListener("open", function () { body.classList.add("live-on"); });
  source.addEventListener("error", function () { body.classList.remove("live-on"); });
  window.addEventListener("pagehide", function () { source.close(); });
})();

// The navigation's menus: opening one closes the others; a click elsewhere closes them all.
document.addEventListener("click", function (e) {
  document.querySelectorAll("nav details.menu[open]").forEach(function (menu) {
    if (!menu.contains(e.target)) menu.removeAttribute("open");
  });
});
