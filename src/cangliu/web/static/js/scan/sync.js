// The operation queue and its replay: every finished task becomes an operation with a
// client-generated id and the device's next seq; when online the queue goes, in seq order and
// in batches of at most 200, to POST /api/v1/offline/batch. An operation leaves the queue only
// when the server has answered for it (applied, failed or rejected); a network error, a 401 or
// any other non-200 keeps the whole queue for a later try.

import { count, getAll, transact } from "./db.js";
import { CONFIG, t } from "./feedback.js";

const BATCH = 200;
const BASE_DELAY = 15000;
const MAX_DELAY = 300000;
const KEEP_RESULTS = 50;
const channel = "BroadcastChannel" in window ? new BroadcastChannel("cangliu-scan") : null;
let delay = BASE_DELAY;
let timer = null;
let running = null;
let csrf = CONFIG.csrf;
let tokenChecked = false;

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http on a LAN have no randomUUID: build a v4 UUID by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The device id: generated once and kept with the seq counter, so the two never part.
export function deviceId() {
  return transact(["kv"], "readwrite", async (s, r) => {
    let id = await r(s.kv.get("device"));
    if (!id) {
      id = uuid();
      s.kv.put(id, "device");
    }
    return id;
  });
}

// Queue an operation; the seq is taken in the same transaction that stores it.
export async function enqueue(kind, payload) {
  const device = await deviceId();
  const op = await transact(["kv", "queue"], "readwrite", async (s, r) => {
    const seq = (await r(s.kv.get("seq"))) || 1;
    const item = { id: uuid(), seq, kind, at: new Date().toISOString(), payload, device };
    s.queue.add(item);
    s.kv.put(seq + 1, "seq");
    return item;
  });
  changed();
  schedule(0);
  return op;
}

export const queued = () => getAll("queue");

function changed() {
  updateCounter();
  if (channel) channel.postMessage("changed");
  window.dispatchEvent(new CustomEvent("scan:queue"));
}

export async function updateCounter() {
  const n = await count("queue");
  const box = document.getElementById("sync-counter");
  if (!box) return n;
  box.dataset.count = String(n);
  box.querySelector(".sync-text").textContent = t("sync_count", { count: n });
  box.classList.toggle("pending", n > 0);
  box.classList.toggle("offline", !navigator.onLine);
  return n;
}

function status(text, isError = false) {
  const box = document.getElementById("sync-status");
  if (box) {
    box.textContent = text;
    box.classList.toggle("error", isError);
  }
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(syncNow, ms);
}

function backoff() {
  delay = Math.min(delay * 2, MAX_DELAY);
  schedule(delay);
}

async function refreshToken() {
  const answer = await fetch("/scan/token", { credentials: "same-origin", cache: "no-store" });
  if (answer.ok) csrf = (await answer.json()).csrf;
  return answer.status;
}

function post(device, ops) {
  return fetch("/api/v1/offline/batch", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "X-Device": device },
    body: JSON.stringify({ device, operations: ops.map(({ id, seq, kind, at, payload }) =>
      ({ id, seq, kind, at, payload })) }),
  });
}

// Send the queue now (one run at a time); resolves when this run is over.
export function syncNow() {
  if (!running) running = run().finally(() => { running = null; });
  return running;
}

async function run() {
  clearTimeout(timer);
  if (!navigator.onLine) return schedule(BASE_DELAY);
  try {
    if (!tokenChecked && (await count("queue")) > 0) {
      if ((await refreshToken()) === 401) return loginNeeded();
      tokenChecked = true;
    }
    while (await sendBatch()) { /* next batch */ }
  } catch (e) {
    status(t("sync_error"), true);
    backoff();
  }
}

function loginNeeded() {
  status(t("login"), true);
  window.dispatchEvent(new CustomEvent("scan:login"));
  backoff();
}

// One batch: true when another batch should follow at once.
async function sendBatch() {
  const ops = (await queued()).sort((a, b) => a.seq - b.seq).slice(0, BATCH);
  if (!ops.length) {
    delay = BASE_DELAY;
    status("");
    return false;
  }
  const answer = await post(ops[0].device, ops);
  if (answer.status === 401) { loginNeeded(); return false; }
  if (answer.status === 403) { tokenChecked = false; backoff(); return false; }
  if (answer.status !== 200) { status(t("sync_error"), true); backoff(); return false; }
  const body = await answer.json();
  const waiting = await settle(body, ops);
  status("");
  delay = BASE_DELAY;
  if (waiting) schedule(BASE_DELAY);
  return !waiting && ops.length === BATCH;
}

// Drop what the server answered for, remember the outcome; true if some wait.
async function settle(body, ops) {
  const byId = Object.fromEntries((body.results || []).map((r) => [r.id, r]));
  const outcomes = [];
  await transact(["queue", "results", "kv"], "readwrite", async (s, r) => {
    for (const op of ops) {
      const res = byId[op.id];
      if (!res || res.status === "waiting") continue;
      s.queue.delete(op.seq);
      const error = res.error || {};
      const outcome = { id: op.id, seq: op.seq, kind: op.kind, number: op.payload.number || "",
        status: res.status, detail: error.detail || error.title || "", at: new Date().toISOString(),
        seen: res.status === "applied" };
      s.results.put(outcome);
      outcomes.push(outcome);
    }
    const seq = (await r(s.kv.get("seq"))) || 1;
    if (body.next_seq && body.next_seq > seq) s.kv.put(body.next_seq, "seq");
  });
  await pruneResults();
  changed();
  window.dispatchEvent(new CustomEvent("scan:results", { detail: outcomes }));
  return ops.some((op) => !byId[op.id] || byId[op.id].status === "waiting");
}

async function pruneResults() {
  const all = (await getAll("results")).sort((a, b) => b.at.localeCompare(a.at));
  const old = all.slice(KEEP_RESULTS);
  if (old.length) {
    await transact(["results"], "readwrite", (s) => { old.forEach((o) => s.results.delete(o.id)); });
  }
}

export async function recentResults() {
  return (await getAll("results")).sort((a, b) => b.at.localeCompare(a.at));
}

// The failed / rejected outcomes the user has not dismissed yet.
export async function unseenFailures() {
  return (await recentResults()).filter((o) => !o.seen);
}

export function dismiss(id) {
  return transact(["results"], "readwrite", async (s, r) => {
    const o = await r(s.results.get(id));
    if (o) s.results.put({ ...o, seen: true });
  });
}

// Start the replay: now, on every `online` event, and on a timer.
export function startSync() {
  window.addEventListener("online", () => { delay = BASE_DELAY; updateCounter(); syncNow(); });
  window.addEventListener("offline", () => updateCounter());
  if (channel) channel.onmessage = () => updateCounter();
  updateCounter();
  syncNow();
}
