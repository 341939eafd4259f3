// The meetings and ad-hoc group calls of the tenant (GET /meetings): the
// live ones first, then those ended within the retention window, newest
// first, kept up to date by the "meetings" events (their rows). A row
// opens the meeting's card (meeting.js) with its people and controls; the
// meetings opened are remembered across reloads.

import { get, q, enc } from './api.js';
import { h, ago, dateTime, short, coalesce, identityText, identityOf } from './dom.js';
import { meetingCard } from './meeting.js';
import { newestFirst } from './model.js';

const LIVE_LIMIT = 500;
const ENDED_LIMIT = 100;
const MAX_OPEN = 20;

const KEY = 'callplane.console.meetings';
function remembered() {
  try { return JSON.parse(localStorage.getItem(KEY) || '[]').filter((x) => typeof x === 'string'); } catch { return []; }
}
function remember(ids) { localStorage.setItem(KEY, JSON.stringify([...new Set(ids)].slice(0, MAX_OPEN))); }

function organizerName(set) {
  const who = identityOf(set);
  return (who && (who.name || who.id)) || '—';
}

export class MeetingsPanel {
  constructor() {
    this.rows = new Map(); // meeting id: its row (admin.MeetingSummary)
    this.cards = new Map(); // meeting id: its card element
    this.stale = new Set(); // opened meetings whose card must be loaded again
    this.more = { live: false, ended: false };
    this.refresh = coalesce(() => this.load(), 300);
    this.refreshCards = coalesce(() => this.loadCards(), 200);
  }

  element() {
    this.count = h('span', { class: 'count', id: 'meetings-count' });
    this.tbody = h('tbody', { onclick: (e) => {
      const tr = e.target.closest('tr[data-meeting-id]');
      if (tr && !e.target.closest('a, button')) this.toggle(tr.dataset.meetingId);
    } });
    this.empty = h('p', { class: 'empty', id: 'no-meetings', hidden: true }, 'No meetings yet: create one above, or have a bot place a group call.');
    this.truncated = h('p', { class: 'sub', hidden: true });
    this.open = h('div', { id: 'meetings' });
    this.ticker = setInterval(() => this.tick(), 1000);
    return h('section', { class: 'panel' }, h('h2', null, 'Meetings'),
      h('p', { class: 'explain' }, 'The meetings and group calls of the tenant, live ones first, then those ended within the retention window. Open one to act as its people: mute, remove, present their screen, press keys, speak; add people or invite bots; end it.'),
      h('div', { class: 'toolbar' }, this.count),
      h('table', { class: 'calls meetings', id: 'meetings-table' },
        h('thead', null, h('tr', null,
          h('th', { title: 'Running, or ended (every bot leg terminated, or ended here)' }, 'State'),
          h('th', { title: 'A meeting bots join by its join info, or a group call a bot placed to several people' }, 'Kind'),
          h('th', null, 'Subject'),
          h('th', { title: "Who is in the roster now, and how many of them are bots' legs" }, 'Participants'),
          h('th', { title: 'Time since it was created' }, 'Age'),
          h('th', null, 'Meeting id'),
          h('th', null, ''))),
        this.tbody),
      this.empty, this.truncated, this.open);
  }

  unmount() { clearInterval(this.ticker); }

  // opened says whether the meeting's card shows.
  opened(id) { return remembered().includes(id); }

  // show opens a meeting's card (a meeting just created here, say).
  show(id) {
    remember([id, ...remembered()]);
    this.stale.add(id);
    this.render();
    this.refreshCards();
  }

  toggle(id) {
    if (this.opened(id)) this.hide(id);
    else this.show(id);
  }

  hide(id) {
    remember(remembered().filter((x) => x !== id));
    this.cards.delete(id);
    this.render();
  }

  forget() {
    remember([]);
    this.cards.clear();
  }

  async load() {
    const [live, ended] = await Promise.all([
      get('/meetings' + q({ ended: 'false', limit: LIVE_LIMIT })),
      get('/meetings' + q({ ended: 'true', limit: ENDED_LIMIT })),
    ]);
    this.rows.clear(); // the full listing: what is gone goes
    for (const r of [...(live.value || []), ...(ended.value || [])]) this.rows.set(r.id, r);
    this.more = { live: !!live['@odata.nextLink'], ended: !!ended['@odata.nextLink'] };
    for (const id of remembered()) this.stale.add(id);
    this.render();
    this.refreshCards();
  }

