// What the collector accepts (services/collector/event.h, README "The
// collector"), and the functions that make any value fit it. Pure: no DOM.
//
// The collector rejects an event, never trims it: so everything the tracker
// sends passes through here first. Lengths are UTF-8 bytes, as the collector
// counts them.

export const LIMITS = {
  /** event_type: 1..64 of [A-Za-z0-9._:-] */
  maxType: 64,
  /** event_id, fingerprint, user_id, session_id */
  maxId: 128,
  /** page_url, referrer_url */
  maxUrl: 4096,
  /** any key or string inside event_data */
  maxString: 2048,
  /** members and array elements inside event_data, nested ones included */
  maxProps: 100,
  /** nesting levels of event_data, the object itself being level 1 */
  maxDepth: 5,
  /** events in one request */
  maxBatch: 500,
} as const;

const TOKEN = /^[A-Za-z0-9._:-]+$/;
// C0 controls, DEL and C1 controls: refused in the collector's text fields.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Whether s is a valid event type (or event_id): 1..max of [A-Za-z0-9._:-]. */
export function isToken(s: unknown, max: number = LIMITS.maxType): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= max && TOKEN.test(s);
}

/** s with every character outside [A-Za-z0-9._:-] made '_', cut to max: an
 * event type the collector takes, or '' when nothing is left. */
export function toToken(s: string, max: number = LIMITS.maxType): string {
  return s.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, max);
}

/** UTF-8 length of s in bytes (lone surrogates count as the 3 bytes of the
 * U+FFFD they become). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** s made storable: NULs removed (the collector refuses them anywhere) and
 * lone surrogates, which are not UTF-8, made U+FFFD. */
export function wellFormed(s: string): string {
  if (s.indexOf('\u0000') >= 0) s = s.replace(/\u0000/g, '');
  if (!/[\ud800-\udfff]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += s[i]!;
  }
  return out;
}

/** s cut to at most max UTF-8 bytes, never inside a character. */
export function clampBytes(s: string, max: number): string {
  if (s.length * 3 <= max || utf8Length(s) <= max) return s;
  let n = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    const pair = c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff;
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + w > max) break;
    n += w;
    if (w === 4) i++;
  }
  return s.slice(0, i);
}

/** A string for a top-level text field (fingerprint, ids, URLs): well
 * formed, without control characters, at most max bytes. */
export function cleanText(s: string, max: number): string {
  return clampBytes(wellFormed(s).replace(CONTROL, ''), max);
}

/** A string inside event_data: well formed, at most maxString bytes. */
export function cleanString(s: string): string {
  return clampBytes(wellFormed(s), LIMITS.maxString);
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type Props = { [k: string]: Json };

/** Makes props fit event_data: strings and keys cut to 2048 bytes, numbers
 * that are not finite made null, at most 100 members in all (the rest
 * dropped, first come first kept), containers deeper than 5 levels replaced
 * by their JSON text, undefined and functions left out, Dates as ISO
 * strings. Returns a new object; props is not changed. */
export function sanitizeProps(props: unknown): Props {
  const budget = { left: LIMITS.maxProps };
  const out = sanitizeValue(props, 1, budget);
  return out !== null && typeof out === 'object' && !Array.isArray(out) ? out : {};
}

function sanitizeValue(v: unknown, depth: number, budget: { left: number }): Json | undefined {
  switch (typeof v) {
    case 'string':
      return cleanString(v);
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'boolean':
      return v;
    case 'bigint':
      return cleanString(v.toString());
    case 'object':
      break;
    default:
      return undefined; // undefined, function, symbol
  }
  if (v === null) return null;
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? v.toISOString() : null;
  if (depth > LIMITS.maxDepth) return cleanString(safeStringify(v));
  if (Array.isArray(v)) {
    const arr: Json[] = [];
    for (const item of v) {
      if (budget.left <= 0) break;
      budget.left--;
      const s = sanitizeValue(item, depth + 1, budget);
      arr.push(s === undefined ? null : s);
    }
    return arr;
  }
  const obj: Props = {};
  for (const k of Object.keys(v as object)) {
    const item = (v as Record<string, unknown>)[k];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    if (budget.left <= 0) break;
    budget.left--;
    const s = sanitizeValue(item, depth + 1, budget);
    if (s !== undefined) obj[cleanString(k)] = s;
  }
  return obj;
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '[unserialisable]';
  }
}
