// GS1 element strings as scanners read them from GS1 QR, DataMatrix and GS1-128 symbols:
// "(01)...(10)..." or raw with GS (FNC1, ASCII 29) after variable-length fields, with or without
// a symbology identifier (]C1, ]d2, ]Q3 ...). Mirrors cangliu/core/serials/gs1.py: the same
// inputs give the same elements and are refused for the same reasons.

export const GS = "\x1d";
const SYMBOLOGY_IDS = ["]d2", "]Q3", "]C1", "]e0", "]J1"];
const CSET82 = new Set("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_" +
                       "abcdefghijklmnopqrstuvwxyz");

// AI → [name, length (exact, or maximum when variable), variable, numeric]
const SPECS = {
  "00": ["SSCC", 18, false, true],
  "01": ["GTIN", 14, false, true],
  "02": ["content GTIN", 14, false, true],
  "10": ["lot", 20, true, false],
  "11": ["production date", 6, false, true],
  "15": ["best before date", 6, false, true],
  "17": ["expiry date", 6, false, true],
  "21": ["serial", 20, true, false],
  "30": ["count", 8, true, true],
  "37": ["units contained", 8, true, true],
};
const DATES = { "11": "production", "15": "best_before", "17": "expiry" };
// AI length by its first two digits (General Specifications figure 3.2-1).
const AI_LENGTHS = {};
for (const p of ["23", "24", "25", "40", "41", "42"]) AI_LENGTHS[p] = 3;
for (const p of ["31", "32", "33", "34", "35", "36", "39", "43", "70", "71", "72",
                 "80", "81", "82"]) AI_LENGTHS[p] = 4;
const HUMAN_AI = /\((\d{2,4})\)/;

export class Gs1Error extends Error {
  constructor(field, message) { super(message); this.field = field; }
}

const fail = (ai, message) => new Gs1Error(`ai_${ai}`, message);

// The GS1 mod-10 check digit of the digits before it (weights 3, 1, 3 ... from the right).
export function mod10(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[digits.length - 1 - i]);
    sum += d * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

function stripSymbology(content) {
  const prefix = SYMBOLOGY_IDS.find((p) => content.startsWith(p));
  return prefix ? [content.slice(prefix.length), true] : [content, false];
}

// Whether content presents itself as a GS1 element string (then parse() says what is wrong).
export function isGs1(content) {
  if (SYMBOLOGY_IDS.some((p) => content.startsWith(p)) || content.includes(GS) ||
      /^\(\d{2,4}\)/.test(content)) return true;
  try {
    const data = parse(content);
    return data.gtin !== null || data.sscc !== null;
  } catch (e) {
    return false;
  }
}

function trimGs(text) {
  let start = 0, end = text.length;
  while (start < end && text[start] === GS) start++;
  while (end > start && text[end - 1] === GS) end--;
  return text.slice(start, end);
}

// Parse scanned content into its elements; today decides the century of dates.
export function parse(content, today = new Date()) {
  const [body] = stripSymbology(content);
  if (!trimGs(body)) throw new Gs1Error("content", "the scanned content is empty");
  const pairs = body.startsWith("(") ? splitHuman(body) : splitRaw(body.replace(/^\x1d+/, ""));
  return collect(pairs, today);
}

function splitHuman(body) {
  const parts = body.split(new RegExp(HUMAN_AI.source, "g"));
  if (parts[0]) throw new Gs1Error("content", `text before the first application identifier: ${parts[0]}`);
  const pairs = [];
  for (let i = 1; i < parts.length; i += 2) {
    if (!(parts[i] in SPECS)) throw fail(parts[i], `unknown application identifier ${parts[i]}`);
    pairs.push([parts[i], parts[i + 1]]);
  }
  return pairs;
}

function aiAt(body, at) {
  const prefix = body.slice(at, at + 2);
  if (prefix.length < 2 || !/^\d\d$/.test(prefix)) {
    throw new Gs1Error("content", `no application identifier at position ${at + 1}`);
  }
  const ai = body.slice(at, at + (AI_LENGTHS[prefix] || 2));
  if (!(ai in SPECS)) throw fail(ai, `unknown application identifier ${ai}`);
  return ai;
}

function splitRaw(body) {
  const pairs = [];
  let at = 0;
  while (at < body.length) {
    const ai = aiAt(body, at);
    const [, length, variable] = SPECS[ai];
    const start = at + ai.length;
    let end = start + length;
    if (variable) {
      end = body.indexOf(GS, start);
      if (end < 0) end = body.length;
    }
    pairs.push([ai, body.slice(start, end)]);
    at = body[end] === GS ? end + 1 : end;  // a GS after a fixed field is tolerated
  }
  return pairs;
}

function collect(pairs, today) {
  const found = {};
  for (const [ai, value] of pairs) {
    checkValue(ai, value);
    if (ai in found && found[ai] !== value) {
      throw fail(ai, `application identifier ${ai} appears twice with different values`);
    }
    found[ai] = value;
  }
  const data = { elements: pairs, sscc: found["00"] || null, gtin: found["01"] || null,
    content: found["02"] || null, lot: found["10"] || null, serial: found["21"] || null,
    count: found["30"] || null, units: found["37"] || null,
    expiry: null, best_before: null, production: null };
  for (const [ai, key] of Object.entries(DATES)) {
    if (ai in found) data[key] = gs1Date(ai, found[ai], today);
  }
  return data;
}

function checkValue(ai, value) {
  const [name, length, variable, numeric] = SPECS[ai];
  if (!value) throw fail(ai, `${name} is empty`);
  if (numeric && !/^[0-9]+$/.test(value)) throw fail(ai, `${name} must be digits only: ${value}`);
  if (!variable && value.length !== length) {
    throw fail(ai, `${name} must have ${length} digits, not ${value.length}`);
  }
  if (variable && value.length > length) throw fail(ai, `${name} is longer than ${length} characters`);
  const bad = [...value].findIndex((c) => !CSET82.has(c));
  if (bad >= 0) {
    throw fail(ai, `character ${value[bad]} at position ${bad + 1} is not allowed in ${name}`);
  }
  if (["00", "01", "02"].includes(ai)) {
    const expected = String(mod10(value.slice(0, -1)));
    if (value.slice(-1) !== expected) throw fail(ai, `${name} check digit mismatch: expected ${expected}`);
  }
}

const pad = (n, width) => String(n).padStart(width, "0");

// A YYMMDD date as "YYYY-MM-DD"; day 00 is the month's last day. The century puts the year
// within 49 years before or 50 years after today (General Specifications 7.12).
export function gs1Date(ai, value, today = new Date()) {
  const yy = Number(value.slice(0, 2)), month = Number(value.slice(2, 4));
  const day = Number(value.slice(4, 6));
  const thisYear = today.getFullYear();
  const shift = yy - (thisYear % 100);
  const century = Math.floor(thisYear / 100) + (shift <= -50 ? 1 : shift >= 51 ? -1 : 0);
  const year = century * 100 + yy;
  if (month < 1 || month > 12) throw fail(ai, `invalid date ${value}`);
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > last) throw fail(ai, `invalid date ${value}`);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day || last, 2)}`;
}

// A GTIN-8/12/13/14 as the GTIN-14 that AI 01 carries (leading zeros), else null.
export function gtin14(code) {
  return /^[0-9]+$/.test(code) && [8, 12, 13, 14].includes(code.length) ? code.padStart(14, "0") : null;
}
