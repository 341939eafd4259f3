// Live updates: one EventSource on /console/events. The server polls the
// store while it is open and sends "calls" (the changed rows), "deliveries"
// (the calls whose notifications changed), "meetings" (the changed rows of
// meetings and group calls) and "people" (the simulated people changed);
// "hello" on every (re)connect, after which the page loads again what it
// shows, since it may have missed changes while disconnected.

const listeners = new Set();
let source = null;
let reopenTimer = null;

export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }

function emit(type, data) {
  for (const fn of listeners) {
    try { fn(type, data); } catch (e) { console.error(e); }
  }
}

function status(state, text) {
  const el = document.getElementById('live');
  if (!el) return;
  el.className = 'live ' + state;
  document.getElementById('live-text').textContent = text;
}

export function connect() {
  if (source) source.close();
  source = new EventSource('/console/events');
  status('', 'connecting');
  source.addEventListener('hello', () => { status('on', 'live'); emit('hello', {}); });
  for (const type of ['calls', 'deliveries', 'meetings', 'people']) {
    source.addEventListener(type, (e) => {
      let data = {};
      try { data = JSON.parse(e.data); } catch { return; }
      emit(type, data);
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      status('off', 'disconnected');
      // Refused (signed out, or too many consoles): check the session,
      // then try again.
      clearTimeout(reopenTimer);
      reopenTimer = setTimeout(async () => {
        const r = await fetch('/console/api/session', { credentials: 'same-origin' }).catch(() => null);
        if (r && r.status === 401) { location.reload(); return; }
        connect();
      }, 3000);
    } else {
      status('', 'reconnecting');
    }
  };
}