  // onMeetings merges the changed rows and reloads the cards of the open
  // meetings among them.
  onMeetings(ev) {
    if (ev.resync) { this.refresh(); return; }
    let changed = false;
    for (const r of ev.meetings || []) {
      const cur = this.rows.get(r.id);
      if (cur && cur.version >= r.version) continue;
      this.rows.set(r.id, r);
      changed = true;
      if (this.opened(r.id)) this.stale.add(r.id);
    }
    if (!changed) return;
    this.render();
    if (this.stale.size) this.refreshCards();
  }

  async loadCards() {
    const ids = [...this.stale].filter((id) => this.opened(id));
    this.stale.clear();
    await Promise.all(ids.map(async (id) => {
      let card;
      try {
        const g = await get('/meetings/' + enc(id));
        card = meetingCard(g, () => { this.stale.add(id); this.refreshCards(); }, { close: () => this.hide(id) });
      } catch (e) {
        if (e.status === 404) { this.hide(id); return; }
        card = h('div', { class: 'meeting', dataset: { meetingId: id } }, h('span', { class: 'mono' }, short(id)), ': ', e.message);
      }
      if (this.opened(id)) this.cards.set(id, card);
    }));
    this.renderCards();
  }

  sorted() {
    const all = [...this.rows.values()];
    return [...all.filter((r) => !r.ended).sort(newestFirst), ...all.filter((r) => r.ended).sort(newestFirst)];
  }

  render() {
    const rows = this.sorted();
    const now = Date.now();
    this.ages = [];
    this.tbody.replaceChildren(...rows.map((r) => this.row(r, now)));
    const live = rows.filter((r) => !r.ended).length;
    this.count.textContent = `${live} live, ${rows.length - live} ended`;
    this.empty.hidden = rows.length > 0;
    const cut = [this.more.live ? `the newest ${LIVE_LIMIT} live` : '', this.more.ended ? `the newest ${ENDED_LIMIT} ended` : ''].filter(Boolean);
    this.truncated.hidden = !cut.length;
    this.truncated.textContent = cut.length ? 'Showing ' + cut.join(' and ') + ' (GET /callplane/meetings pages through the rest).' : '';
    this.renderCards();
  }

  row(r, now) {
    const open = this.opened(r.id);
    const age = h('td', { class: 'age', title: 'created ' + dateTime(r.createdDateTime) + (r.endedDateTime ? ', ended ' + dateTime(r.endedDateTime) : '') },
      ago(r.createdDateTime, now));
    this.ages.push([age, r.createdDateTime]);
    const meeting = r.kind === 'meeting';
    return h('tr', { class: (r.ended ? 'ended' : '') + (open ? ' open' : '') || null, dataset: { meetingId: r.id, ended: String(r.ended), participants: r.participantsCount } },
      h('td', null, r.ended ? h('span', { class: 'badge', title: 'Ended' }, 'ended') : h('span', { class: 'badge ok', title: 'Running' }, 'running')),
      h('td', null, h('span', { class: 'badge plain' }, meeting ? 'meeting' : 'ad-hoc group')),
      h('td', null, r.subject || (meeting ? 'Meeting' : 'Ad-hoc group call'), r.organizer ? h('span', { class: 'sub', title: 'Organizer: ' + identityText(r.organizer) }, ' by ' + organizerName(r.organizer)) : null),
      h('td', { class: 'participants' }, String(r.participantsCount), r.botsCount ? h('span', { class: 'sub' }, ` (${r.botsCount} bot${r.botsCount === 1 ? '' : 's'})`) : null),
      age,
      h('td', { class: 'mono', title: r.id }, short(r.id)),
      h('td', { class: 'acts' }, h('button', { type: 'button', class: 'open-meeting', title: open ? 'Stop showing its people and controls' : 'Show its people and controls',
        onclick: () => this.toggle(r.id) }, open ? 'Hide' : 'Open')));
  }

  // renderCards shows the open meetings' cards in the listing's order.
  renderCards() {
    if (!this.open) return;
    const order = this.sorted().map((r) => r.id);
    const pos = (id) => { const i = order.indexOf(id); return i < 0 ? order.length : i; };
    const ids = remembered().filter((id) => this.cards.has(id)).sort((a, b) => pos(a) - pos(b));
    this.open.replaceChildren(...ids.map((id) => this.cards.get(id)));
  }

  tick() {
    const now = Date.now();
    for (const [td, created] of this.ages || []) {
      const t = ago(created, now);
      if (td.textContent !== t) td.textContent = t;
    }
  }
}
