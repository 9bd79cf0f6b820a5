// Every event type the tracker makes, its consent category, and an example
// of its event_data built by the same functions the page uses (props.ts),
// with the longest values it can meet. The schema test
// (tests/browser/test_tracker_schema.sh) sends one of each to the real
// collector and expects every one taken.

import type { Category } from './consent';
import { EVENTS } from './eventtypes';
import type { Props } from './limits';
import {
  apiProps,
  clickProps,
  consentProps,
  errorProps,
  exitProps,
  formProps,
  pageViewProps,
  perfProps,
  rageProps,
  scrollProps,
  sessionEndProps,
  sessionStartProps,
  type ElementInfo,
} from './props';

const long = (unit: string, n: number) => unit.repeat(n);
const el: ElementInfo = {
  tag: 'button',
  id: 'book-now',
  selector: 'main > section:nth-of-type(2) > div.cta > button#book-now',
  text: long('Réparer ', 400), // past 2048 bytes: cut
  href: 'https://fixit.example/book?service=' + long('x', 3000),
  data: { name: 'book-cta', service: 'screen-repair', position: 2 },
};

/** One example of each event type the tracker makes. */
export const CATALOG: { type: string; category: Category; example: () => Props }[] = [
  {
    type: EVENTS.pageView,
    category: 'analytics',
    example: () =>
      pageViewProps({
        title: long('Screen repair — FixIt ', 150),
        path: '/services/screen-repair',
        spa: true,
        restored: false,
        vw: 1280,
        vh: 720,
        screenW: 1920,
        screenH: 1080,
        language: 'en-GB',
      }),
  },
  { type: EVENTS.scroll, category: 'analytics', example: () => scrollProps(75, 5400) },
  {
    type: EVENTS.click,
    category: 'analytics',
    example: () =>
      clickProps({
        el,
        x: 640.4,
        y: 2210.7,
        elX: 12,
        elY: 8,
        elW: 180,
        elH: 44,
        pageW: 1280,
        pageH: 5400,
        vw: 1280,
        vh: 720,
      }),
  },
  {
    type: EVENTS.form,
    category: 'analytics',
    example: () =>
      formProps({
        action: 'abandon',
        form: 'booking',
        fields: Array.from({ length: 50 }, (_, i) => `field_${i}`),
        last_field: 'phone',
        duration_ms: 41234,
      }),
  },
  { type: EVENTS.exitIntent, category: 'analytics', example: () => exitProps('pointer_top', 15234, 62.4) },
  {
    type: EVENTS.rageClick,
    category: 'analytics',
    example: () => rageProps({ target: el, x: 300, y: 400, clicks: 7, first: 1000, last: 1900 }),
  },
  {
    type: EVENTS.sessionStart,
    category: 'analytics',
    example: () => sessionStartProps('/pricing', 'https://www.google.com/search?q=' + long('ü', 3000)),
  },
  {
    type: EVENTS.sessionEnd,
    category: 'analytics',
    example: () =>
      sessionEndProps({ id: 's', start: 1_700_000_000_000, last: 1_700_000_900_000, page_views: 6, events: 40 }, 'idle'),
  },
  {
    type: EVENTS.pricingViewed,
    category: 'analytics',
    example: () => ({ category: 'phones', section: 'price-table', currency: 'EUR' }),
  },
  {
    type: EVENTS.serviceComparison,
    category: 'analytics',
    example: () => ({ services: ['standard', 'express', 'premium'], selected: 'express' }),
  },
  {
    type: EVENTS.bookingStarted,
    category: 'analytics',
    example: () => formProps({ action: 'start', form: 'booking', field: 'service' }),
  },
  {
    type: EVENTS.bookingAbandoned,
    category: 'analytics',
    example: () => formProps({ action: 'abandon', form: 'booking', fields: ['service', 'device'], duration_ms: 9000 }),
  },
  {
    type: EVENTS.bookingCompleted,
    category: 'analytics',
    example: () => ({
      booking_id: 'b-2f9c0e1a',
      service: 'screen-repair',
      device: 'iphone',
      value: 89,
      currency: 'EUR',
    }),
  },
  { type: EVENTS.contactViewed, category: 'analytics', example: () => ({ location: 'downtown' }) },
  {
    type: EVENTS.performance,
    category: 'analytics',
    example: () =>
      perfProps({
        navigationType: 'navigate',
        ttfb: 120.4,
        domInteractive: 400,
        domContentLoaded: 420,
        load: 900,
        transferBytes: 48_213,
        fcp: 310,
        lcp: 1200.5,
        cls: 0.01234567,
        inp: 48,
      }),
  },
  {
    type: EVENTS.apiResponse,
    category: 'analytics',
    example: () =>
      apiProps({ url: 'https://fixit.example/api/bookings', method: 'post', status: 201, durationMs: 83.27, kind: 'fetch' }),
  },
  {
    type: EVENTS.error,
    category: 'necessary',
    example: () =>
      errorProps({
        kind: 'error',
        message: "TypeError: Cannot read properties of undefined (reading 'price')",
        source: 'https://fixit.example/assets/app.js',
        line: 1,
        column: 18_234,
        stack: long('at render (https://fixit.example/assets/app.js:1:18234)\n', 100),
      }),
  },
  {
    type: EVENTS.consent,
    category: 'necessary',
    example: () => consentProps({ analytics: true, marketing: false }, 'choose', { analytics: false, marketing: false }),
  },
  { type: EVENTS.identify, category: 'analytics', example: () => ({ plan: 'repeat-customer', logins: 3 }) },
];
