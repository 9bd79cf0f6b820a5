// Scroll milestones: 25, 50, 75, 90 and 100% of the page seen, each once
// per page view. Pure: positions come in as numbers.

export const MILESTONES: readonly number[] = [25, 50, 75, 90, 100];

/** Percent of the page seen: the bottom of the viewport over the page's
 * height (2 px short of the end counts as the end). */
export function depthPercent(scrollY: number, viewportH: number, pageH: number): number {
  if (pageH <= 0) return 0;
  const bottom = Math.max(0, scrollY) + viewportH;
  if (bottom >= pageH - 2) return 100;
  return Math.max(0, Math.min(100, (bottom / pageH) * 100));
}

export class ScrollMilestones {
  private reached = 0; // how many of marks are reached
  /** the deepest percent seen */
  max = 0;

  constructor(private readonly marks: readonly number[] = MILESTONES) {}

  /** The milestones reached for the first time at this position, in order. */
  update(scrollY: number, viewportH: number, pageH: number): number[] {
    const d = depthPercent(scrollY, viewportH, pageH);
    if (d > this.max) this.max = d;
    const out: number[] = [];
    while (this.reached < this.marks.length && this.marks[this.reached]! <= d) {
      out.push(this.marks[this.reached]!);
      this.reached++;
    }
    return out;
  }

  /** A new page view (single-page-app navigation): every milestone again. */
  reset(): void {
    this.reached = 0;
    this.max = 0;
  }
}
