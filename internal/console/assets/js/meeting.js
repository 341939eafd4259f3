// A meeting (or ad-hoc group call) and its people, with the simulator's
// controls: add a person or invite a bot, mute, unmute, remove, press keys,
// speak, end the meeting.

import { post, del, enc } from './api.js';
import { h, identityText, identityOf, message, json, short } from './dom.js';

// meetingCard renders a group view (admin.GroupView); changed is called
// after each action, to load the meeting again.
export function meetingCard(g, changed, opts = {}) {
  const msg = h('div', { class: 'msg' });
  const act = (fn, ok) => async () => {
    try {
      await fn();
    } catch (e) {
      message(msg, e.message, false);
      return;
    }
    message(msg, ok, true);
    changed();
  };
  const base = '/meetings/' + enc(g.id);
  const people = g.participants || [];
  const rows = people.map((p) => {
    const who = p.info && p.info.identity;
    const ident = identityOf(who);
    const isGallery = !!(who && who.application && who.application.ApplicationType === 'LargeGallery-V2');
    const isBot = !isGallery && ident && (ident.kind === 'application' || ident.kind === 'applicationInstance');
    const sharing = (p.mediaStreams || []).some((m) => m.mediaType === 'videoBasedScreenSharing');
    const keys = h('input', { type: 'text', placeholder: '1#', maxlength: 64, title: 'Keys to press: 0-9, *, #, A-D' });
    const secs = h('input', { type: 'number', min: '0.1', max: '60', step: '0.1', value: '2', title: 'Seconds to speak for' });
    const pid = enc(p.id);
    return h('tr', { dataset: { participantId: p.id } },
      h('td', null, isGallery ? 'Large gallery view' : identityText(who), isBot ? h('span', { class: 'sub' }, ' (bot)') : null,
        sharing ? h('span', { class: 'badge info', title: 'Sharing their screen' }, 'presenting') : null),
      h('td', { class: 'mono', title: p.id }, short(p.id)),
      h('td', null, p.isMuted ? h('span', { class: 'badge warn', title: 'Server-muted' }, 'muted') : h('span', { class: 'badge ok' }, 'unmuted'),
        p.isInLobby ? h('span', { class: 'badge info' }, 'in lobby') : null),
      h('td', null, p.callId ? h('a', { href: '#/calls/' + p.callId, title: "The bot's call resource for its leg" }, short(p.callId)) : '—'),
      g.ended ? h('td', null, '—') : h('td', { class: 'acts' },
        isGallery ? null : [h('button', { type: 'button', title: p.isMuted ? 'Unmute' : 'Server-mute this participant',
          onclick: act(() => post(`${base}/participants/${pid}/${p.isMuted ? 'unmute' : 'mute'}`), p.isMuted ? 'Unmuted.' : 'Muted.') }, p.isMuted ? 'Unmute' : 'Mute'), ' '],
        h('button', { type: 'button', class: 'danger', title: isBot ? "Remove: the bot's leg ends (removed by another participant)" : isGallery ? 'Take the large gallery view out of the roster' : 'Take this person out of the meeting',
          onclick: act(() => del(`${base}/participants/${pid}`), 'Removed.') }, 'Remove'),
        isBot || isGallery ? null : [' ', h('button', { type: 'button', title: sharing ? 'Stop presenting' : 'Present their screen: bots that asked hear of the content sharing session',
          onclick: act(() => post(`${base}/participants/${pid}/${sharing ? 'unshare' : 'share'}`), sharing ? 'Stopped presenting.' : 'Presenting.') }, sharing ? 'Unshare' : 'Share'),
        ' ', keys, h('button', { type: 'button', title: 'This person presses the keys: bots subscribed to tones hear them',
          onclick: act(() => post(`${base}/participants/${pid}/tones`, { tones: keys.value }), 'Pressed.') }, 'Press'),
        ' ', secs, h('button', { type: 'button', title: 'This person speaks for a while: recordings hear it',
          onclick: act(() => post(`${base}/participants/${pid}/speech`, { seconds: Number(secs.value) }), 'Spoke.') }, 'Speak')]));
  });

  const addID = h('input', { type: 'text', placeholder: 'id (e.g. bob)', title: "The person's user id" });
  const addName = h('input', { type: 'text', placeholder: 'display name' });
  const botID = h('input', { type: 'text', placeholder: 'client id', title: "Invite a bot: its application's client id; it gets an incoming call" });
  const addPerson = act(() => post(base + '/participants', { user: { id: addID.value.trim(), displayName: addName.value.trim() || undefined } }), 'Added.');
  const invite = act(() => post(base + '/participants', { application: { id: botID.value.trim() } }), 'Invited: the bot gets an incoming call at its webhook.');

  return h('div', { class: 'meeting' + (g.ended ? ' ended' : ''), dataset: { meetingId: g.id } },
    h('div', { class: 'head' },
      h('span', { class: 'title' }, g.subject || (g.kind === 'meeting' ? 'Meeting' : 'Ad-hoc group call')),
      h('span', { class: 'badge plain', title: g.kind === 'meeting' ? 'A meeting bots join by its join info' : 'A group call a bot placed to several people' }, g.kind === 'meeting' ? 'meeting' : 'ad-hoc group'),
      g.ended ? h('span', { class: 'badge', title: 'Ended: every bot leg has terminated' }, 'ended') : h('span', { class: 'badge ok' }, 'running'),
      h('span', { class: 'mono sub', title: g.id }, g.id),
      h('span', { class: 'actions' },
        opts.close ? h('button', { type: 'button', title: 'Stop showing this meeting here', onclick: opts.close }, 'Hide') : null,
        g.ended ? null : h('button', { type: 'button', class: 'danger', title: "End the meeting: every bot's leg terminates",
          onclick: act(() => del(base), 'Ended.') }, 'End meeting'))),
    people.length
      ? h('table', null, h('thead', null, h('tr', null, h('th', null, 'Participant'), h('th', null, 'Participant id'), h('th', null, 'Audio'),
        h('th', { title: "A bot's call resource for its leg of the meeting" }, 'Bot call'), h('th', null, 'Simulator'))), h('tbody', null, rows))
      : h('p', { class: 'empty' }, 'Nobody is in it.'),
    g.ended ? null : h('div', { class: 'inline-form' },
      h('label', null, 'Add a person:'), addID, addName, h('button', { type: 'button', onclick: addPerson }, 'Add'),
      h('label', null, ' or invite a bot:'), botID, h('button', { type: 'button', onclick: invite }, 'Invite')),
    g.joinInfo ? h('details', { class: 'json' }, h('summary', null, 'Join info (what a bot puts in its create-call body to join)'), h('pre', null, json(g.joinInfo))) : null,
    msg);
}
