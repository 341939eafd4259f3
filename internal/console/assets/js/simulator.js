// Meetings & simulator: ring a bot from a person or a phone, the meetings
// and the people in them, the simulated people and how they answer, the
// fault rules, and the reset.

import { get, post, del, enc } from './api.js';
import { h, message, field, coalesce, json } from './dom.js';
import * as model from './model.js';
import { MeetingsPanel } from './meetings.js';
import { PeoplePanel } from './people.js';

const FAULT_EXAMPLES = [
  ['Drop the next notification (never sent)', { kind: 'notification', action: 'drop', times: 1 }],
  ['Duplicate the next "established" notification', { kind: 'notification', changeType: 'updated', state: 'established', action: 'duplicate', times: 1 }],
  ['Delay notifications by 2 s for 30 s', { kind: 'notification', action: 'delay', delay: '2s', for: '30s' }],
  ['Answer the next 2 create-call requests 429', { kind: 'graph', method: 'POST', path: '/communications/calls', status: 429, retryAfter: 1, times: 2 }],
  ['Answer Graph requests 503 for 10 s', { kind: 'graph', status: 503, for: '10s' }],
  ['Slow Graph requests by 300 ms for 10 s', { kind: 'graph', latency: '300ms', for: '10s' }],
  ['Fail the next token request (503)', { kind: 'token', status: 503, times: 1 }],
];

export class SimulatorView {
  constructor() {
    this.meetings = new MeetingsPanel();
    this.people = new PeoplePanel();
    this.refreshFaults = coalesce(() => this.loadFaults(), 300);
  }

  mount(root) {
    this.faults = h('div', { id: 'faults' });
    root.replaceChildren(
      h('div', { class: 'grid2' }, this.ringPanel(), this.createPanel()),
      this.meetings.element(),
      this.people.element(),
      h('div', { class: 'grid2' }, this.faultPanel(), this.resetPanel()));
    model.loadApps().then(() => this.fillTargets()).catch(() => {});
    this.meetings.refresh();
    this.people.refresh();
    this.refreshFaults();
  }

  unmount() { this.meetings.unmount(); }

  onHello() { this.meetings.refresh(); this.people.refresh(); this.refreshFaults(); }
  onMeetings(ev) { this.meetings.onMeetings(ev); }
  onPeople() { this.people.refresh(); }

  ringPanel() {
    const kind = h('select', { id: 'ring-from-kind' }, h('option', { value: 'user' }, 'a person (user)'), h('option', { value: 'phone' }, 'a phone number'));
    const fromID = h('input', { type: 'text', id: 'ring-from-id', value: 'alice', title: "The caller's user id, or a phone number (+15551234567)" });
    const fromName = h('input', { type: 'text', id: 'ring-from-name', value: 'Alice', title: "The caller's display name (people only)" });
    this.to = h('select', { id: 'ring-to', title: 'The bot to call: an application, or the phone number of one of its instances' });
    const msg = h('div', { id: 'ring-result' });
    kind.onchange = () => {
      const phone = kind.value === 'phone';
      fromID.value = phone ? '+15551234567' : 'alice';
      fromName.value = phone ? '' : 'Alice';
      fromName.disabled = phone;
    };
    const ring = async () => {
      const id = fromID.value.trim();
      const from = kind.value === 'phone' ? { phone: { id } } : { user: { id, displayName: fromName.value.trim() || undefined } };
      const [toKind, toID] = this.to.value.split(':');
      const to = toKind === 'phone' ? { phone: { id: toID } } : { application: { id: toID } };
      try {
        const v = await post('/calls', { from, to, requestedModalities: ['audio'] });
        msg.dataset.callId = v.id;
        message(msg, '', true);
        msg.append(h('div', { class: 'message ok', role: 'status' }, 'Ringing the bot: call ', h('a', { href: '#/calls/' + v.id, id: 'ring-call' }, v.id), '. Its webhook gets the incoming call.'));
      } catch (e) {
        delete msg.dataset.callId;
        message(msg, e.message, false);
      }
    };
    return h('section', { class: 'panel' }, h('h2', null, 'Ring a bot'),
      h('p', { class: 'explain' }, "A simulated person or phone calls a bot: the bot's application gets an incoming call (created) at its calling webhook, and answers, rejects or redirects it through Graph."),
      h('div', { class: 'row' },
        field('From', kind), field('Id or number', fromID), field('Name', fromName), field('To', this.to),
        h('button', { type: 'button', class: 'primary', id: 'ring-submit', onclick: ring }, 'Ring')),
      msg);
  }

  fillTargets() {
    const opts = [];
    for (const a of model.apps.values()) {
      opts.push(h('option', { value: 'app:' + a.id }, `${a.displayName || a.id}${a.devApplication ? ' (dev)' : ''}${a.callingWebhook ? '' : ' — no webhook'}`));
      for (const i of a.instances || []) {
        if (i.phoneNumber) opts.push(h('option', { value: 'phone:' + i.phoneNumber }, `${a.displayName || a.id}: ${i.phoneNumber}`));
      }
    }
    this.to.replaceChildren(...opts);
    const dev = model.devApp();
    if (dev) this.to.value = 'app:' + dev.id;
  }

