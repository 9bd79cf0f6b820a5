// Form use: focus (each field's first), start (the first input), submit,
// abandon (started, never submitted, and the page left). Field names only,
// never what was typed. Pure: the DOM layer says which form and field.

export type FormAction = 'focus' | 'start' | 'submit' | 'abandon';

export interface FormStep {
  action: FormAction;
  form: string;
  /** the field focused or first typed into */
  field?: string;
  /** fields typed into, in the order first touched (abandon, submit) */
  fields?: string[];
  /** the last field typed into (abandon) */
  last_field?: string;
  /** ms from the start (submit, abandon) */
  duration_ms?: number;
}

interface State {
  focused: Set<string>;
  touched: string[];
  started: number | null;
  submitted: boolean;
  last: string | null;
}

const MAX_FIELDS = 50; // per form: a form with more reports the first 50

export class Forms {
  private forms = new Map<string, State>();

  private state(form: string): State {
    let s = this.forms.get(form);
    if (!s) {
      s = { focused: new Set(), touched: [], started: null, submitted: false, last: null };
      this.forms.set(form, s);
    }
    return s;
  }

  /** A field got focus: a focus step the first time for that field. */
  focus(form: string, field: string): FormStep | null {
    const s = this.state(form);
    if (s.focused.has(field) || s.focused.size >= MAX_FIELDS) return null;
    s.focused.add(field);
    return { action: 'focus', form, field };
  }

  /** Something was typed or chosen in a field: a start step the first time
   * in the form (again after a submit: a second use of the form). */
  input(form: string, field: string, t: number): FormStep | null {
    const s = this.state(form);
    s.last = field;
    if (s.touched.length < MAX_FIELDS && !s.touched.includes(field)) s.touched.push(field);
    if (s.started !== null && !s.submitted) return null;
    s.started = t;
    s.submitted = false;
    s.touched = [field];
    return { action: 'start', form, field };
  }

  /** The form was submitted. */
  submit(form: string, t: number): FormStep {
    const s = this.state(form);
    const step: FormStep = { action: 'submit', form, fields: s.touched.slice() };
    if (s.started !== null) step.duration_ms = Math.max(0, Math.round(t - s.started));
    s.submitted = true;
    return step;
  }

  /** The page is going away: an abandon step for each form started and not
   * submitted, and they are forgotten (no second abandon). */
  abandonAll(t: number): FormStep[] {
    const out: FormStep[] = [];
    for (const [form, s] of this.forms) {
      if (s.started === null || s.submitted) continue;
      const step: FormStep = {
        action: 'abandon',
        form,
        fields: s.touched.slice(),
        duration_ms: Math.max(0, Math.round(t - s.started)),
      };
      if (s.last !== null) step.last_field = s.last;
      out.push(step);
    }
    this.forms.clear();
    return out;
  }

  /** Whether form was started and is not submitted. */
  inProgress(form: string): boolean {
    const s = this.forms.get(form);
    return !!s && s.started !== null && !s.submitted;
  }
}
