// The demo site's own script (what a real site would have): the booking
// form sent to the site's API, the business events it tells the tracker
// about with track(), and the personalised offer shown from onPersonalize.
// It talks to the tracker only through window.analyticsQueue, so the site
// works whether or not the tracker loaded.

interface Offer {
  answer?: { id?: string; message?: string; content?: { type?: string; headline?: string; code?: string; cta?: { text?: string; url?: string } } | null };
  trigger?: string;
}

type Call = unknown[] | ((api: unknown) => void);
const w = window as unknown as { analyticsQueue?: { push(c: Call): void } | Call[] };

/** A call on the tracker, now or once it loads: analytics('track', name,
 * props), or analytics(api => ...) for a function given the API. */
function analytics(...call: unknown[]): void {
  const q = (w.analyticsQueue ??= []);
  q.push(call.length === 1 && typeof call[0] === 'function' ? (call[0] as (api: unknown) => void) : call);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The offer bar under the header, from the push-gateway's answer. */
function showOffer(o: Offer): void {
  const box = document.getElementById('offer');
  const c = o.answer?.content;
  if (!box || !c || sessionStorage.getItem('offer-closed') === o.answer?.id) return;
  const wrap = el('div', 'wrap');
  const text = o.answer?.message || c.headline || '';
  wrap.append(el('strong', '', text));
  if (c.code && !text.includes(c.code)) {
    const code = el('span', 'code', c.code);
    code.setAttribute('aria-label', `code ${c.code}`);
    wrap.append(code);
  }
  if (c.cta?.url && c.cta.text) {
    const a = el('a', 'btn', c.cta.text);
    a.href = c.cta.url;
    a.dataset.analyticsName = 'offer-cta';
    a.dataset.analyticsOffer = o.answer?.id ?? '';
    wrap.append(a);
  }
  const x = el('button', 'x', '×');
  x.type = 'button';
  x.setAttribute('aria-label', 'Close the offer');
  x.addEventListener('click', () => {
    box.hidden = true;
    sessionStorage.setItem('offer-closed', o.answer?.id ?? '');
  });
  wrap.append(x);
  box.replaceChildren(wrap);
  box.dataset.offer = o.answer?.id ?? '';
  box.dataset.trigger = o.trigger ?? '';
  box.hidden = false;
}

function bookingForm(form: HTMLFormElement): void {
  const params = new URLSearchParams(location.search);
  const service = form.elements.namedItem('service') as HTMLSelectElement;
  if (params.get('service')) service.value = params.get('service')!;
  const date = form.elements.namedItem('date') as HTMLInputElement;
  date.min = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const err = document.getElementById('booking-error')!;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!form.checkValidity()) {
      err.textContent = 'Please fill in the repair, device, day, time, name and e-mail.';
      err.hidden = false;
      (form.querySelector(':invalid') as HTMLElement | null)?.focus();
      return;
    }
    err.hidden = true;
    const data = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
    const button = document.getElementById('book-submit') as HTMLButtonElement;
    button.disabled = true;
    try {
      const r = await fetch('/api/bookings', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(data),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const b = (await r.json()) as { booking_id: string; value: number; currency: string };
      const opt = service.selectedOptions[0];
      // The conversion, with its value (deploy/config/journeys.json reads "value").
      analytics('track', 'booking_completed', {
        booking_id: b.booking_id,
        service: data.service,
        device: data.device,
        value: b.value ?? Number(opt?.dataset.price ?? 0),
        currency: b.currency ?? 'EUR',
      });
      analytics('identify', 'cust-' + b.booking_id, { first_booking: true });
      analytics((api: unknown) =>
        (api as { flush(): Promise<void> }).flush().finally(() => location.assign(`/book/thank-you?ref=${b.booking_id}`)),
      );
    } catch {
      err.textContent = 'The booking could not be sent. Please try again, or call us.';
      err.hidden = false;
      button.disabled = false;
    }
  });
}

function contactForm(form: HTMLFormElement): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    form.querySelectorAll('input,textarea,button').forEach((x) => x.setAttribute('disabled', ''));
    document.getElementById('contact-done')!.hidden = false;
  });
}

function start(): void {
  const booking = document.getElementById('booking-form');
  if (booking instanceof HTMLFormElement) bookingForm(booking);
  const contact = document.getElementById('contact-form');
  if (contact instanceof HTMLFormElement) contactForm(contact);
  const ref = new URLSearchParams(location.search).get('ref');
  const summary = document.getElementById('booking-summary');
  if (summary && ref) summary.textContent = `Thank you. Your booking reference is ${ref}; we have sent a confirmation by e-mail.`;
  // No offer on the confirmation page: the visitor just booked.
  if (!location.pathname.startsWith('/book/thank-you')) analytics('onPersonalize', showOffer);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
