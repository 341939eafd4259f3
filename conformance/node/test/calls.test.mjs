// @microsoft/microsoft-graph-client 3.0.7 against callplane's HTTPS listener: a call's whole life
// through the client, the bearer token as the server sees it, and the notifications a bot gets.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Client, GraphError } from '@microsoft/microsoft-graph-client';

import { callplaneClient } from '../client.mjs';
import { callplaneCredential } from '../token.mjs';
import { config, startReceiver, summary, verifyCallbackToken } from './support.mjs';

const c = config();
const eventDeadlineMs = 10_000;
const testTimeout = { timeout: 30_000 };

let token;
let receiver;

before(async () => {
  // Fail early, and say why, if this process does not trust callplane's certificate.
  await fetch(c.httpsBase).then((res) => res.arrayBuffer(), (err) => {
    throw new Error(
      `HTTPS to callplane failed (${err.cause?.code ?? err.message}); ` +
        `NODE_EXTRA_CA_CERTS must name callplane's CA, it is ${JSON.stringify(process.env.NODE_EXTRA_CA_CERTS)}`,
    );
  });
  token = await callplaneCredential({ authority: c.msalAuthority, clientId: c.clientId, clientSecret: c.clientSecret })();
  receiver = await startReceiver();
});

after(async () => {
  await receiver?.close();
});

// peerToPeerCall is a create-call body. Annotated, it carries @odata.type on the call, its
// targets and identities, as Graph's JavaScript samples do; plain, only where Graph needs it.
function peerToPeerCall({ annotated = true } = {}) {
  const type = (t) => (annotated ? { '@odata.type': `#microsoft.graph.${t}` } : {});
  return {
    ...type('call'),
    callbackUri: receiver.url,
    targets: [
      {
        ...type('invitationParticipantInfo'),
        identity: {
          ...type('identitySet'),
          user: { id: '8d1e2f3a-0000-4000-8000-000000000001', displayName: 'Alex' },
        },
      },
    ],
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
  };
}

// graphError returns an assert.rejects validator for a GraphError with this status and code.
function graphError(statusCode, code) {
  return (err) => {
    assert.ok(err instanceof GraphError, `expected a GraphError, got ${err?.stack ?? err}`);
    assert.equal(err.statusCode, statusCode, `statusCode (body ${err.body})`);
    assert.equal(err.code, code, `code (body ${err.body})`);
    return true;
  };
}

