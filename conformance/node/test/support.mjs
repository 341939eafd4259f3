// Test support: the running callplane's settings, a recording callback receiver, and
// callback-token verification. Nothing here talks to callplane through the Graph client.

import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:http';

// config returns what run.mjs read from callplane's banner.
export function config() {
  const raw = process.env.CALLPLANE_CONFORMANCE;
  if (!raw) throw new Error('CALLPLANE_CONFORMANCE is not set: run the suite with `npm test`');
  const c = JSON.parse(raw);
  return {
    ...c,
    httpRoot: c.httpBase.replace(/\/v1\.0$/, ''),
    httpsRoot: c.httpsBase.replace(/\/v1\.0$/, ''),
  };
}

// withTimeout rejects if promise has not settled within ms.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// startReceiver runs a callback endpoint on loopback that records every POST and answers 202,
// as a bot does once it has processed a notification.
export async function startReceiver() {
  const posts = [];
  const wake = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      posts.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(202).end();
      for (const fn of wake) fn();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  // notifications flattens the recorded POSTs into their commsNotification items, each with
  // the POST it came in.
  const notifications = () =>
    posts.flatMap((post) => (Array.isArray(post.body?.value) ? post.body.value : []).map((n) => ({ ...n, post })));

  return {
    url: `http://127.0.0.1:${port}/api/calls`,
    posts,
    notifications,
    // waitFor resolves with predicate's first truthy result, checked now and after every POST;
    // it rejects after ms with what has been received so far.
    waitFor(predicate, ms, what) {
      let check;
      const found = new Promise((resolve) => {
        check = () => {
          const v = predicate(notifications());
          if (v) resolve(v);
        };
        wake.add(check);
        check();
      });
      return withTimeout(found, ms, `waiting for ${what}`)
        .catch((err) => {
          err.message += `; received: ${JSON.stringify(notifications().map(summary))}`;
          throw err;
        })
        .finally(() => wake.delete(check));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// summary is the part of a notification the tests compare.
export function summary(n) {
  return { changeType: n.changeType, resourceUrl: n.resourceUrl, state: n.resourceData?.state };
}

// verifyCallbackToken checks a callback JWT's RS256 signature with the keys callplane publishes
// for bots, and returns its header and claims.
export async function verifyCallbackToken(jwt, openIdConfigUrl) {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new Error(`not a JWT: ${jwt}`);
  const [h, p, s] = parts;
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const openId = await (await fetch(openIdConfigUrl)).json();
  const { keys } = await (await fetch(openId.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no published key with kid ${header.kid}`);
  const valid = verify(
    'RSA-SHA256',
    Buffer.from(`${h}.${p}`),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(s, 'base64url'),
  );
  return { header, claims, valid, issuer: openId.issuer };
}
