// Exit intent: the visitor looks like leaving. On a desktop, the pointer
// leaves through the top of the viewport (towards the tabs and the address
// bar); on a phone, a quick scroll back up (towards the browser's bar) or
// the tab hidden. Once per page view. Pure: events come in as numbers.

export type ExitTrigger = 'pointer_top' | 'scroll_up' | 'tab_hidden';

export interface ExitOptions {
  /** a touch device without a hovering pointer */
  mobile: boolean;
  /** no exit intent in the first ms of a page view */
  minDwellMs: number;
  /** a scroll up of at least this share of the viewport ... */
  scrollUpShare: number;
  /** ... within this many ms */
  scrollUpMs: number;
}

export const EXIT_DEFAULTS: Omit<ExitOptions, 'mobile'> = {
  minDwellMs: 1000,
  scrollUpShare: 0.5,
  scrollUpMs: 400,
};

export class ExitIntent {
  private fired = false;
  private start: number;
  private samples: { t: number; y: number }[] = [];

  constructor(private readonly o: ExitOptions, now: number) {
    this.start = now;
  }

  private fire(t: number, trigger: ExitTrigger): ExitTrigger | null {
    if (this.fired || t - this.start < this.o.minDwellMs) return null;
    this.fired = true;
    return trigger;
  }

  /** The pointer left the document (mouseout with no element to go to) at
   * clientY. */
  pointerOut(t: number, clientY: number, toElement: boolean): ExitTrigger | null {
    if (this.o.mobile || toElement || clientY > 0) return null;
    return this.fire(t, 'pointer_top');
  }

  /** The page scrolled to y (viewport height vh). */
  scroll(t: number, y: number, vh: number): ExitTrigger | null {
    if (!this.o.mobile) return null;
    const s = this.samples;
    s.push({ t, y });
    while (s.length > 0 && t - s[0]!.t > this.o.scrollUpMs) s.shift();
    let top = y;
    for (const p of s) top = Math.max(top, p.y);
    if (top - y >= vh * this.o.scrollUpShare && top > vh) return this.fire(t, 'scroll_up');
    return null;
  }

  /** The tab was hidden (and the page stays: not a pagehide). */
  hidden(t: number): ExitTrigger | null {
    return this.o.mobile ? this.fire(t, 'tab_hidden') : null;
  }

  /** A new page view: exit intent may fire again. */
  reset(now: number): void {
    this.fired = false;
    this.start = now;
    this.samples = [];
  }
}
