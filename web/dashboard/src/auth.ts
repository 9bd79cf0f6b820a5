// The API token, kept in this tab's session storage only: never in a URL,
// never in local storage or a cookie, gone when the tab closes.
const KEY = 'analytics.token';
const ADMIN_KEY = 'analytics.admin_token';

function store(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return store()?.getItem(KEY) ?? null;
}

export function setToken(t: string): void {
  store()?.setItem(KEY, t);
}

export function clearToken(): void {
  store()?.removeItem(KEY);
  store()?.removeItem(ADMIN_KEY);
}

/** An admin token given for privacy requests (when the sign-in token is a read one). */
export function getAdminToken(): string | null {
  return store()?.getItem(ADMIN_KEY) ?? null;
}

export function setAdminToken(t: string | null): void {
  if (t) store()?.setItem(ADMIN_KEY, t);
  else store()?.removeItem(ADMIN_KEY);
}
