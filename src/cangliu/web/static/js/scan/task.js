// One scanning task page: choose the document, scan the bin, then the items; Finish queues
// the operation. The draft (what is scanned so far) is kept in IndexedDB across reloads.

import { get, put } from "./db.js";
import { CONFIG, clear, error, info, ok, t } from "./feedback.js";
import { isGs1, parse } from "./gs1.js";
import { closeCamera, openCamera, wedge } from "./input.js";
import { currentSite, indexPack, loadPack, refreshPack, resolveSku, skuName } from "./pack.js";
import { startShell } from "./shell.js";
import { enqueue, queued } from "./sync.js";
import { TASKS, fmt } from "./tasks.js";

const $ = (id) => document.getElementById(id);
const slug = $("task").dataset.task;
const task = TASKS[slug];
const site = currentSite();
const ctx = { index: null, doc: null, pending: new Map(), draft: null };
const draftKey = `draft:${slug}:${site}`;
const emptyDraft = (doc = null) => ({ doc, bin: null, toBin: null, lines: [], awaiting: null, history: [] });

const saveDraft = () => put("kv", ctx.draft, draftKey);

function docsOf(pack) {
  return task.docs ? task.docs(pack) : [];
}

function findDoc(number) {
  const hit = docsOf(ctx.index.pack).find((d) => d.number === number);
  return hit ? hit.doc : null;
}

// Quantities already queued (not yet synced) per document line, so they are not taken twice.
async function computePending() {
  ctx.pending = new Map();
  if (!ctx.doc || !task.queuedQty) return;
  for (const op of await queued()) {
    if (op.payload.number !== ctx.doc.number) continue;
    const lines = op.payload.lines || ctx.doc.lines.map((l) => ({ line_no: l.line_no }));
    for (const line of lines) {
      ctx.pending.set(line.line_no, (ctx.pending.get(line.line_no) || 0) + task.queuedQty(line));
    }
  }
}

