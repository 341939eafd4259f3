// One call: what it is, the simulator's controls, its operations (prompts,
// recordings with a player), the callback token's claims, the roster of a
// group call, and its timeline: the bot's requests, the notifications with
// each delivery, what the simulated person did.

import { get, post, q, enc, APIError } from './api.js';
import { h, stateBadge, kindLabel, resultBadge, outcomeBadge, identityText, clock, dateTime, json, message, coalesce, short } from './dom.js';
import * as model from './model.js';
import { meetingCard } from './meeting.js';
import { remoteText } from './calls.js';

// The ends the service itself gives a call (call.ServiceEndReasons).
const DROP_REASONS = [
  [410, 301005, 'media connectivity failure'],
  [500, 1005, "connectivity error with the bot's media"],
  [408, 8537, 'no keepAlive received in time'],
  [408, 10057, "no signalling from the callee's endpoints"],
  [480, 10076, 'the callee is unreachable'],
  [200, 5001, 'the conversation has ended'],
];

export class CallView {
  constructor(id) {
    this.id = id.toLowerCase();
    this.openKeys = new Set();
    this.refresh = coalesce(() => this.load(), 250);
    this.refreshTimeline = coalesce(() => this.loadTimeline(), 250);
    this.refreshGroup = coalesce(() => this.loadGroup(), 250);
  }

  mount(root) {
    this.head = h('div');
    this.controls = h('div');
    this.roster = h('div');
    this.ops = h('div');
    this.token = h('div');
    this.timeline = h('ol', { class: 'timeline', id: 'timeline' });
    this.timelineNote = h('p', { class: 'explain' });
    root.replaceChildren(
      h('p', null, h('a', { href: '#/calls' }, '← All calls')),
      h('section', { class: 'panel' }, this.head, this.controls),
      this.roster,
      h('div', { class: 'grid2' },
        h('section', { class: 'panel' }, h('h2', null, 'Operations'),
          h('p', { class: 'explain' }, "What the bot asked of the call: prompts (with how each played), recordings (play them here), keys sent, invitations, mutes. The running ones and the latest finished ones."),
          this.ops),
        h('section', { class: 'panel' }, h('h2', null, 'Callback token'),
          h('p', { class: 'explain' }, "The claims of the bearer token on this call's notifications: a bot checks the signature (keys at /v1/keys), the audience (its client id), the issuer and the tenant."),
          this.token)),
      h('section', { class: 'panel' }, h('h2', null, 'Timeline'),
        h('p', { class: 'explain' }, 'Everything callplane saw of the call, oldest first: the bot\'s requests with their status, each notification with its delivery (attempts, the bot\'s answer, errors, the next retry), and what the simulated person did. Expand an entry for its JSON.'),
        this.timelineNote, this.timeline));
    this.refresh();
    this.loadToken();
  }

  onHello() { this.refresh(); }

  onCalls(ev) {
    model.merge(ev.calls || []);
    if (ev.resync || (ev.calls || []).some((c) => c.id === this.id)) this.refresh();
  }

  onDeliveries(ev) {
    if (ev.all || (ev.calls || []).includes(this.id)) this.refreshTimeline();
  }

  onMeetings(ev) {
    const id = this.summary && this.summary.groupId;
    if (id && (ev.resync || (ev.meetings || []).some((g) => g.id === id))) this.refreshGroup();
  }

  async load() {
    let s;
    try {
      s = await get('/calls/' + enc(this.id) + '/summary');
    } catch (e) {
      if (e instanceof APIError && e.status === 404) {
        this.head.replaceChildren(h('h2', null, 'No such call'), h('p', { class: 'explain' }, 'It never was, or it ended longer ago than the retention window and was purged.'));
        return;
      }
      throw e;
    }
    this.summary = s;
    model.merge([s]);
    await model.loadApps().catch(() => {});
    this.renderHead(s);
    this.renderControls(s);
    this.renderOps(s);
    if (s.groupId) this.refreshGroup();
    await this.loadTimeline();
  }

