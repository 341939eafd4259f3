// The simulated people of the tenant (GET /people): how each answers the
// calls that ring them, and their script, which plays on their calls.
// Setting a person (PUT /people/{id}) replaces it: a row's Set keeps its
// name and script and changes how it answers. Listed again on each
// "people" event.

import { get, put, del, enc } from './api.js';
import { h, message, field, coalesce, dateTime } from './dom.js';

export const ANSWERS = {
  auto: 'Picks up after the answer delay.',
  busy: 'Refuses at once: already on a call.',
  decline: 'Refuses after the answer delay.',
  noAnswer: 'Lets it ring until the ring timeout.',
};

function answerSelect(value, attrs = {}) {
  const sel = h('select', { title: 'How they answer a call that rings them', ...attrs },
    Object.entries(ANSWERS).map(([mode, what]) => h('option', { value: mode, title: what }, mode)));
  sel.value = value || 'auto';
  return sel;
}

// scriptText says a script's steps in words: "on answered after 1s: press 1#".
export function scriptText(steps) {
  if (!steps || !steps.length) return '—';
  return steps.map((s) => {
    const acts = [s.press ? 'press ' + s.press : '', s.speak ? 'speak ' + s.speak : '', s.hangup ? 'hang up' : ''].filter(Boolean);
    return `on ${s.on}${s.after ? ' after ' + s.after : ''}: ${acts.join(', ') || 'nothing'}`;
  }).join('; ');
}

export class PeoplePanel {
  constructor() {
    this.rowCache = new Map(); // person id: {key, tr}
    this.refresh = coalesce(() => this.load(), 300);
  }

  element() {
    this.msg = h('div', { id: 'people-result' });
    this.tbody = h('tbody');
    this.empty = h('p', { class: 'empty', id: 'no-people', hidden: true },
      'No people set: anyone a call rings answers after the answer delay (--answer-delay). Set one below to make them busy, decline, or not answer.');
    const id = h('input', { type: 'text', id: 'person-id', placeholder: 'bob', title: "The person's user id (what a bot calls: {\"user\": {\"id\": ...}})" });
    const name = h('input', { type: 'text', id: 'person-name', placeholder: 'Bob' });
    const answer = answerSelect('auto', { id: 'person-answer' });
    const delay = h('input', { type: 'text', id: 'person-delay', placeholder: 'default', title: 'How long they take to answer or decline (Go duration: 1.5s); empty is --answer-delay' });
    const script = h('input', { type: 'text', id: 'person-script', placeholder: '[{"on":"answered","after":"1s","press":"1#"}]',
      title: 'Their script, as JSON steps: on answered, promptFinished, recordingStarted or toneSubscribed; after a while; press keys, speak for a while, hang up' });
    const set = async () => {
      let steps = [];
      if (script.value.trim()) {
        try { steps = JSON.parse(script.value); } catch (e) { message(this.msg, 'The script is not JSON: ' + e.message, false); return; }
      }
      await this.set(id.value.trim(), { displayName: name.value.trim(), answer: answer.value, answerDelay: delay.value.trim(), script: steps });
    };
    return h('section', { class: 'panel' }, h('h2', null, 'People'),
      h('p', { class: 'explain' }, 'The simulated people bots call, and how each answers: auto (after the answer delay), busy, decline, or no answer; their script plays on the call once it connects. Anyone not listed answers after the answer delay.'),
      h('table', { class: 'people', id: 'people-table' },
        h('thead', null, h('tr', null,
          h('th', null, 'Person'),
          h('th', { title: 'How they answer a call that rings them, and after how long' }, 'Answers'),
          h('th', { title: 'What they do on the call, step by step' }, 'Script'),
          h('th', { title: 'When they were last set' }, 'Set at'),
          h('th', null, ''))),
        this.tbody),
      this.empty,
      h('div', { class: 'row' }, field('Id', id), field('Name', name), field('Answers', answer), field('After', delay), field('Script (JSON)', script),
        h('button', { type: 'button', class: 'primary', id: 'person-set', onclick: set }, 'Set person')),
      this.msg);
  }

  async set(id, body) {
    if (!id) { message(this.msg, 'A person needs an id.', false); return; }
    try {
      const p = await put('/people/' + enc(id), body);
      message(this.msg, `${p.id} answers ${p.answer}${p.answerDelay ? ' after ' + p.answerDelay : ''}.`, true);
    } catch (e) {
      message(this.msg, e.message, false);
    }
    this.refresh();
  }

  async load() {
    const list = await get('/people');
    const people = list.value || [];
    const keep = new Map();
    const trs = people.map((p) => {
      const key = p.lastModifiedDateTime + '|' + p.answer + '|' + (p.answerDelay || '');
      let e = this.rowCache.get(p.id);
      if (!e || e.key !== key) e = { key, tr: this.row(p) };
      keep.set(p.id, e);
      return e.tr;
    });
    this.rowCache = keep;
    this.tbody.replaceChildren(...trs);
    this.empty.hidden = people.length > 0;
  }

  row(p) {
    const answer = answerSelect(p.answer, { class: 'answer' });
    const delay = h('input', { type: 'text', class: 'delay', value: p.answerDelay || '', placeholder: 'default', title: 'After how long (Go duration: 1.5s); empty is --answer-delay' });
    return h('tr', { dataset: { personId: p.id, answer: p.answer } },
      h('td', null, p.displayName ? [p.displayName, h('span', { class: 'sub mono' }, ' ' + p.id)] : h('span', { class: 'mono' }, p.id)),
      h('td', { class: 'acts' }, answer, ' ', delay),
      h('td', { class: 'script' }, scriptText(p.script)),
      h('td', { class: 'age' }, dateTime(p.lastModifiedDateTime)),
      h('td', { class: 'acts' },
        h('button', { type: 'button', class: 'set-person', title: 'Save how they answer (name and script stay)',
          onclick: () => this.set(p.id, { displayName: p.displayName || '', answer: answer.value, answerDelay: delay.value.trim(), script: p.script || [] }) }, 'Set'),
        ' ',
        h('button', { type: 'button', class: 'danger', title: 'Forget this person: calls to them are answered after the answer delay',
          onclick: async () => {
            try { await del('/people/' + enc(p.id)); message(this.msg, 'Removed ' + p.id + '.', true); } catch (e) { message(this.msg, e.message, false); }
            this.refresh();
          } }, 'Remove')));
  }
}
