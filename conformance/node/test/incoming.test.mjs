// An incoming call, answered through @microsoft/microsoft-graph-client: a simulated user calls the
// bot (callplane's admin API plays the caller), the bot's calling webhook gets `created` with the
// call in state incoming, and answering it brings `establishing` and `established` to the answer's
// callbackUri.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { callplaneClient } from '../client.mjs';
import { callplaneCredential } from '../token.mjs';
import { config, startReceiver, summary } from './support.mjs';

const c = config();
const eventDeadlineMs = 10_000;
let webhook;
let bot;

// admin calls callplane's admin API (the simulator), with the admin credential from the banner.
async function admin(method, path, body) {
  const res = await fetch(`${c.httpRoot}/callplane${path}`, {
    method,
    headers: { Authorization: `Bearer ${c.adminSecret}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

before(async () => {
  webhook = await startReceiver();
  bot = await startReceiver();
  await admin('PATCH', `/applications/${c.clientId}`, { callingWebhook: webhook.url });
});

after(async () => {
  await admin('PATCH', `/applications/${c.clientId}`, { callingWebhook: '' });
  await webhook?.close();
  await bot?.close();
});

test('a user calls the bot, which answers through the Graph client', { timeout: 30_000 }, async () => {
  const placed = await admin('POST', '/calls', {
    from: { user: { id: 'alice', displayName: 'Alice' } },
    to: { application: { id: c.clientId } },
  });
  const resource = `/communications/calls/${placed.id}`;
  const created = await webhook.waitFor(
    (ns) => ns.find((n) => n.resourceUrl === resource && n.changeType === 'created'),
    eventDeadlineMs,
    'the incoming call',
  );
  assert.equal(created.resourceData.state, 'incoming');
  assert.equal(created.resourceData.direction, 'incoming');
  assert.equal(created.resourceData.source.identity.user.id, 'alice');
  assert.equal(created.resourceData.targets[0].identity.application.id, c.clientId);

  const client = callplaneClient(c.httpsRoot, callplaneCredential({ authority: c.msalAuthority, clientId: c.clientId, clientSecret: c.clientSecret }));
  await client.api(`${resource}/answer`).post({
    callbackUri: bot.url,
    acceptedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
  });
  const answered = await bot.waitFor(
    (ns) => {
      const mine = ns.filter((n) => n.resourceUrl === resource);
      return mine.length >= 2 && mine;
    },
    eventDeadlineMs,
    'establishing and established',
  );
  assert.deepEqual(answered.map(summary), [
    { changeType: 'updated', resourceUrl: resource, state: 'establishing' },
    { changeType: 'updated', resourceUrl: resource, state: 'established' },
  ]);
  await client.api(resource).delete();
});
