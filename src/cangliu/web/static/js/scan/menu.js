// The scanning menu: the site and device name, the tasks with their open documents, the
// "N to sync" counter and the latest sync results.

import { get, put } from "./db.js";
import { CONFIG, t } from "./feedback.js";
import { chooseSite, currentSite, loadPack, refreshPack } from "./pack.js";
import { renderFailures, startShell } from "./shell.js";
import { deviceId, recentResults, syncNow } from "./sync.js";
import { TASKS } from "./tasks.js";

const $ = (id) => document.getElementById(id);

function showTasks(pack) {
  for (const link of document.querySelectorAll(".scan-task")) {
    const slug = link.dataset.task;
    const task = TASKS[slug];
    const allowed = !pack || pack.can[slug];
    link.classList.toggle("disabled", !allowed);
    const docs = pack && task.docs ? task.docs(pack).length : null;
    link.querySelector("small").textContent = docs === null ? "" : String(docs);
  }
  $("pack-status").textContent = pack ? t("updated", {
    time: new Date(pack.generated_at).toLocaleString(CONFIG.locale === "en" ? "en" : "zh-CN") }) :
    (currentSite() ? t("no_pack") : t("pick_site"));
}

async function showResults() {
  const results = await recentResults();
  $("recent-results").replaceChildren(...results.slice(0, 20).map((o) => {
    const li = document.createElement("li");
    li.className = o.status;
    li.textContent = `${t(o.status)} · ${t(o.kind)} ${o.number}${o.detail ? ` — ${o.detail}` : ""}`;
    return li;
  }));
}

async function onSite() {
  const code = $("site-select").value;
  chooseSite(code);
  showTasks(await loadPack(code));
  showTasks(await refreshPack(code));
}

async function setupDevice() {
  const id = await deviceId();
  $("device-id").textContent = id.slice(0, 8);
  const field = $("device-name");
  field.value = (await get("kv", "device_name")) || "";
  field.addEventListener("change", () => put("kv", field.value.trim(), "device_name"));
}

async function start() {
  startShell();
  const select = $("site-select");
  const site = currentSite();
  if ([...select.options].some((o) => o.value === site)) select.value = site;
  select.addEventListener("change", onSite);
  $("sync-now").addEventListener("click", async () => { await syncNow(); showResults(); renderFailures(); });
  window.addEventListener("scan:results", showResults);
  window.addEventListener("online", async () => showTasks(await refreshPack(currentSite())));
  await setupDevice();
  showResults();
  showTasks(await loadPack(site));
  if (site) showTasks(await refreshPack(site));
}

start();
