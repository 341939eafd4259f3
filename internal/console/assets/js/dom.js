// DOM and formatting helpers. Text always goes in as text (never as HTML),
// so nothing a bot or a caller sent can become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv != null) el.dataset[dk] = String(dv);
      } else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) { el.replaceChildren(); return el; }

// States of a call: a colour and what the state means.
export const STATES = {
  incoming: ['info', 'Ringing the bot: an incoming call waiting for the bot to answer, reject or redirect it.'],
  establishing: ['warn', 'Being set up: the callee has not answered yet, or the answer is being connected.'],
  established: ['ok', 'Connected: media flows; the bot can play prompts, record, transfer, hang up.'],
  hold: ['hold', 'On hold.'],
  transferring: ['warn', 'Being transferred: waiting for the transfer target to decide.'],
  transferAccepted: ['warn', 'The transfer target accepted: the call is about to end for the bot.'],
  redirecting: ['warn', 'Being redirected to other targets.'],
  terminating: ['', 'Hanging up: the call is ending.'],
  terminated: ['', 'Ended. Ended calls stay listed for the retention window (--retention, 24 h by default).'],
};

export function stateBadge(state, id) {
  const [cls, what] = STATES[state] || ['', 'State ' + state];
  return h('span', { class: 'badge ' + cls, title: state + ': ' + what, id, dataset: { state } }, state);
}

export const KINDS = {
  peerToPeer: ['peer-to-peer', 'A one-to-one call between the bot and one party (a person, a phone, another bot).'],
  meeting: ['meeting leg', "The bot's own leg of a meeting it joined: the people are in the meeting's roster."],
  adHocGroup: ['ad-hoc group', "The bot's leg of a group call it placed to several people."],
};

export function kindLabel(kind) {
  const [label, what] = KINDS[kind] || [kind || '—', ''];
  return h('span', { class: 'badge plain', title: what || null }, label);
}

// A resultInfo is a failure when its code is 400 or more.
export function isFailure(ri) { return !!ri && ri.code >= 400; }

export function resultBadge(ri) {
  if (!ri) return null;
  const text = `${ri.code}/${ri.subcode}`;
  const cls = isFailure(ri) ? 'bad' : '';
  return h('span', { class: 'badge ' + cls, title: 'resultInfo ' + text + (ri.message ? ': ' + ri.message : '') }, text);
}

// What an outcome (the simulated party's side) means.
export const OUTCOMES = {
  ringing: 'Still ringing.',
  answered: 'The call was answered.',
  rejected: 'The bot rejected the call.',
  redirected: 'The bot redirected the call.',
  transferred: 'The call was transferred.',
  unanswered: 'Nobody answered in time.',
  callerHungUp: 'The caller hung up.',
  calleeHungUp: 'The callee hung up.',
  botHungUp: 'The bot hung up.',
  calleeRefused: 'The callee refused (busy, declined or did not answer).',
};

export function outcomeBadge(view) {
  if (!view.outcome) return null;
  const bad = ['rejected', 'unanswered', 'calleeRefused'].includes(view.outcome);
  const title = (OUTCOMES[view.outcome] || view.outcome) + (view.reason ? ' (' + view.reason + ')' : '');
  return h('span', { class: 'badge ' + (bad ? 'warn' : 'plain'), title }, view.outcome + (view.reason ? ': ' + view.reason : ''));
}

// Identity sets, as Graph writes them ({"user": {...}}).
const IDENTITY_KINDS = ['user', 'phone', 'application', 'applicationInstance', 'guest', 'device',
  'azureCommunicationServicesUser', 'assertedIdentity', 'encrypted', 'onPremises'];

export function identityOf(set) {
  if (!set) return null;
  for (const k of IDENTITY_KINDS) {
    const id = set[k];
    if (id) return { kind: k, id: id.id || '', name: id.displayName || '' };
  }
  return null;
}

export function identityText(set) {
  const i = identityOf(set);
  if (!i) return '—';
  const who = i.name && i.id && i.name !== i.id ? `${i.name} (${i.id})` : (i.name || i.id || '(anonymous)');
  return (i.kind === 'user' ? '' : i.kind + ' ') + who;
}

// Times.
export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
  return Math.floor(s / 86400) + 'd ' + Math.floor(s / 3600) % 24 + 'h';
}

export function clock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function dateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' + clock(iso);
}

// short abbreviates an id to its end: callplane's ids begin with the time
// they were made, so ids made together share their beginning.
export function short(id) { return !id ? '' : id.length > 10 ? '…' + id.slice(-8) : id; }

export function json(v) {
  try { return JSON.stringify(typeof v === 'string' ? JSON.parse(v) : v, null, 2); } catch { return String(v); }
}

export function jsonDetails(label, value, open) {
  return h('details', { class: 'json', open: open || null }, h('summary', null, label), h('pre', null, json(value)));
}

// message shows a short success or error under a form.
export function message(el, text, ok) {
  el.replaceChildren();
  if (!text) return;
  el.append(h('div', { class: 'message ' + (ok ? 'ok' : 'error'), role: ok ? 'status' : 'alert' }, text));
}

// coalesce runs fn now, or once more after the run in progress, never two
// at once and at most once per minGap: refreshes that events trigger.
export function coalesce(fn, minGap = 250) {
  let running = false, again = false, last = 0;
  const go = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      const wait = last + minGap - Date.now();
      if (wait > 0) await new Promise(r => setTimeout(r, wait));
      again = false;
      last = Date.now();
      await fn();
    } catch (e) {
      console.error(e);
    } finally {
      running = false;
      if (again) { again = false; go(); }
    }
  };
  return go;
}

// field is a labelled input.
export function field(label, input, title) {
  return h('div', { class: 'field', title: title || null }, h('label', { for: input.id || null }, label), input);
}