function renderDocs() {
  const docs = docsOf(ctx.index.pack);
  const list = $("doc-list");
  list.replaceChildren(...docs.map((d) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/scan/${slug}?doc=${encodeURIComponent(d.number)}`;
    a.className = "scan-doc-link";
    a.innerHTML = "<strong></strong><small></small>";
    a.querySelector("strong").textContent = d.number;
    a.querySelector("small").textContent = d.sub || "";
    li.append(a);
    return li;
  }));
  if (!docs.length) list.innerHTML = `<li class="scan-muted">${t("no_docs")}</li>`;
  $("doc-picker").hidden = false;
  $("work").hidden = true;
}

function lineText(ln) {
  const sku = ctx.index.skus.get(ln.sku);
  const parts = [`${ln.sku} ${sku ? skuName(sku, CONFIG.locale) : ""}`, `× ${fmt(ln.qty)}`];
  if (ln.bin) parts.push(`@${ln.bin}`);
  if (ln.lot) parts.push(`[${ln.lot}]`);
  if (ln.serials.length) parts.push(`#${ln.serials.join(", ")}`);
  return parts.join(" ");
}

function promptText() {
  const d = ctx.draft;
  if (d.awaiting) return t(d.awaiting.type === "serial" ? "scan_serial" : "scan_lot", { sku: d.awaiting.item.sku });
  if (slug === "pick") {
    const step = TASKS.pick.current(ctx);
    return step ? t("pick_next", { bin: step.bin, qty: fmt(step.left), sku: step.sku }) : t("pick_done");
  }
  if (slug === "putaway" && d.bin && d.lines.length) return t("target_bin");
  if (task.needsBin && !d.bin) return t("bin_first");
  return "";
}

// The document's lines with what is scanned of them (and already queued) against what is open.
function renderTargets() {
  const targets = ctx.doc && task.targets ? task.targets(ctx.doc) : [];
  $("targets").replaceChildren(...targets.map((tg) => {
    const done = ctx.draft.lines.filter((ln) => ln.line_no === tg.line_no)
      .reduce((s, ln) => s + ln.qty, 0) + Math.min(ctx.pending.get(tg.line_no) || 0, tg.open);
    const li = document.createElement("li");
    li.classList.toggle("complete", done >= tg.open - 1e-9);
    const sku = ctx.index.skus.get(tg.sku);
    li.textContent = `${tg.sku} ${sku ? skuName(sku, CONFIG.locale) : ""}`;
    const figure = document.createElement("b");
    figure.textContent = `${fmt(done)} / ${fmt(tg.open)}`;
    li.append(figure);
    return li;
  }));
}

function render() {
  renderTargets();
  const d = ctx.draft;
  $("doc-picker").hidden = true;
  $("work").hidden = false;
  $("doc-number").textContent = ctx.doc ? ctx.doc.number : "";
  $("change-doc").hidden = !task.docs;
  $("prompt").textContent = promptText();
  $("current-bin").textContent = d.bin ? t(slug === "putaway" ? "from_bin" : "bin_set", { bin: d.bin }) : "";
  const total = d.lines.reduce((s, ln) => s + ln.qty, 0);
  $("progress").textContent = d.lines.length ? `Σ ${fmt(total)}` : t("nothing");
  $("lines").replaceChildren(...[...d.lines].reverse().map((ln) => {
    const li = document.createElement("li");
    li.textContent = lineText(ln);
    return li;
  }));
}

// Change the draft (undo keeps the state before each change), then save and show it.
async function change(fn) {
  const before = JSON.stringify({ ...ctx.draft, history: [] });
  fn(ctx.draft);
  ctx.draft.history = [...ctx.draft.history.slice(-49), before];
  await saveDraft();
  render();
}

async function onBin(code) {
  if (!task.needsBin) return info(t("bin_set", { bin: code }));
  if (slug === "putaway" && ctx.draft.bin && ctx.draft.lines.length) {
    await change((d) => { d.toBin = code; });
    return finish();
  }
  const wrong = task.checkBin ? task.checkBin(ctx, code) : null;
  if (wrong) return error(wrong);
  await change((d) => { d.bin = code; });
  ok(t("bin_set", { bin: code }));
}

function typedQty() {
  const field = $("scan-qty");
  const qty = Number(field.value);
  field.value = "1";
  return qty > 0 ? qty : 1;
}

async function addItem(item, sku) {
  if (sku.tracking === "serial" && task.serials) {
    item.qty = 1;
    if (!item.serial) return change((d) => { d.awaiting = { type: "serial", item }; });
    if (ctx.draft.lines.some((ln) => ln.serials.includes(item.serial))) {
      return error(t("dup_serial", { serial: item.serial }));
    }
  }
  if (sku.tracking === "lot" && task.lot === "required" && !item.lot) {
    return change((d) => { d.awaiting = { type: "lot", item }; });
  }
  const place = task.accept(ctx, item, sku);
  if (place.error) return error(place.error);
  await change((d) => {
    d.awaiting = null;
    const line = { line_no: place.line_no ?? null, step: place.step ?? null, sku: item.sku,
      bin: d.bin, lot: place.lot ?? item.lot ?? null, expiry: item.expiry || null };
    const key = JSON.stringify(line);
    let hit = d.lines.find((ln) => ln.key === key);
    if (!hit) { hit = { ...line, key, qty: 0, serials: [] }; d.lines.push(hit); }
    hit.qty = Number(fmt(hit.qty + item.qty));
    if (item.serial) hit.serials.push(item.serial);
  });
  ok(`+${fmt(item.qty)} ${item.sku}${item.serial ? ` #${item.serial}` : ""}`);
}

// The answer to a serial or lot prompt (a GS1 code gives its serial or lot).
async function onAwaited(code) {
  const { type, item } = ctx.draft.awaiting;
  let value = code;
  if (isGs1(code)) {
    try { value = parse(code)[type] || code; } catch (e) { /* take it as typed */ }
  }
  ctx.draft.awaiting = null;
  const sku = ctx.index.skus.get(item.sku);
  return addItem({ ...item, [type]: value }, sku);
}

async function onScan(code) {
  clear();
  if (ctx.draft.awaiting) return onAwaited(code);
  let gs1 = null;
  if (isGs1(code)) {
    try { gs1 = parse(code); } catch (e) { return error(t("gs1_error", { detail: e.message })); }
  }
  if (!gs1 && ctx.index.bins.has(code)) return onBin(code);
  const sku = resolveSku(ctx.index, code, gs1);
  if (!sku) return error(t("unknown", { code }));
  if (task.needsBin && !ctx.draft.bin) return error(t("bin_first"));
  const item = { sku: sku.code, qty: typedQty(), lot: gs1 ? gs1.lot : null,
    expiry: gs1 ? gs1.expiry : null, serial: gs1 ? gs1.serial : null };
  return addItem(item, sku);
}

async function finish() {
  if (!ctx.draft.lines.length) return error(t("nothing"));
  const ops = task.payloads(ctx);
  if (typeof ops === "string") return error(ops);
  for (const op of ops) await enqueue(op.kind, op.payload);
  ctx.draft = emptyDraft(ctx.doc ? ctx.doc.number : null);
  await saveDraft();
  await computePending();
  render();
  ok(t("queued"));
}

async function undo() {
  const prev = ctx.draft.history.pop();
  if (!prev) return;
  ctx.draft = { ...JSON.parse(prev), history: ctx.draft.history };
  await saveDraft();
  render();
}

async function chooseDoc(number) {
  ctx.doc = number ? findDoc(number) : null;
  if (task.docs && !ctx.doc) return renderDocs();
  if (!ctx.draft || ctx.draft.doc !== (ctx.doc ? ctx.doc.number : null)) {
    ctx.draft = emptyDraft(ctx.doc ? ctx.doc.number : null);
    await saveDraft();
  }
  await computePending();
  render();
}

// Tell the user what the server did with the operations just sent.
function announce(outcomes) {
  const text = (o) => `${t(o.status)} · ${t(o.kind)} ${o.number}`;
  const bad = outcomes.filter((o) => o.status !== "applied");
  if (bad.length) error(bad.map((o) => `${text(o)} — ${o.detail}`).join("\n"));
  else if (outcomes.length) info(outcomes.map(text).join("\n"));
}

function wireButtons() {
  $("finish").addEventListener("click", finish);
  $("undo").addEventListener("click", undo);
  $("change-doc").addEventListener("click", () => { location.href = `/scan/${slug}`; });
  $("camera").addEventListener("click", async () => {
    $("camera-box").hidden = false;
    try { await openCamera("camera-view", onScan); } catch (e) { $("camera-box").hidden = true; error(t("camera_error")); }
  });
  $("camera-close").addEventListener("click", async () => { await closeCamera(); $("camera-box").hidden = true; });
  wedge($("scan-form"), $("scan-input"), onScan);
  $("scan-qty").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); $("scan-input").focus(); }
  });
  window.addEventListener("online", async () => {
    const pack = await refreshPack(site);
    if (pack) ctx.index = indexPack(pack);
  });
  window.addEventListener("scan:queue", () => computePending().then(render));
  window.addEventListener("scan:results", async (e) => {
    announce(e.detail);
    if (!e.detail.some((o) => o.status === "applied")) return;
    const pack = await refreshPack(site);
    if (pack) ctx.index = indexPack(pack);
    if (ctx.doc) ctx.doc = findDoc(ctx.doc.number) || ctx.doc;
    await computePending();
    render();
  });
}

async function start() {
  startShell();
  if (!site) { $("no-pack").textContent = t("pick_site"); $("no-pack").hidden = false; return; }
  $("task-site").textContent = site;
  const pack = navigator.onLine ? await refreshPack(site) : await loadPack(site);
  if (!pack) { $("no-pack").textContent = t("no_pack"); $("no-pack").hidden = false; return; }
  ctx.index = indexPack(pack);
  ctx.draft = await get("kv", draftKey);
  const wanted = new URLSearchParams(location.search).get("doc") || (ctx.draft && ctx.draft.doc);
  wireButtons();
  await chooseDoc(task.docs ? wanted : null);
}

start();
