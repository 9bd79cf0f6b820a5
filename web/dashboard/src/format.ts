// Numbers, rates, durations and times for people, in the viewer's locale
// and time zone. Pure: every function takes what it formats and returns text.

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** A count: "12,345"; "–" for null or undefined. */
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : intFmt.format(n);
}

/** A rate 0..1 as a percentage with one decimal below 10% ("4.5%", "23%"). */
export function fmtPct(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return '–';
  const p = r * 100;
  const digits = Math.abs(p) < 10 && p !== 0 ? 1 : 0;
  return `${p.toFixed(digits)}%`;
}

/** A change between two rates or counts as a signed percentage ("+12%", "−3.1%"); null when there is no base. */
export function fmtChange(now: number | null | undefined, before: number | null | undefined): string | null {
  if (now === null || now === undefined || before === null || before === undefined || before === 0) return null;
  const c = (now - before) / before;
  const s = fmtPct(Math.abs(c));
  if (c === 0) return '±0%';
  return c > 0 ? `+${s}` : `−${s}`;
}

/** Seconds as "45 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** A money or page value with up to two decimals. */
export function fmtValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(v);
}

/** An instant as a local date and time ("1 Dec, 19:38"), in timeZone (default the viewer's). */
export function fmtDateTime(t: string | number | Date | null | undefined, timeZone?: string): string {
  const d = toDate(t);
  if (!d) return '–';
  return new Intl.DateTimeFormat(undefined, {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hour12: false, timeZone,
  }).format(d);
}

/** An instant's local time of day ("19:38:05"). */
export function fmtTime(t: string | number | Date | null | undefined, timeZone?: string, seconds = true): string {
  const d = toDate(t);
  if (!d) return '–';
  return new Intl.DateTimeFormat(undefined, {
    hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false, timeZone,
  }).format(d);
}

/** A local calendar date ("1 Dec 2026"). */
export function fmtDate(t: string | number | Date | null | undefined, timeZone?: string): string {
  const d = toDate(t);
  if (!d) return '–';
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(d);
}

/** How long ago, from now: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function fmtAgo(t: string | number | Date | null | undefined, now: number = Date.now()): string {
  const d = toDate(t);
  if (!d) return '–';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return 'just now'; // also a little ahead: a visitor's clock may run fast
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A Date from an ISO string, epoch ms or a Date; null when it is none. */
export function toDate(t: string | number | Date | null | undefined): Date | null {
  if (t === null || t === undefined || t === '') return null;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A pipeline enum as words: "CHANNEL_ORGANIC_SEARCH" → "organic search", "organic_search" → "organic search". */
export function enumWords(v: string | null | undefined, prefix = ''): string {
  if (!v) return '–';
  let s = v;
  if (prefix && s.startsWith(prefix)) s = s.slice(prefix.length);
  return s.toLowerCase().replace(/_/g, ' ');
}

/** The viewer's IANA time zone name ("Europe/Paris"), "UTC" when unknown. */
export function viewerTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** A fingerprint shortened for tables, the whole in the title attribute. */
export function shortId(id: string, keep = 14): string {
  return id.length > keep + 1 ? `${id.slice(0, keep)}…` : id;
}
