// The console's page: a view per route (#/calls, #/calls/ID, #/simulator,
// #/deliveries), fed by the live stream.

import { api } from './api.js';
import * as live from './live.js';
import { CallsView } from './calls.js';
import { CallView } from './call.js';
import { SimulatorView } from './simulator.js';
import { DeliveriesView } from './deliveries.js';

let current = null;

function route() {
  const hash = location.hash || '#/calls';
  const parts = hash.replace(/^#\/?/, '').split('/');
  let view, nav;
  if (parts[0] === 'calls' && parts[1]) {
    view = new CallView(decodeURIComponent(parts[1]));
    nav = 'calls';
  } else if (parts[0] === 'simulator' || parts[0] === 'meetings') {
    view = new SimulatorView();
    nav = 'simulator';
  } else if (parts[0] === 'deliveries') {
    view = new DeliveriesView();
    nav = 'deliveries';
  } else {
    view = new CallsView();
    nav = 'calls';
  }
  if (current && current.unmount) current.unmount();
  current = view;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === nav);
  const root = document.getElementById('view');
  root.dataset.view = nav;
  view.mount(root);
  window.scrollTo(0, 0);
}

live.onEvent((type, data) => {
  if (!current) return;
  const handler = { hello: 'onHello', calls: 'onCalls', deliveries: 'onDeliveries', meetings: 'onMeetings', people: 'onPeople' }[type];
  if (handler && current[handler]) current[handler](data);
});

document.getElementById('signout').addEventListener('click', async () => {
  await fetch('/console/signout', { method: 'POST', headers: { 'X-Callplane-Console': '1' }, credentials: 'same-origin' }).catch(() => {});
  location.replace('/console');
});

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => console.error(e.reason));
route();
live.connect();
// Keep the session's end in view: reload to the sign-in page once it ends.
api('GET', '/session').then((s) => {
  const left = Date.parse(s.expiresDateTime) - Date.now();
  if (left > 0 && left < 2 ** 31) setTimeout(() => location.reload(), left + 1000);
}).catch(() => {});
