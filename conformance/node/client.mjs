// The Graph JavaScript client, set up for callplane. README.md (at the repository root) shows the
// code between the markers verbatim, and a test checks that it does.

// README snippet: begin
import { Client } from '@microsoft/microsoft-graph-client';

// graphRoot is callplane's HTTPS base URL without the version, e.g. 'https://127.0.0.1:8443'.
// The client sends the token only over https, and only to Graph's own hosts or to the hosts
// in customHosts (a Set). Node must trust callplane's CA: NODE_EXTRA_CA_CERTS=.../tls/ca.pem.
export function callplaneClient(graphRoot, getToken) {
  return Client.initWithMiddleware({
    baseUrl: graphRoot,
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(graphRoot).hostname]),
    authProvider: { getAccessToken: getToken },
  });
}
// README snippet: end