describe('a peer-to-peer call through @microsoft/microsoft-graph-client over HTTPS', () => {
  let callId; // set by the lifecycle test, used by the notifications test

  test('create, get, keepAlive, delete; then the call is gone (404, 8522)', testTimeout, async () => {
    const client = callplaneClient(c.httpsRoot, async () => token);

    const created = await client.api('/communications/calls').post(peerToPeerCall());
    assert.equal(typeof created.id, 'string');
    assert.notEqual(created.id, '');
    assert.equal(created.state, 'establishing');
    assert.equal(created.callbackUri, receiver.url);
    assert.deepEqual(created.requestedModalities, ['audio']);
    assert.equal(created.targets?.[0]?.identity?.user?.id, '8d1e2f3a-0000-4000-8000-000000000001');
    // callplane attributed the call to our application: it read the bearer token.
    assert.equal(created.source?.identity?.application?.id, c.clientId);
    callId = created.id;
    const path = `/communications/calls/${callId}`;

    // The simulated callee answers after --answer-delay; hang up only once it has.
    await receiver.waitFor(
      (ns) => ns.find((n) => n.resourceUrl === path && n.resourceData?.state === 'established'),
      eventDeadlineMs,
      'the established notification',
    );

    const got = await client.api(path).get();
    assert.equal(got.id, callId);
    assert.equal(got.state, 'established');

    await client.api(`${path}/keepAlive`).post();

    const deleted = await client.api(path).delete();
    assert.equal(deleted, undefined); // 204 No Content

    const clientRequestId = randomUUID();
    await assert.rejects(client.api(path).header('client-request-id', clientRequestId).get(), (err) => {
      graphError(404, '8522')(err);
      assert.equal(err.message, 'Call not found.');
      assert.equal(typeof err.requestId, 'string');
      assert.notEqual(err.requestId, '');
      assert.equal(err.headers.get('client-request-id'), clientRequestId);
      assert.equal(JSON.parse(err.body).innerError['client-request-id'], clientRequestId);
      return true;
    });
  });

  test('notifications: establishing, established, terminating, terminated, each signed', testTimeout, async () => {
    assert.ok(callId, 'no call: the lifecycle test did not create one');
    const path = `/communications/calls/${callId}`;

    const terminated = await receiver.waitFor(
      (ns) => ns.find((n) => n.resourceUrl === path && n.changeType === 'deleted'),
      eventDeadlineMs,
      'the deleted/terminated notification',
    );
    const ofCall = receiver.notifications().filter((n) => n.resourceUrl === path);
    assert.deepEqual(
      ofCall.map((n) => [n.changeType, n.resourceData?.state]),
      [
        ['updated', 'establishing'],
        ['updated', 'established'],
        ['updated', 'terminating'],
        ['deleted', 'terminated'],
      ],
      JSON.stringify(ofCall.map(summary)),
    );
    assert.equal(terminated.resourceData.state, 'terminated');
    assert.strictEqual(terminated.resourceData.resultInfo?.code, 0);

    const callbackOpenIdConfig =
      c.callbackOpenIdConfig ?? `${c.httpRoot}/v1/.well-known/OpenIdConfiguration`;
    for (const n of ofCall) {
      const what = `${n.changeType}/${n.resourceData?.state}`;
      assert.equal(n.post.method, 'POST', what);
      assert.match(n.post.headers['content-type'] ?? '', /^application\/json/, what);
      assert.equal(n.post.body['@odata.type'], '#microsoft.graph.commsNotifications', what);
      assert.equal(n['@odata.type'], '#microsoft.graph.commsNotification', what);
      assert.equal(n.resourceData?.id, callId, what);

      const authorization = n.post.headers.authorization ?? '';
      const m = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization);
      assert.ok(m, `${what}: Authorization is ${JSON.stringify(authorization)}`);
      const jwt = await verifyCallbackToken(m[1], callbackOpenIdConfig);
      assert.ok(jwt.valid, `${what}: callback token signature does not verify`);
      assert.equal(jwt.header.alg, 'RS256', what);
      assert.equal(jwt.claims.iss, jwt.issuer, what);
      assert.ok([jwt.claims.aud].flat().includes(c.clientId), `${what}: aud ${jwt.claims.aud}`);
      assert.equal(jwt.claims.tid, c.tenantId, what);
      assert.ok(jwt.claims.exp * 1000 > Date.now(), `${what}: token expired`);
    }
  });
});

describe('the bearer token is what lets requests through', () => {
  test('the same POST: 201 with the token; 401 where the client withholds it', testTimeout, async () => {
    let tokensGiven = 0;
    const getToken = async () => {
      tokensGiven++;
      return token;
    };

    // Trusted: https and the host in customHosts. The token goes out; callplane creates the call.
    const trusted = callplaneClient(c.httpsRoot, getToken);
    const created = await trusted.api('/communications/calls').post(peerToPeerCall({ annotated: false }));
    assert.equal(created.state, 'establishing');
    assert.equal(tokensGiven, 1);
    await trusted.api(`/communications/calls/${created.id}`).delete();
    assert.equal(tokensGiven, 2);
    await receiver.waitFor(
      (ns) => ns.find((n) => n.resourceUrl === `/communications/calls/${created.id}` && n.changeType === 'deleted'),
      eventDeadlineMs,
      'the deleted/terminated notification of the second call',
    );

    // Plain http: the client never attaches a token to an http URL.
    const overHttp = callplaneClient(c.httpRoot, getToken);
    await assert.rejects(
      overHttp.api('/communications/calls').post(peerToPeerCall({ annotated: false })),
      graphError(401, 'InvalidAuthenticationToken'),
    );

    // https, but callplane's host is not in customHosts: not a host the client trusts with it.
    const notCustom = Client.initWithMiddleware({
      baseUrl: c.httpsRoot,
      defaultVersion: 'v1.0',
      authProvider: { getAccessToken: getToken },
    });
    await assert.rejects(
      notCustom.api('/communications/calls').post(peerToPeerCall({ annotated: false })),
      graphError(401, 'InvalidAuthenticationToken'),
    );

    assert.equal(tokensGiven, 2, 'the client asked for a token for a host it does not trust');
  });
});
