// Deliveries: the notifications callplane sent the bots and how each
// delivery went, across calls; those not delivered first, with why.

import { get, q } from './api.js';
import { h, clock, dateTime, short, json, coalesce } from './dom.js';

const MEANING = {
  delivered: 'The bot acknowledged it (2xx).',
  pending: 'Not delivered yet: being sent, or waiting for its next retry.',
  failed: 'Given up on: not acknowledged before the retry deadline (--delivery-deadline), or its host was dead, or its backlog full.',
  dropped: 'A fault rule dropped it: never sent, on purpose.',
};
const CLS = { delivered: 'ok', pending: 'warn', failed: 'bad', dropped: 'bad' };

// reason says why a delivery is not (yet) done, in words.
export function reason(d) {
  if (d.status === 'delivered') return '';
  const parts = [];
  if (d.status === 'dropped') parts.push('dropped by a fault rule');
  if (d.lastError) parts.push(d.lastError);
  else if (d.lastStatusCode) parts.push(`the bot answered HTTP ${d.lastStatusCode}`);
  if (!parts.length && d.status === 'pending') parts.push(d.attempts ? 'retrying' : 'being sent');
  return parts.join(': ');
}

export class DeliveriesView {
  constructor() {
    this.refresh = coalesce(() => this.load(), 500);
  }

  mount(root) {
    this.failed = h('div', { id: 'failed-deliveries' });
    this.pending = h('div', { id: 'pending-deliveries' });
    this.recent = h('div', { id: 'recent-deliveries' });
    root.replaceChildren(
      h('section', { class: 'panel' }, h('h2', null, 'Not delivered'),
        h('p', { class: 'explain' }, 'Notifications the bots never acknowledged: failed (given up on after retrying until the deadline) and dropped (by a fault rule), newest first, with the reason: the bot\'s last answer or the error.'),
        this.failed),
      h('section', { class: 'panel' }, h('h2', null, 'Pending'),
        h('p', { class: 'explain' }, 'Being sent, or waiting for a retry: the attempts so far, the last answer, and when the next attempt is due.'),
        this.pending),
      h('section', { class: 'panel' }, h('h2', null, 'Recent'),
        h('p', { class: 'explain' }, 'The latest notifications of every call, whatever became of them.'),
        this.recent));
    this.refresh();
  }

  onHello() { this.refresh(); }
  onDeliveries() { this.refresh(); }

  async load() {
    const [failed, dropped, pending, recent] = await Promise.all([
      get('/deliveries' + q({ status: 'failed', limit: 200 })),
      get('/deliveries' + q({ status: 'dropped', limit: 200 })),
      get('/deliveries' + q({ status: 'pending', limit: 200 })),
      get('/deliveries' + q({ limit: 200 })),
    ]);
    const notDelivered = [...(failed.value || []), ...(dropped.value || [])].sort((a, b) => b.seq - a.seq);
    this.failed.replaceChildren(this.table(notDelivered, 'Every notification so far was delivered, or is still being tried.'));
    this.pending.replaceChildren(this.table(pending.value || [], 'Nothing waiting.'));
    this.recent.replaceChildren(this.table(recent.value || [], 'No notifications yet.'));
  }

  table(rows, none) {
    if (!rows.length) return h('p', { class: 'empty' }, none);
    return h('table', { class: 'deliveries' },
      h('thead', null, h('tr', null,
        h('th', null, 'Created'),
        h('th', { title: 'The call it is about' }, 'Call'),
        h('th', { title: 'changeType, and the state it reports' }, 'Notification'),
        h('th', { title: 'Where it is POSTed: the callback URI' }, 'Callback'),
        h('th', { title: 'pending, delivered, failed or dropped' }, 'Delivery'),
        h('th', { title: 'How often it was POSTed' }, 'Attempts'),
        h('th', { title: "Why it is not delivered: the bot's last answer or the error" }, 'Reason'),
        h('th', { title: 'When the next attempt is due' }, 'Next retry'),
        h('th', null, ''))),
      h('tbody', null, rows.map((d) => h('tr', { dataset: { seq: d.seq, callId: d.callId, status: d.status } },
        h('td', { title: dateTime(d.createdAt) }, clock(d.createdAt)),
        h('td', { class: 'mono' }, h('a', { href: '#/calls/' + d.callId, title: d.callId }, short(d.callId))),
        h('td', null, d.changeType || '', d.state ? ' ' + d.state : ''),
        h('td', { class: 'mono sub' }, d.callbackUri),
        h('td', null, h('span', { class: 'badge ' + (CLS[d.status] || ''), title: MEANING[d.status] || d.status }, d.status)),
        h('td', null, String(d.attempts)),
        h('td', { class: 'reason' }, reason(d)),
        h('td', null, d.nextAttemptAt ? clock(d.nextAttemptAt) : ''),
        h('td', null, h('details', { class: 'json' }, h('summary', null, 'JSON'), h('pre', null, json(d.payload))))))));
  }
}
