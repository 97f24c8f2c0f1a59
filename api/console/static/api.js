// The console's one door to the server: the session endpoints and the
// Management API through /console/api, which runs the very same routes as
// /api with the session as the caller. Every state-changing request carries
// the session's CSRF token.

let csrfToken = '';

/** APIError is a non-2xx answer, with the server's {code, message}. */
export class APIError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

async function send(method, url, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(url, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return { data, headers: res.headers };
}

/** session returns who is signed in, or null. */
export async function session() {
  try {
    const { data } = await send('GET', '/console/session');
    csrfToken = data.csrfToken;
    return data;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

/** signIn opens a session with {clientId, clientSecret} or {username, password}. */
export async function signIn(credentials) {
  const { data } = await send('POST', '/console/session', credentials);
  csrfToken = data.csrfToken;
  return data;
}

/** signOut ends the session. */
export async function signOut() {
  try {
    await send('DELETE', '/console/session');
  } finally {
    csrfToken = '';
  }
}

/** api calls the Management API path (e.g. /api/users?page=1). */
export function api(method, path, body) {
  return send(method, '/console' + path, body);
}

/**
 * explain turns a failed call into a sentence for the page: a refusal by
 * the session's roles (403) says so with the server's message, anything
 * else says what could not be done and why.
 */
export function explain(e, what) {
  if (e instanceof APIError && e.status === 403) {
    return `Your roles do not allow this: could not ${what}. ${e.message}`;
  }
  return `Could not ${what}: ${e.message}`;
}

/**
 * failer returns fail(out, e, what), which shows explain(e, what) in out,
 * or calls onUnauthorized when the session is gone (401).
 */
export function failer(onUnauthorized) {
  return (out, e, what) => {
    if (e instanceof APIError && e.status === 401) return onUnauthorized();
    out.textContent = explain(e, what);
  };
}
