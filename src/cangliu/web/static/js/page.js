// Behaviours the templates ask for with data-* attributes, so that no page needs an inline
// script or event handler (the Content Security Policy allows scripts from our own files only).
//   data-confirm="…"   on a form or a submit button: ask before submitting
//   data-autosubmit    on a field: submit its form when it changes
//   data-select-all=N  on a checkbox: tick or clear every checkbox named N
//   data-print-on-load on <body>: open the print dialog once the page has loaded
//   data-click-on-load on a button: click it once the page is ready (e.g. a preview)
//   data-back          on a link: go back one page
//   data-width=P       on an element: its width is P% (a bar of a chart drawn in HTML)
//   data-conflict-fields='["f", …]' on a stale save's notice: mark the form's labels of those
//                      fields (pages carry no inline styles either)
// It also registers the Alpine.js components whose logic is more than an expression (the
// vendored Alpine is its CSP build, which evaluates expressions without eval); it must load
// before Alpine so that its alpine:init listener is in place.
// Listeners sit on the document in the capture phase, so they also cover content htmx swaps in
// and run before htmx's own: a refused confirmation stops the event before htmx sees it.
(() => {
  const refuse = (e) => { e.preventDefault(); e.stopImmediatePropagation(); };

  document.addEventListener("click", (e) => {
    const asking = e.target.closest("button[data-confirm], input[type=submit][data-confirm]");
    if (asking && !window.confirm(asking.dataset.confirm)) { refuse(e); return; }
    const all = e.target.closest("input[type=checkbox][data-select-all]");
    if (all) {
      for (const box of document.querySelectorAll(`input[type=checkbox][name="${CSS.escape(all.dataset.selectAll)}"]`)) {
        box.checked = all.checked;
      }
    }
    if (e.target.closest("a[data-back]")) { e.preventDefault(); history.back(); }
  }, true);

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) refuse(e);
  }, true);

  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-autosubmit]") && e.target.form) e.target.form.submit();
  });

  const dress = (root) => {
    for (const bar of root.querySelectorAll("[data-width]")) bar.style.width = `${Number(bar.dataset.width)}%`;
    for (const notice of root.querySelectorAll("[data-conflict-fields]")) {
      for (const name of JSON.parse(notice.dataset.conflictFields)) {
        for (const field of document.querySelectorAll(`form [name="${CSS.escape(name)}"]`)) {
          field.closest("label")?.classList.add("conflict-changed");
        }
      }
    }
  };
  document.addEventListener("htmx:load", (e) => dress(e.target));

  document.addEventListener("DOMContentLoaded", () => {
    dress(document);
    for (const button of document.querySelectorAll("[data-click-on-load]")) button.click();
  });
  window.addEventListener("load", () => {
    if (document.body.hasAttribute("data-print-on-load")) window.print();
  });

  document.addEventListener("alpine:init", () => {
    // Master-data lists: which custom-field columns to show, remembered in this browser.
    Alpine.data("columnChooser", () => ({
      shown: [],
      init() {
        this.key = this.$el.dataset.storageKey;
        try { this.shown = JSON.parse(localStorage.getItem(this.key) || "[]"); } catch { this.shown = []; }
      },
      toggle(column) {
        this.shown = this.shown.includes(column)
          ? this.shown.filter((c) => c !== column) : [...this.shown, column];
        localStorage.setItem(this.key, JSON.stringify(this.shown));
      },
    }));
    // A user's roles: "Add a role" appends a blank row from the <template x-ref="blank">.
    Alpine.data("assignmentRows", () => ({
      init() { this.next = Number(this.$el.dataset.next); },
      add() {
        this.$refs.rows.insertAdjacentHTML(
          "beforeend", this.$refs.blank.innerHTML.replaceAll("__i__", String(this.next++)));
      },
    }));
  });
})();
