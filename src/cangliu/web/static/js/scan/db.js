// IndexedDB storage of the scanning app: the device, the operation queue, the scan packs,
// the sync results and the unfinished drafts. Everything a user scanned lives here until the
// server has answered for it.

const DB_NAME = "cangliu-scan";
const VERSION = 1;
let opening = null;

function upgrade(db) {
  db.createObjectStore("kv");                           // device id, next seq, drafts
  db.createObjectStore("queue", { keyPath: "seq" });     // operations not yet answered
  db.createObjectStore("packs", { keyPath: "site" });    // one scan pack per site
  const results = db.createObjectStore("results", { keyPath: "id" });
  results.createIndex("at", "at");
}

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => upgrade(req.result);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return opening;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Run fn(stores) in one transaction over the named stores; resolves with fn's value once the
// transaction has committed.
export async function transact(names, mode, fn) {
  const db = await openDb();
  const tx = db.transaction(names, mode);
  const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
  const value = await fn(stores, result);
  await done(tx);
  return value;
}

export const get = (store, key) => transact([store], "readonly", (s, r) => r(s[store].get(key)));
export const getAll = (store) => transact([store], "readonly", (s, r) => r(s[store].getAll()));
export const count = (store) => transact([store], "readonly", (s, r) => r(s[store].count()));
export const put = (store, value, key) =>
  transact([store], "readwrite", (s) => { s[store].put(value, key); });
export const del = (store, key) => transact([store], "readwrite", (s) => { s[store].delete(key); });
