// The scanning app's service worker (served as /scan/sw.js, scope /scan): it keeps the shell —
// the pages, scripts, styles and the camera library — so the pages open without a network.
// Pages go network first (a fresh CSRF token and data when online), the rest cache first.
// Data never goes through here: the scan pack and the queue live in IndexedDB.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `cangliu-scan-${VERSION}`;
const PAGES = new Set(SHELL.filter((url) => url.startsWith("/scan")));

self.addEventListener("install", (event) => {
  // One by one: a page the user may not open (e.g. logged out) must not fail the install.
  event.waitUntil(caches.open(CACHE)
    .then((cache) => Promise.all(SHELL.map((url) => store(cache, url))))
    .then(() => self.skipWaiting()));
});

async function store(cache, url) {
  try {
    const answer = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (answer.ok && !answer.redirected) await cache.put(url, answer);
  } catch (e) {
    // Offline at install time: the next visit fills the cache.
  }
}

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("cangliu-scan-") && k !== CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// A page: from the network (and kept), else the kept copy of the same path.
async function page(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const answer = await fetch(request);
    if (answer.ok && !answer.redirected) await cache.put(path, answer.clone());
    return answer;
  } catch (e) {
    return (await cache.match(path)) || (await cache.match("/scan")) || Response.error();
  }
}

// A script, style or library file: the kept copy, else the network.
async function asset(request, path) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(path);
  if (hit) return hit;
  const answer = await fetch(request);
  if (answer.ok) await cache.put(path, answer.clone());
  return answer;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname.replace(/\/$/, "") || "/";
  if (PAGES.has(path) && !path.endsWith(".webmanifest") && !path.endsWith(".svg")) {
    event.respondWith(page(event.request, path));
  } else if (SHELL.includes(path)) {
    event.respondWith(asset(event.request, path));
  }
});