  renderHead(s) {
    const facts = [
      ['Direction', s.direction === 'incoming' ? 'incoming: someone called the bot' : 'outgoing: the bot placed it'],
      ['Application', model.appName(s.applicationId) + ' (' + s.applicationId + ')'],
      ['Remote party', remoteText(s)],
      ['Created', dateTime(s.createdDateTime)],
      s.endedDateTime ? ['Ended', dateTime(s.endedDateTime)] : null,
      s.resultInfo ? ['Result', `${s.resultInfo.code}/${s.resultInfo.subcode} ${s.resultInfo.message || ''}`] : null,
      s.outcome ? ['For the simulated party', s.outcome + (s.reason ? ' (' + s.reason + ')' : '')] : null,
      s.tonesReceived ? ['Keys the bot sent', s.tonesReceived] : null,
      s.recordingStatus ? ['Recording status', s.recordingStatus] : null,
      s.callbackUri ? ['Callback URI', s.callbackUri] : null,
      s.callChainId ? ['Call chain id', s.callChainId] : null,
      s.groupId ? ['Meeting', h('a', { href: '#/simulator', title: 'Meetings & simulator' }, s.groupId)] : null,
    ].filter(Boolean);
    this.head.replaceChildren(
      h('div', { class: 'callhead' },
        h('h1', { title: 'The call id' }, s.id),
        stateBadge(s.state, 'call-state'),
        kindLabel(s.kind),
        resultBadge(s.resultInfo),
        outcomeBadge(s)),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
  }

  renderControls(s) {
    const liveCall = s.state !== 'terminating' && s.state !== 'terminated';
    if (!liveCall) {
      this.controls.replaceChildren(h('p', { class: 'explain' }, 'The call has ended: nothing more to do with it.'));
      return;
    }
    const msg = h('div', { id: 'call-message' });
    const act = (fn, ok) => async () => {
      try {
        await fn();
        message(msg, ok, true);
      } catch (e) {
        message(msg, e.message, false);
      }
      this.refresh();
    };
    const base = '/calls/' + enc(s.id);
    const keys = h('input', { type: 'text', id: 'keys', placeholder: '1#', maxlength: 64, title: 'Keys: 0-9, *, #, A-D' });
    const secs = h('input', { type: 'number', id: 'speak-seconds', min: '0.1', max: '60', step: '0.1', value: '2' });
    const reason = h('select', { id: 'drop-reason', title: 'The resultInfo the call ends with' },
      DROP_REASONS.map(([c, sc, what]) => h('option', { value: `${c}/${sc}` }, `${c}/${sc}: ${what}`)));
    const groups = [];
    if (s.remote) {
      groups.push(
        h('div', { class: 'group', title: 'The remote party presses keys: the bot hears them once it subscribed to tones (subscribeToTone), and recordings stop on their stop tones' },
          h('div', { class: 'field' }, h('label', { for: 'keys' }, 'Press keys'), keys),
          h('button', { type: 'button', id: 'press-keys', onclick: act(() => post(base + '/tones', { tones: keys.value.trim() }), 'Pressed.') }, 'Press')),
        h('div', { class: 'group', title: 'The remote party speaks: a recording listening hears it' },
          h('div', { class: 'field' }, h('label', { for: 'speak-seconds' }, 'Speak (seconds)'), secs),
          h('button', { type: 'button', id: 'speak', onclick: act(() => post(base + '/speech', { seconds: Number(secs.value) }), 'Spoke.') }, 'Speak')),
        h('div', { class: 'group', title: 'The remote party hangs up: the bot hears terminated (200/4521 for a person, 540000 for a phone)' },
          h('button', { type: 'button', id: 'hangup', class: 'danger', onclick: act(() => post(base + '/hangup'), 'Hung up.') }, 'Hang up as the remote party')));
    }
    groups.push(h('div', { class: 'group', title: 'The service ends the call on its own, as the real one does when media fails: the bot hears terminating, then terminated with the reason' },
      h('div', { class: 'field' }, h('label', { for: 'drop-reason' }, 'Reason'), reason),
      h('button', { type: 'button', id: 'drop', class: 'danger', onclick: act(() => {
        const [code, subcode] = reason.value.split('/').map(Number);
        return post(base + '/drop', { code, subcode });
      }, 'Dropped.') }, 'Drop as the service')));
    this.controls.replaceChildren(
      h('h3', null, 'Simulator'),
      h('p', { class: 'explain' }, s.remote ? 'Act as the party at the other end of the call, or as the service.' : "This is a group call's leg: the people are in the meeting below, act as them there."),
      h('div', { class: 'controls' }, groups), msg);
  }

  renderOps(s) {
    const ops = s.operations || [];
    const heard = (s.prompts || []).length ? h('div', null, h('h3', null, 'What the person heard'),
      h('ul', { class: 'plain' }, s.prompts.map((p) => h('li', null,
        h('span', { class: 'badge ' + (p.outcome === 'played' ? 'ok' : p.outcome === 'cancelled' ? 'warn' : 'bad'), title: 'played, cancelled, or failed with why' }, p.outcome), ' ',
        h('span', { class: 'mono' }, p.uri), ` ${p.durationSeconds.toFixed(1)} s`)))) : null;
    if (!ops.length) {
      this.ops.replaceChildren(h('p', { class: 'empty' }, 'No operations yet.'), ...(heard ? [heard] : []));
      return;
    }
    this.ops.replaceChildren(h('table', null,
      h('thead', null, h('tr', null, h('th', null, 'Operation'), h('th', null, 'Status'), h('th', null, 'What'))),
      h('tbody', null, ops.map((op) => h('tr', { dataset: { operationId: op.id, type: op.type } },
        h('td', null, op.type, h('div', { class: 'mono sub', title: op.id }, short(op.id)), op.clientContext ? h('div', { class: 'sub' }, 'clientContext: ' + op.clientContext) : null),
        h('td', null, h('span', { class: 'badge ' + (op.status === 'failed' ? 'bad' : op.status === 'running' ? 'warn' : 'ok') }, op.status), ' ', resultBadge(op.resultInfo)),
        h('td', null,
          (op.prompts || []).map((p) => h('div', null, 'prompt ', h('span', { class: 'mono' }, p.uri || '(resource)'),
            p.failure ? h('span', { class: 'badge bad', title: p.failure.message }, ` cannot play: ${p.failure.code}/${p.failure.subcode}`) : ` ${p.durationSeconds.toFixed(1)} s`)),
          op.completionReason ? h('div', { class: 'sub' }, 'completion: ' + op.completionReason) : null,
          op.dtmf ? h('div', null, 'keys sent: ', h('span', { class: 'mono' }, op.dtmf)) : null,
          (op.invitees || []).length ? h('div', null, 'invited: ' + op.invitees.map(identityText).join(', ')) : null,
          op.recording ? h('div', null,
            h('div', { class: 'sub' }, `recording: ${op.recording.durationSeconds.toFixed(1)} s, ${op.recording.speechSeconds.toFixed(1)} s of ${op.recording.voiced ? 'uploaded audio' : 'speech (a tone)'}`),
            this.audioFor(s.id, op.id)) : null))))));
    if (heard) this.ops.append(heard);
  }

  // audioFor keeps each recording's player across refreshes, so that a
  // change of the call does not stop what is playing.
  audioFor(callID, opID) {
    if (!this.players) this.players = new Map();
    let a = this.players.get(opID);
    if (!a) {
      a = h('audio', { controls: true, preload: 'none', src: '/console/recordings/' + enc(callID) + '/' + enc(opID), title: 'Plays the recording through this console session' });
      this.players.set(opID, a);
    }
    return a;
  }

  async loadToken() {
    try {
      const t = await get('/calls/' + enc(this.id) + '/callback-token');
      this.token.replaceChildren(h('pre', { id: 'token-claims' }, json(t.claims)),
        h('details', { class: 'json' }, h('summary', null, 'Header'), h('pre', null, json(t.header))),
        h('p', { class: 'sub' }, t.note));
    } catch (e) {
      this.token.replaceChildren(h('p', { class: 'empty' }, 'No callback token to show: ' + e.message));
    }
  }

  async loadGroup() {
    const gid = this.summary && this.summary.groupId;
    if (!gid) return;
    try {
      const g = await get('/meetings/' + enc(gid));
      this.roster.replaceChildren(h('section', { class: 'panel' }, h('h2', null, 'Roster'),
        h('p', { class: 'explain' }, 'The people (and bots) in the meeting this call is a leg of.'),
        meetingCard(g, () => this.refreshGroup())));
    } catch (e) {
      this.roster.replaceChildren(h('section', { class: 'panel' }, h('h2', null, 'Roster'), h('p', { class: 'empty' }, 'The meeting cannot be shown: ' + e.message)));
    }
  }

  async loadTimeline() {
    const [tl, ds] = await Promise.all([
      get('/calls/' + enc(this.id) + '/timeline'),
      get('/deliveries' + q({ call: this.id, limit: 500 })),
    ]);
    const byMessage = new Map((ds.value || []).map((d) => [d.messageId, d]));
    const entries = tl.value || [];
    // Keep expanded entries expanded.
    for (const d of this.timeline.querySelectorAll('details[open]')) this.openKeys.add(d.dataset.key);
    for (const d of this.timeline.querySelectorAll('details:not([open])')) this.openKeys.delete(d.dataset.key);
    const first = entries.length ? Date.parse(entries[0].at) : 0;
    const counts = {};
    const lis = entries.map((e) => {
      const n = (counts[e.kind] = (counts[e.kind] || 0) + 1);
      const key = e.kind + ':' + (e.messageId || (e.at + e.path + e.did + n));
      return this.entry(e, byMessage.get(e.messageId), key, Date.parse(e.at) - first);
    });
    this.timeline.replaceChildren(...lis);
    const failed = entries.filter((e) => e.kind === 'notification' && (e.delivery === 'failed' || e.delivery === 'dropped')).length;
    this.timelineNote.replaceChildren(
      `${entries.length} entries: ${counts.request || 0} requests, ${counts.notification || 0} notifications`,
      failed ? h('span', { class: 'badge bad' }, ` ${failed} not delivered`) : '',
      counts.person ? `, ${counts.person} actions of the person` : '');
  }

  entry(e, d, key, delta) {
    let badge, line, cls = '', extra = null;
    if (e.kind === 'request') {
      const bad = e.status >= 400;
      badge = h('span', { class: 'badge info', title: "A request of the bot's about this call" }, 'request');
      line = [h('span', { class: 'mono' }, `${e.method} ${e.path}`),
        h('span', { class: 'badge ' + (bad ? 'bad' : 'ok'), title: 'The status callplane answered' }, String(e.status)),
        e.action ? h('span', { class: 'badge plain' }, e.action) : null,
        e.durationMs != null ? h('span', { class: 'sub' }, `${e.durationMs} ms`) : null];
      if (bad) cls = 'failed';
    } else if (e.kind === 'notification') {
      const failed = e.delivery === 'failed' || e.delivery === 'dropped';
      if (failed) cls = 'failed';
      badge = h('span', { class: 'badge hold', title: 'A notification callplane sent the bot' }, 'notification');
      const what = [e.changeType, e.state ? 'state=' + e.state : '', e.tone ? 'tone=' + e.tone : '', e.operationStatus ? 'operation ' + e.operationStatus : ''].filter(Boolean).join(' ');
      line = [h('b', null, what),
        h('span', { class: 'mono sub' }, e.resourceUrl || ''),
        e.resultInfo ? resultBadge(e.resultInfo) : null,
        h('span', { class: 'badge ' + ({ delivered: 'ok', pending: 'warn', failed: 'bad', dropped: 'bad' }[e.delivery] || ''), title: deliveryMeaning(e.delivery) }, e.delivery)];
      const next = d && d.nextAttemptAt;
      extra = h('div', { class: 'attempts' },
        `${e.attempts || 0} attempt${e.attempts === 1 ? '' : 's'}`,
        e.ackStatus ? `, the bot answered ${e.ackStatus}` : '',
        e.ackMs ? ` in ${e.ackMs} ms` : '',
        e.lastError ? [', ', h('span', { class: 'err' }, e.lastError)] : '',
        !e.lastError && e.delivery !== 'delivered' && e.ackStatus >= 300 ? [', ', h('span', { class: 'err' }, `HTTP ${e.ackStatus} from the bot`)] : '',
        next ? `, next retry ${clock(next)}` : '');
    } else {
      badge = h('span', { class: 'badge warn', title: 'What the simulated person did' }, 'person');
      line = [h('b', null, e.did === 'pressed' ? `pressed ${e.keys}` : e.did === 'spoke' ? `spoke for ${e.seconds} s` : e.did)];
    }
    const payload = d && d.payload;
    return h('li', { class: cls, dataset: { entryKind: e.kind, tone: e.tone || null, delivery: e.delivery || null, change: e.changeType || null, state: e.state || null, status: e.status || null } },
      h('span', { class: 'when', title: e.at }, clock(e.at)),
      h('span', { class: 'delta', title: 'Since the first entry' }, '+' + (delta / 1000).toFixed(3)),
      h('span', null, badge),
      h('div', { class: 'what' }, h('div', { class: 'line' }, line), extra,
        h('details', { dataset: { key }, open: this.openKeys.has(key) || null }, h('summary', null, 'JSON'),
          h('pre', null, json(e)),
          payload ? [h('div', { class: 'sub' }, 'The notification as sent:'), h('pre', null, json(payload))] : null)));
  }
}

function deliveryMeaning(d) {
  return {
    delivered: 'The bot acknowledged it (2xx).',
    pending: 'Not delivered yet: being sent, or waiting for its next retry.',
    failed: 'Given up on: the bot never acknowledged it before the retry deadline (or its host was dead, or its backlog full).',
    dropped: 'A fault rule dropped it: never sent, on purpose.',
  }[d] || d;
}