  createPanel() {
    const subject = h('input', { type: 'text', id: 'meeting-subject', value: 'Standup', title: "The meeting's subject" });
    const people = h('input', { type: 'text', id: 'meeting-people', value: 'alice:Alice, bob:Bob', title: 'People already in it: id:Name, separated by commas' });
    const msg = h('div');
    const create = async () => {
      const participants = people.value.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
        const [id, ...name] = x.split(':');
        return { user: { id: id.trim(), displayName: name.join(':').trim() || undefined } };
      });
      try {
        const g = await post('/meetings', { subject: subject.value.trim(), participants, joinMeetingIdSettings: { isPasscodeRequired: false } });
        message(msg, 'Created meeting ' + g.id + ': bots join it with its join info.', true);
        this.meetings.show(g.id);
        this.meetings.refresh();
      } catch (e) {
        message(msg, e.message, false);
      }
    };
    return h('section', { class: 'panel' }, h('h2', null, 'Create a meeting'),
      h('p', { class: 'explain' }, 'A Teams-like meeting with people in it, for a bot to join (by its join info: organizer, join meeting id, or token).'),
      h('div', { class: 'row' }, field('Subject', subject), field('People (id:Name, …)', people),
        h('button', { type: 'button', class: 'primary', id: 'meeting-create', onclick: create }, 'Create')),
      msg);
  }

  faultPanel() {
    const preset = h('select', { title: 'Start from an example' }, h('option', { value: '' }, 'Examples…'),
      FAULT_EXAMPLES.map(([label], i) => h('option', { value: String(i) }, label)));
    const text = h('textarea', { id: 'fault-rule', rows: 4, spellcheck: 'false' }, json(FAULT_EXAMPLES[0][1]));
    preset.onchange = () => { if (preset.value !== '') text.value = json(FAULT_EXAMPLES[Number(preset.value)][1]); };
    const msg = h('div');
    const add = async () => {
      let rule;
      try { rule = JSON.parse(text.value); } catch (e) { message(msg, 'Not JSON: ' + e.message, false); return; }
      try {
        const r = await post('/faults', rule);
        message(msg, 'Added rule ' + r.id + '.', true);
      } catch (e) { message(msg, e.message, false); }
      this.refreshFaults();
    };
    const clearAll = async () => {
      try { await del('/faults'); message(msg, 'Every fault rule removed.', true); } catch (e) { message(msg, e.message, false); }
      this.refreshFaults();
    };
    return h('section', { class: 'panel' }, h('h2', null, 'Fault rules'),
      h('p', { class: 'explain' }, 'Make callplane misbehave as the real service does: fail or slow Graph requests and token requests, drop, delay, duplicate or reorder notifications. A rule lasts for "times" matches or "for" a while.'),
      this.faults,
      h('div', { class: 'toolbar' }, preset),
      text,
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'primary', id: 'fault-add', onclick: add }, 'Add rule'),
        h('button', { type: 'button', class: 'danger', id: 'fault-clear', onclick: clearAll }, 'Clear all rules')),
      msg);
  }

  async loadFaults() {
    const list = await get('/faults');
    const rules = list.value || [];
    this.faults.replaceChildren(rules.length
      ? h('ul', { class: 'plain faults' }, rules.map((r) => h('li', { dataset: { ruleId: r.id } },
        h('div', { class: 'row' }, h('span', { class: 'badge info' }, r.kind), h('span', { class: 'mono sub' }, r.id),
          h('span', { class: 'sub' }, `matched ${r.matched}`), h('button', { type: 'button', class: 'danger', onclick: async () => {
            await del('/faults/' + enc(r.id)).catch(() => {});
            this.refreshFaults();
          } }, 'Remove')),
        h('pre', null, json(r)))))
      : h('p', { class: 'empty', id: 'no-faults' }, 'No fault rules: callplane behaves.'));
  }

  resetPanel() {
    const msg = h('div');
    const reset = async () => {
      if (!confirm('Forget every call, meeting, person, delivery, recording and fault rule? The tenant and applications stay.')) return;
      try {
        await post('/reset');
        model.calls.clear();
        this.meetings.forget();
        message(msg, 'Reset: the world starts over.', true);
      } catch (e) { message(msg, e.message, false); }
      this.meetings.refresh();
      this.people.refresh();
      this.refreshFaults();
    };
    return h('section', { class: 'panel' }, h('h2', null, 'Reset'),
      h('p', { class: 'explain' }, 'End and forget every call, meeting, person, notification, recording and fault rule, without a notification for any of them. The tenant, the applications and their secrets stay, so tokens keep working.'),
      h('button', { type: 'button', class: 'danger', id: 'reset', onclick: reset }, 'Reset the world'), msg);
  }
}
