// The console's API: /console/api/X is the admin API's /callplane/X, with
// the session cookie instead of the admin secret. Every request carries the
// console's header, which changes must have (a cross-site page cannot set
// it).

export class APIError extends Error {
  constructor(status, code, message) {
    super(message || ('HTTP ' + status));
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { 'X-Callplane-Console': '1', Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch('/console/api' + path, init);
  if (resp.status === 401) {
    // The session ended (expired, or signed out elsewhere): back to sign-in.
    location.reload();
    throw new APIError(401, 'unauthenticated', 'Signed out.');
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const e = data && data.error;
    throw new APIError(resp.status, e ? e.code : '', e ? e.message : `HTTP ${resp.status}`);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body === undefined ? {} : body);
export const del = (path) => api('DELETE', path);

export function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

export const enc = encodeURIComponent;
