// @azure/msal-node 3.8.10 against callplane's HTTPS listener, as a Node bot gets its token: the
// client-credentials flow with callplane as a known authority, in MSAL's default (AAD) protocol
// mode and in its OIDC mode, which fetches the OpenID configuration without v2.0/.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { callplaneClient } from '../client.mjs';
import { callplaneCredential } from '../token.mjs';
import { config, startReceiver } from './support.mjs';

const c = config();
const testTimeout = { timeout: 30_000 };

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
}

describe('a bot gets its token with MSAL', () => {
  test('the banner names the authority MSAL needs: the HTTPS listener and the tenant', () => {
    assert.equal(c.msalAuthority, `${c.httpsRoot}/${c.tenantId}`);
  });

  for (const protocolMode of [undefined, 'OIDC']) {
    test(`protocolMode ${protocolMode ?? 'AAD (default)'}: a token that places a call`, testTimeout, async () => {
      const getToken = callplaneCredential({
        authority: c.msalAuthority,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        protocolMode,
      });
      const token = await getToken();
      const cl = claims(token);
      assert.equal(cl.iss, `${c.httpsRoot}/${c.tenantId}/v2.0`, 'the issuer names the authority the token came from');
      assert.equal(cl.appid, c.clientId);
      assert.equal(cl.aud, 'https://graph.microsoft.com');

      const receiver = await startReceiver();
      try {
        const client = callplaneClient(c.httpsRoot, getToken);
        const created = await client.api('/communications/calls').post({
          callbackUri: receiver.url,
          targets: [{ identity: { user: { id: '8d1e2f3a-0000-4000-8000-000000000001' } } }],
          requestedModalities: ['audio'],
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        });
        assert.equal(created.state, 'establishing');
        await client.api(`/communications/calls/${created.id}`).delete();
      } finally {
        await receiver.close();
      }
    });
  }

  test('a wrong secret is refused as Entra refuses it', testTimeout, async () => {
    const getToken = callplaneCredential({ authority: c.msalAuthority, clientId: c.clientId, clientSecret: 'not-the-secret' });
    await assert.rejects(getToken(), (err) => {
      assert.equal(err.errorCode, 'invalid_client', `MSAL error ${err.errorCode}: ${err.message}`);
      assert.match(err.errorMessage ?? err.message, /AADSTS7000215/);
      return true;
    });
  });
});
