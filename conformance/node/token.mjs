// How a Node bot gets its token from callplane: @azure/msal-node's client-credentials flow,
// with callplane as the authority. README.md (at the repository root) shows the code between the
// markers verbatim, and a test checks that it does.

// README snippet: begin
import { ConfidentialClientApplication } from '@azure/msal-node';

// authority is callplane's HTTPS base URL and the tenant id, e.g.
// 'https://127.0.0.1:8443/59046c29-…' (the banner prints it as "MSAL authority"). MSAL trusts a
// non-Microsoft authority only when knownAuthorities names its host and port; with
// protocolMode 'OIDC' it fetches {authority}/.well-known/openid-configuration instead of
// {authority}/v2.0/.well-known/openid-configuration. Node must trust callplane's CA
// (NODE_EXTRA_CA_CERTS=.../tls/ca.pem).
export function callplaneCredential({ authority, clientId, clientSecret, protocolMode }) {
  const app = new ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret,
      authority,
      knownAuthorities: [new URL(authority).host],
      ...(protocolMode ? { protocolMode } : {}),
    },
  });
  return async () => {
    const result = await app.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    return result.accessToken;
  };
}
// README snippet: end
