// The calls view: every call of the tenant, newest first, live.
//
// Rendering is one DOM update per change: the rows are elements kept by
// call id and rebuilt only when their call changed, then the table body's
// children are replaced at once.

import { get, q } from './api.js';
import { h, stateBadge, kindLabel, resultBadge, outcomeBadge, identityText, ago, short, coalesce, STATES, dateTime, isFailure } from './dom.js';
import * as model from './model.js';

const LIMIT = 1000;

export class CallsView {
  constructor() {
    this.rowCache = new Map(); // call id: {key, tr, age}
    this.failing = new Set(); // calls with failed or dropped deliveries
    this.nextLink = '';
    this.refresh = coalesce(() => this.load(), 300);
    this.refreshFailing = coalesce(() => this.loadFailing(), 1000);
  }

  mount(root) {
    this.app = h('select', { id: 'filter-app', title: 'Only the calls of this application', onchange: () => this.refresh() },
      h('option', { value: '' }, 'All applications'));
    this.state = h('select', { id: 'filter-state', title: 'Only the calls in this state', onchange: () => this.refresh() },
      h('option', { value: '' }, 'Any state'),
      h('option', { value: 'live' }, 'Live (not ended)'),
      Object.keys(STATES).map((s) => h('option', { value: s }, s)));
    this.count = h('span', { class: 'count', id: 'calls-count' });
    this.more = h('button', { type: 'button', hidden: true, onclick: () => this.loadOlder() }, 'Load older calls');
    this.tbody = h('tbody', { onclick: (e) => {
      const tr = e.target.closest('tr[data-call-id]');
      if (tr && !e.target.closest('a')) location.hash = '#/calls/' + tr.dataset.callId;
    } });
    this.empty = h('p', { class: 'empty', hidden: true },
      'No calls yet. A bot places one through Graph (POST /v1.0/communications/calls), or ring a bot from ',
      h('a', { href: '#/simulator' }, 'Meetings & simulator'), '.');
    root.replaceChildren(h('section', { class: 'panel' },
      h('h2', null, 'Calls'),
      h('p', { class: 'explain' },
        'Every call of the tenant, newest first: the calls bots place or answer through Graph, and their legs of meetings. ',
        'Ended calls stay listed for the retention window. The list follows changes live; click a call for its timeline, operations and controls.'),
      h('div', { class: 'toolbar' }, this.app, this.state, this.count),
      h('table', { class: 'calls', id: 'calls-table' },
        h('thead', null, h('tr', null,
          h('th', { title: "The call's state, as Graph reports it to the bot" }, 'State'),
          h('th', { title: 'How it ended (resultInfo code/subcode; red is a failure), or how it went for the simulated party' }, 'Result'),
          h('th', { title: 'peer-to-peer, a meeting leg, or an ad-hoc group call' }, 'Kind'),
          h('th', { title: 'outgoing: the bot placed it; incoming: someone called the bot' }, 'Direction'),
          h('th', { title: 'The application (bot) the call belongs to' }, 'Application'),
          h('th', { title: 'Who is at the other end: the caller or callee, or the meeting' }, 'Remote party'),
          h('th', { title: 'Time since the call was created' }, 'Age'),
          h('th', null, 'Call id'))),
        this.tbody),
      this.empty,
      this.more,
      h('div', { class: 'legend' }, 'States:', Object.keys(STATES).map((s) => stateBadge(s)))));
    this.ticker = setInterval(() => this.tick(), 1000);
    model.loadApps().then(() => this.fillApps()).catch(() => {});
    this.render();
    this.refresh();
    this.refreshFailing();
  }

  unmount() { clearInterval(this.ticker); }

  fillApps() {
    const cur = this.app.value;
    this.app.replaceChildren(h('option', { value: '' }, 'All applications'),
      ...[...model.apps.values()].map((a) => h('option', { value: a.id }, (a.displayName || a.id) + (a.devApplication ? ' (dev)' : ''))));
    this.app.value = cur;
    this.rowCache.clear(); // application names may have changed
    this.render();
  }

  filters() {
    const state = this.state.value;
    return { app: this.app.value, state: state === 'live' ? '' : state, live: state === 'live' };
  }

  async load() {
    const f = this.filters();
    const list = await get('/calls' + q({ app: f.app, state: f.state, limit: LIMIT }));
    if (!f.app && !f.state) model.calls.clear(); // the full listing: what is gone goes
    model.merge(list.value || []);
    this.nextLink = list['@odata.nextLink'] || '';
    this.render();
  }

  async loadOlder() {
    if (!this.nextLink) return;
    const list = await get(this.nextLink.replace(/^\/callplane/, ''));
    model.merge(list.value || []);
    this.nextLink = list['@odata.nextLink'] || '';
    this.shown = (this.shown || LIMIT) + LIMIT;
    this.render();
  }

