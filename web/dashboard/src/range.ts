// Time ranges for the views, their days in the viewer's time zone: "today"
// starts at the viewer's midnight, "last 7 days" at the midnight 6 days
// before today's. Pure: the clock and the zone come in (the zone through the
// runtime's local time, which is the viewer's in a browser and TZ in node).

export type Preset = 'today' | 'yesterday' | '7d' | '30d' | '90d';

export interface Range {
  from: Date;
  to: Date;
  preset: Preset | 'custom';
}

export const PRESETS: { id: Preset; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: 'yesterday', label: 'Yesterday' },
  { id: '7d', label: 'Last 7 days' },
  { id: '30d', label: 'Last 30 days' },
  { id: '90d', label: 'Last 90 days' },
];

/** Local midnight of d's day plus days (which may be negative); DST-safe. */
export function localMidnight(d: Date, days = 0): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days, 0, 0, 0, 0);
}

/** The range a preset names at now. */
export function presetRange(p: Preset, now: Date): Range {
  const today = localMidnight(now);
  switch (p) {
    case 'today':
      return { from: today, to: now, preset: p };
    case 'yesterday':
      return { from: localMidnight(now, -1), to: today, preset: p };
    case '7d':
      return { from: localMidnight(now, -6), to: now, preset: p };
    case '30d':
      return { from: localMidnight(now, -29), to: now, preset: p };
    case '90d':
      return { from: localMidnight(now, -89), to: now, preset: p };
  }
}

/** The same length of time just before r (to compare against). */
export function previousPeriod(r: Range): Range {
  const len = r.to.getTime() - r.from.getTime();
  return { from: new Date(r.from.getTime() - len), to: new Date(r.from.getTime()), preset: 'custom' };
}

/** A custom range from two local dates "YYYY-MM-DD" (both days included); null when malformed or reversed. */
export function customRange(fromDay: string, toDay: string, now: Date): Range | null {
  const f = parseDay(fromDay);
  const t = parseDay(toDay);
  if (!f || !t || t < f) return null;
  const end = localMidnight(t, 1);
  return { from: f, to: end > now ? now : end, preset: 'custom' };
}

/** A local date "YYYY-MM-DD" as its local midnight, or null. */
export function parseDay(s: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return d.getMonth() === Number(m[2]) - 1 && d.getDate() === Number(m[3]) ? d : null;
}

/** A local date as "YYYY-MM-DD" (for date inputs). */
export function dayString(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The API's from= and to= for r (UTC instants; the server takes any ISO 8601). */
export function rangeParams(r: Range): { from: string; to: string } {
  return { from: r.from.toISOString(), to: r.to.toISOString() };
}
