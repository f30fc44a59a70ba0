// The scan pack of a site (bins, stock, open documents, SKUs) kept in IndexedDB, refreshed
// from GET /scan/pack when online, and the lookups a scan needs: bin by code, SKU by code,
// barcode or GTIN (a GTIN-14 also finds its GTIN-13/12/8 forms).

import { get, put } from "./db.js";
import { gtin14 } from "./gs1.js";

const SITE_KEY = "cangliu.scan.site";

export const currentSite = () => localStorage.getItem(SITE_KEY) || "";
export const chooseSite = (code) => localStorage.setItem(SITE_KEY, code);

export async function loadPack(site) {
  const row = site ? await get("packs", site) : null;
  return row ? row.pack : null;
}

// Fetch the pack when online; the stored one stays when the network or the server fails.
export async function refreshPack(site) {
  if (!site || !navigator.onLine) return loadPack(site);
  try {
    const answer = await fetch(`/scan/pack?site=${encodeURIComponent(site)}`,
      { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) return loadPack(site);
    const pack = await answer.json();
    await put("packs", { site, pack });
    return pack;
  } catch (e) {
    return loadPack(site);
  }
}

// Lookup tables of a pack.
export function indexPack(pack) {
  const skus = new Map(), codes = new Map(), gtins = new Map();
  for (const sku of pack.skus) {
    skus.set(sku.code, sku);
    codes.set(sku.code, sku);
    for (const barcode of sku.barcodes) {
      codes.set(barcode, sku);
      const g = gtin14(barcode);
      if (g) gtins.set(g, sku);
    }
  }
  const bins = new Map(pack.bins.map((b) => [b.code, b]));
  return { pack, skus, codes, gtins, bins };
}

// The SKU a scan names: its GTIN (AI 01 or 02) when GS1, else the code as typed.
export function resolveSku(index, code, gs1) {
  const gtin = gs1 && (gs1.gtin || gs1.content);
  if (gtin) return index.gtins.get(gtin14(gtin)) || null;
  const direct = index.codes.get(code);
  if (direct) return direct;
  const g = gtin14(code);
  return g ? index.gtins.get(g) || null : null;
}

// Available quantity of a SKU in a bin (all lots, or one lot).
export function stockIn(index, bin, sku, lot = null) {
  return index.pack.stock
    .filter((s) => s.bin === bin && s.sku === sku && (lot === null || s.lot === lot))
    .reduce((sum, s) => sum + Number(s.qty), 0);
}

export function skuName(sku, locale) {
  return (locale === "en" && sku.name_en) || sku.name;
}
