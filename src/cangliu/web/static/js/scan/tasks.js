// The six scanning tasks: which documents they work on, what a scan may add, and the
// operations a finished task queues (payloads are the REST bodies plus "number").

import { t } from "./feedback.js";
import { stockIn } from "./pack.js";

export const num = (x) => Number(x || 0);

// Quantities as the API wants them: decimal strings without float noise.
export function fmt(n, decimals = 6) {
  return String(Number(Number(n).toFixed(decimals)));
}

const sum = (lines, pick) => lines.reduce((s, ln) => s + (pick(ln) ? ln.qty : 0), 0);

// Document tasks: the first line of the SKU with room left takes the scan.
function placeOnLines(ctx, item, targets) {
  const mine = targets.filter((tg) => tg.sku === item.sku);
  if (!mine.length) return { error: t("wrong_sku", { sku: item.sku, number: ctx.doc.number }) };
  let room = 0;
  for (const tg of mine) {
    const free = tg.open - (ctx.pending.get(tg.line_no) || 0) -
      sum(ctx.draft.lines, (ln) => ln.line_no === tg.line_no);
    if (free >= item.qty - 1e-9) return { line_no: tg.line_no };
    room = Math.max(room, free);
  }
  return { error: t("over", { qty: fmt(Math.max(room, 0)), sku: item.sku }) };
}

const withSerials = (ln) => (ln.serials.length ? { serials: ln.serials } : {});

const receive = {
  needsBin: true, lot: "required", serials: true,
  docs: (pack) => pack.purchases.map((d) => ({ number: d.number, sub: d.supplier, doc: d })),
  targets: (doc) => doc.lines.map((l) => ({ line_no: l.line_no, sku: l.sku, open: num(l.open_qty) })),
  accept: (ctx, item) => placeOnLines(ctx, item, receive.targets(ctx.doc)),
  queuedQty: (line) => num(line.qty),
  payloads: (ctx) => [{ kind: "purchase.receive", payload: { number: ctx.doc.number,
    lines: ctx.draft.lines.map((ln) => ({ line_no: ln.line_no, qty: fmt(ln.qty), bin: ln.bin,
      ...(ln.lot ? { lot: ln.lot } : {}), ...(ln.expiry ? { expiry_date: ln.expiry } : {}),
      ...withSerials(ln) })) } }],
};

const transferReceive = {
  needsBin: false, lot: "none", serials: true,
  docs: (pack) => pack.inbound.map((d) => ({ number: d.number, sub: `${d.source} → ${d.dest}`, doc: d })),
  targets: (doc) => doc.lines.map((l) => ({ line_no: l.line_no, sku: l.sku,
    open: num(l.shipped_qty) - num(l.received_qty) - num(l.damaged_qty) - num(l.shortage_qty) })),
  accept: (ctx, item) => placeOnLines(ctx, item, transferReceive.targets(ctx.doc)),
  queuedQty: (line) => num(line.received),
  payloads: (ctx) => [{ kind: "transfer.receive", payload: { number: ctx.doc.number,
    lines: ctx.draft.lines.map((ln) => ({ line_no: ln.line_no, received: fmt(ln.qty),
      ...withSerials(ln) })) } }],
};

// Ship: an approved transfer leaving this site (it ships whole), or a sales order.
const ship = {
  needsBin: false, lot: "none", serials: true,
  docs: (pack) => [
    ...pack.outbound.map((d) => ({ number: d.number, sub: `${d.source} → ${d.dest}`, doc: d })),
    ...pack.sales.map((d) => ({ number: d.number, sub: d.customer, doc: d }))],
  isTransfer: (doc) => "dest" in doc,
  targets: (doc) => doc.lines.map((l) => ({ line_no: l.line_no, sku: l.sku,
    open: num(l.qty) - num(l.shipped_qty) })),
  accept: (ctx, item) => placeOnLines(ctx, item, ship.targets(ctx.doc)),
  queuedQty: (line) => (line.qty === undefined ? Infinity : num(line.qty)),
  payloads: (ctx) => (ship.isTransfer(ctx.doc) ? shipTransfer(ctx) : shipSale(ctx)),
};

function shipTransfer(ctx) {
  const short = ship.targets(ctx.doc).some((tg) =>
    sum(ctx.draft.lines, (ln) => ln.line_no === tg.line_no) < tg.open - 1e-9);
  if (short) return t("incomplete");
  const serialLines = ctx.draft.lines.filter((ln) => ln.serials.length);
  const lines = serialLines.map((ln) => ({ line_no: ln.line_no, serials: ln.serials }));
  return [{ kind: "transfer.ship", payload: { number: ctx.doc.number, ...(lines.length ? { lines } : {}) } }];
}