  async loadFailing() {
    const [failed, dropped] = await Promise.all([
      get('/deliveries' + q({ status: 'failed', limit: 500 })),
      get('/deliveries' + q({ status: 'dropped', limit: 500 })),
    ]);
    const next = new Set([...(failed.value || []), ...(dropped.value || [])].map((d) => d.callId));
    const same = next.size === this.failing.size && [...next].every((id) => this.failing.has(id));
    if (!same) {
      this.failing = next;
      this.render();
    }
  }

  onHello() { this.refresh(); this.refreshFailing(); }

  onCalls(ev) {
    if (ev.resync) { this.refresh(); return; }
    if (model.merge(ev.calls || []).length) this.render();
  }

  onDeliveries() { this.refreshFailing(); }

  matches(c, f) {
    if (f.app && c.applicationId !== f.app) return false;
    if (f.state && c.state !== f.state) return false;
    if (f.live && c.state === 'terminated') return false;
    return true;
  }

  render() {
    const f = this.filters();
    const rows = [...model.calls.values()].filter((c) => this.matches(c, f)).sort(model.newestFirst).slice(0, this.shown || LIMIT);
    const keep = new Map();
    const trs = rows.map((c) => {
      const key = `${c.version}|${c.state}|${this.failing.has(c.id)}`;
      let e = this.rowCache.get(c.id);
      if (!e || e.key !== key) e = this.row(c, key);
      keep.set(c.id, e);
      return e.tr;
    });
    this.rowCache = keep;
    patch(this.tbody, trs);
    const live = rows.filter((c) => c.state !== 'terminated').length;
    this.count.textContent = `${rows.length} call${rows.length === 1 ? '' : 's'} shown, ${live} live`;
    this.empty.hidden = rows.length > 0;
    this.more.hidden = !this.nextLink;
  }

  row(c, key) {
    const now = Date.now();
    const age = h('td', { class: 'age', title: 'created ' + dateTime(c.createdDateTime) + (c.endedDateTime ? ', ended ' + dateTime(c.endedDateTime) : '') },
      ago(c.createdDateTime, now));
    const failing = this.failing.has(c.id);
    const tr = h('tr', { class: c.state === 'terminated' ? 'ended' : null, dataset: { callId: c.id, state: c.state } },
      h('td', null, stateBadge(c.state)),
      h('td', null,
        c.resultInfo ? resultBadge(c.resultInfo) : outcomeBadge(c), ' ',
        failing ? h('span', { class: 'badge bad', title: 'A notification of this call could not be delivered: see its timeline, or Deliveries' }, 'delivery failed') : null),
      h('td', null, kindLabel(c.kind)),
      h('td', null, c.direction || ''),
      h('td', null, model.appName(c.applicationId)),
      h('td', null, remoteText(c)),
      age,
      h('td', { class: 'mono' }, h('a', { href: '#/calls/' + c.id, title: c.id }, short(c.id))));
    if (isFailure(c.resultInfo)) tr.classList.add('failed');
    return { key, tr, age, created: c.createdDateTime };
  }

  tick() {
    const now = Date.now();
    for (const e of this.rowCache.values()) {
      const t = ago(e.created, now);
      if (e.age.textContent !== t) e.age.textContent = t;
    }
  }
}

// patch makes rows the children of tbody. Rows that stay where they are are
// left alone; when only a few rows come, go or change (a new call, a state
// change), just those are inserted or removed; otherwise every child is
// replaced at once, in one DOM update.
function patch(tbody, rows) {
  const want = new Set(rows);
  const steps = (apply) => {
    let n = 0;
    let cur = tbody.firstElementChild;
    const next = () => { const el = cur; cur = cur.nextElementSibling; return el; };
    for (const tr of rows) {
      while (cur && !want.has(cur)) {
        const gone = next();
        n++;
        if (apply) gone.remove();
      }
      if (cur === tr) { next(); continue; }
      n++;
      if (apply) tbody.insertBefore(tr, cur);
      if (!apply && n > 50) return n;
    }
    while (cur) {
      const gone = next();
      n++;
      if (apply) gone.remove();
    }
    return n;
  };
  const n = steps(false);
  if (n === 0) return;
  if (n > 50) tbody.replaceChildren(...rows);
  else steps(true);
}

export function remoteText(c) {
  if (c.remote) return identityText(c.remote);
  if (c.kind === 'meeting') return 'meeting' + (c.subject ? ' “' + c.subject + '”' : ' ' + short(c.groupId));
  if (c.targets && c.targets.length) return c.targets.map(identityText).join(', ');
  return c.subject || '—';
}
