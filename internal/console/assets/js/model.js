// What the views share: the tenant's applications, and the calls the
// console knows of (their listing rows, by id), kept up to date by the
// "calls" events.

import { get } from './api.js';

export const apps = new Map(); // client id: application view
let appsLoaded = null;

export function loadApps(force) {
  if (!appsLoaded || force) {
    appsLoaded = get('/applications').then((list) => {
      apps.clear();
      for (const a of list.value || []) apps.set(a.id, a);
      return apps;
    }).catch((e) => { appsLoaded = null; throw e; });
  }
  return appsLoaded;
}

export function appName(id) {
  const a = apps.get(id);
  if (!a) return id ? '…' + id.slice(-8) : '—';
  return a.displayName || a.id;
}

export function devApp() {
  for (const a of apps.values()) if (a.devApplication) return a;
  return apps.values().next().value;
}

// calls holds listing rows (admin.CallSummary) by id.
export const calls = new Map();

// merge puts changed rows in; it returns the ids whose row changed.
export function merge(rows) {
  const changed = [];
  for (const r of rows) {
    const cur = calls.get(r.id);
    if (!cur || cur.version !== r.version || cur.state !== r.state) changed.push(r.id);
    if (!cur || cur.version <= r.version) calls.set(r.id, r);
  }
  return changed;
}

// newestFirst orders rows as the listing does.
export function newestFirst(a, b) {
  const x = Date.parse(b.createdDateTime) - Date.parse(a.createdDateTime);
  if (x) return x;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
