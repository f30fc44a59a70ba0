// What every scanning page shares: the service worker (offline shell), the sync loop with its
// "N to sync" counter, and the list of operations the server refused.

import { t } from "./feedback.js";
import { dismiss, startSync, unseenFailures } from "./sync.js";

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/scan/sw.js", { scope: "/scan" }).catch(() => {
    // No offline shell (e.g. plain http on a LAN address): the pages still work online.
  });
}

function failureItem(outcome) {
  const li = document.createElement("li");
  li.className = `failure ${outcome.status}`;
  const text = document.createElement("span");
  text.textContent = `${t(outcome.status)} · ${t(outcome.kind)} ${outcome.number} — ${outcome.detail}`;
  const ok = document.createElement("button");
  ok.type = "button";
  ok.className = "scan-btn small";
  ok.textContent = "OK";
  ok.addEventListener("click", async () => { await dismiss(outcome.id); renderFailures(); });
  li.append(text, ok);
  return li;
}

export async function renderFailures() {
  const list = document.getElementById("sync-failures");
  if (!list) return;
  const failures = await unseenFailures();
  const login = list.querySelector(".login");
  list.replaceChildren(...(login ? [login] : []), ...failures.map(failureItem));
  list.hidden = list.children.length === 0;
}

function showNetwork() {
  const dot = document.querySelector("#sync-counter .net-dot");
  if (dot) dot.title = navigator.onLine ? t("online") : t("offline");
  document.body.classList.toggle("is-offline", !navigator.onLine);
}

// The session ended: the queue stays, and a link leads to the login page and back here.
function askLogin() {
  const list = document.getElementById("sync-failures");
  if (!list || list.querySelector(".login")) return;
  const li = document.createElement("li");
  li.className = "failure login";
  const link = document.createElement("a");
  link.href = `/login?next=${encodeURIComponent(location.pathname)}`;
  link.textContent = t("login");
  li.append(link);
  list.prepend(li);
  list.hidden = false;
}

export function startShell() {
  registerWorker();
  window.addEventListener("scan:login", askLogin);
  window.addEventListener("scan:results", renderFailures);
  window.addEventListener("online", showNetwork);
  window.addEventListener("offline", showNetwork);
  showNetwork();
  renderFailures();
  startSync();
}