function shipSale(ctx) {
  return [{ kind: "sale.ship", payload: { number: ctx.doc.number,
    lines: ctx.draft.lines.map((ln) => ({ line_no: ln.line_no, qty: fmt(ln.qty), ...withSerials(ln) })) } }];
}

// Pick: guided bin by bin through the pick list; the shipment names what was really picked.
const pick = {
  needsBin: true, lot: "none", serials: true,
  docs: (pack) => pack.sales.map((d) => ({ number: d.number, sub: d.customer, doc: d })),
  steps: (doc) => doc.lines.flatMap((l) => l.picks.map((p) => ({ line_no: l.line_no, sku: l.sku,
    bin: p.bin, lot: p.lot, qty: num(p.qty) }))),
  current(ctx) {
    const steps = pick.steps(ctx.doc);
    const i = steps.findIndex((s, k) => sum(ctx.draft.lines, (ln) => ln.step === k) < s.qty - 1e-9);
    return i < 0 ? null : { ...steps[i], index: i,
      left: steps[i].qty - sum(ctx.draft.lines, (ln) => ln.step === i) };
  },
  checkBin(ctx, code) {
    const step = pick.current(ctx);
    return step && step.bin !== code ? t("wrong_bin", { bin: step.bin }) : null;
  },
  accept(ctx, item) {
    const step = pick.current(ctx);
    if (!step) return { error: t("pick_done") };
    if (ctx.draft.bin !== step.bin) return { error: t("wrong_bin", { bin: step.bin }) };
    if (item.sku !== step.sku) return { error: t("wrong_sku", { sku: item.sku, number: ctx.doc.number }) };
    if (item.qty > step.left + 1e-9) return { error: t("over", { qty: fmt(step.left), sku: item.sku }) };
    return { line_no: step.line_no, step: step.index, lot: item.lot || step.lot };
  },
  queuedQty: () => Infinity,
  payloads: (ctx) => [{ kind: "sale.ship", payload: { number: ctx.doc.number,
    lines: ctx.draft.lines.map((ln) => ({ line_no: ln.line_no, qty: fmt(ln.qty), bin: ln.bin,
      ...(ln.lot ? { lot: ln.lot } : {}), ...withSerials(ln) })) } }],
};

// Put away: scan the bin to take from, the items, then the bin they go to.
const putaway = {
  needsBin: true, lot: "optional", serials: false, docs: null,
  accept(ctx, item) {
    const have = stockIn(ctx.index, ctx.draft.bin, item.sku, item.lot);
    const taken = sum(ctx.draft.lines, (ln) => ln.sku === item.sku && (!item.lot || ln.lot === item.lot));
    if (have <= 0) return { error: t("no_stock", { sku: item.sku }) };
    if (taken + item.qty > have + 1e-9) return { error: t("over", { qty: fmt(have - taken), sku: item.sku }) };
    return {};
  },
  payloads(ctx) {
    if (!ctx.draft.toBin) return t("target_bin");
    const site = ctx.index.pack.site.code;
    return ctx.draft.lines.map((ln) => ({ kind: "stock.move", payload: { sku: ln.sku, from_site: site,
      to_site: site, qty: fmt(ln.qty), bin: ln.bin, to_bin: ctx.draft.toBin,
      ...(ln.lot ? { lot: ln.lot } : {}) } }));
  },
};

// Count: what is in each bin; a recount of the same SKU, bin and lot replaces the figure.
const count = {
  needsBin: true, lot: "required", serials: false,
  docs: (pack) => pack.counts.map((d) => ({ number: d.number, sub: d.zone || d.site, doc: d })),
  accept: () => ({}),
  queuedQty: () => 0,
  payloads(ctx) {
    const totals = new Map();
    for (const ln of ctx.draft.lines) {
      const key = `${ln.sku}|${ln.bin}|${ln.lot || ""}`;
      const prev = totals.get(key) || { sku: ln.sku, location: ln.bin, lot: ln.lot || "", qty: 0 };
      totals.set(key, { ...prev, qty: prev.qty + ln.qty });
    }
    const entries = [...totals.values()].map((e) => ({ ...e, qty: fmt(e.qty) }));
    return [{ kind: "count.entries", payload: { number: ctx.doc.number, entries } }];
  },
};

export const TASKS = { receive, putaway, pick, ship, "transfer-receive": transferReceive, count };
