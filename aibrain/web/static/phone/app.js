// The phone app's page: views by URL hash (#/ inbox, #/i/<id> incident, #/record my record), the inbox
// kept current (live events, reconnects, every 60 s), the outbox's state and outcomes shown, the
// network state in the header, and the service worker registered.

import {detailText, getJson} from './api.js';
import {announce, showOpenCount, unlockSoundOnFirstTap} from './alerts.js';
import {DetailView} from './detail.js';
import {ACTION_LABELS, openCardsOnTap, renderInbox, tickCountdowns} from './inbox.js';
import {Outbox} from './outbox.js';
import {RecordView} from './record.js';
import {forgetOnSignOut} from './signout.js';
import {syncClock} from './time.js';
import {toast} from './toast.js';

const NEW_WORK = new Set(['dispatch', 'escalate', 'reassign', 'reopen']); // steps that hand this worker a job
// Steps on this worker's incidents told in a toast: the camera's verdict, a leader's answer on more time.
const TOLD = {verify: '核查通过', reopen: '核查未通过，需返工', extend: '时限已延长', refuse_extension: '延期申请被驳回'};
const REFRESH_MS = 60000;
const DEBOUNCE_MS = 250;
const CACHE_KEY = 'aibrain-phone-inbox'; // the last inbox, shown when the page opens without a network
const PROBE_MS = 5000; // the server unreachable while the phone says it is online (a dead Wi-Fi, a basement)

const byId = id => document.getElementById(id);
const workerId = document.querySelector('meta[name="worker-id"]').content;
const state = {cards: new Map(), loaded: false, waiting: [], live: false, reachable: true};

// ---- the inbox --------------------------------------------------------------------------------------
function pendingFor(id) {
  return state.waiting.filter(entry => entry.incidentId === id).map(entry => entry.action);
}

function showInbox(body) {
  syncClock(body.now);
  const cards = body.incidents || [];
  state.cards = new Map(cards.map(card => [card.id, card]));
  state.loaded = true;
  renderInbox(byId('inbox'), cards, pendingFor);
  byId('inbox-empty').hidden = cards.length > 0;
  showOpenCount(body.open_count || 0);
  showDetailIfOpen();
}

let loading = null;
let loadAgain = false;

/** Read the inbox; a call while one is under way reads it once more after it. */
function loadInbox() {
  if (loading) {
    loadAgain = true;
    return loading;
  }
  loading = readInbox().finally(() => {
    loading = null;
    if (loadAgain) {
      loadAgain = false;
      loadInbox();
    }
  });
  return loading;
}

async function readInbox() {
  let answer;
  try {
    answer = await getJson('/m/api/inbox');
  } catch (error) {
    setReachable(false);
    return;
  }
  setReachable(true);
  if (answer.status === 401) {
    toast('登录已过期，请重新登录（待发送的操作会保留）', {error: true, signIn: true});
    return;
  }
  if (!answer.ok) {
    toast(detailText(answer.body, answer.status), {error: true});
    return;
  }
  showInbox(answer.body);
  try {
    localStorage.setItem(CACHE_KEY, JSON.stringify({workerId, body: answer.body}));
  } catch (error) {
    // storage full or refused: only the offline start loses its list
  }
}

function showCachedInbox() {
  try {
    const cached = JSON.parse(localStorage.getItem(CACHE_KEY) || 'null');
    if (cached && cached.workerId === workerId) {
      showInbox(cached.body);
    }
  } catch (error) {
    localStorage.removeItem(CACHE_KEY);
  }
}

let refreshTimer = null;

/** Read the inbox soon: a burst of live events is one read. */
function refresh() {
  window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(loadInbox, DEBOUNCE_MS);
}

// ---- live events --------------------------------------------------------------------------------------
function onIncident(data) {
  const mine = data.worker_id === workerId;
  const takenAway = !mine && data.from_worker_id === workerId;
  if (!mine && !takenAway && !state.cards.has(data.incident_id)) {
    return;
  }
  const what = `${data.kind_label || data.kind} · ${data.camera_name || data.camera_id}`;
  if (mine && NEW_WORK.has(data.action)) {
    announce();
  }
  if (mine && TOLD[data.action] && detail.showing(data.incident_id)) { // the news replaces the last outcome
    detail.message(TOLD[data.action], data.action === 'reopen' || data.action === 'refuse_extension' ? 'error' : 'ok');
  } else if (mine && TOLD[data.action]) {
    toast(`${TOLD[data.action]}：${what}`);
  } else if (mine && NEW_WORK.has(data.action) && byId('view-inbox').hidden) { // the inbox flashes the card
    toast(`新事件：${what}`);
  } else if (takenAway) {
    toast(`事件已改派给其他网格员：${what}`);
  }
  refresh();
}

function onLiveState(live) {
  state.live = live.live;
  showNet();
  if (live.live) {
    setReachable(true);
    if (live.reconnected) {
      refresh(); // steps sent while the stream was down are not replayed
    }
    outbox.flush();
  } else {
    refresh(); // the stream dropped: a read tells whether the server is still there
  }
}

// ---- network state ---------------------------------------------------------------------------------
let probeTimer = null;

/** Whether the last request reached the server. While it does not, ask again every few seconds, and send
 *  what waits as soon as it does: `online` never fires when the phone thought it was online all along. */
function setReachable(reachable) {
  const back = reachable && !state.reachable;
  state.reachable = reachable;
  window.clearTimeout(probeTimer);
  if (!reachable) {
    probeTimer = window.setTimeout(loadInbox, PROBE_MS);
  } else if (back) {
    outbox.flush();
  }
  showNet();
}

function showNet() {
  const offline = navigator.onLine === false || !state.reachable;
  const net = byId('net-state');
  net.textContent = offline ? '离线' : '在线';
  net.classList.toggle('offline', offline);
  net.classList.toggle('live', !offline && state.live);
  net.title = offline ? '无网络：操作保存在手机上，联网后自动发送' : (state.live ? '实时推送已连接' : '实时推送重连中');
}

// ---- the outbox ------------------------------------------------------------------------------------
function showWaiting(entries) {
  state.waiting = entries;
  byId('outbox-count').textContent = String(entries.length);
  byId('outbox-chip').classList.toggle('some', entries.length > 0);
  byId('waiting').hidden = entries.length === 0;
  byId('outbox').replaceChildren(...entries.map(entry => {
    const item = document.createElement('li');
    item.className = entry.lastProblem === 'signin' ? 'queued failing' : 'queued';
    item.dataset.key = entry.key;
    const problem = entry.lastProblem === 'signin' ? '（需重新登录）' : '';
    item.textContent = `${ACTION_LABELS[entry.action] || entry.action} · ${entry.label || entry.incidentId}${problem}`;
    return item;
  }));
  if (state.loaded) {
    renderInbox(byId('inbox'), Array.from(state.cards.values()), pendingFor);
    showDetailIfOpen();
  }
}

/** An action answered: told in the incident's view when it is on the screen, else in a toast. */
function onOutcome(entry, outcome) {
  const action = ACTION_LABELS[entry.action] || entry.action;
  const here = detail.showing(entry.incidentId);
  if (outcome.kind === 'done') {
    const said = outcome.body.message || '已提交';
    if (here) {
      detail.message(said);
    } else {
      toast(`${action}：${said}`);
    }
  } else if (outcome.kind === 'refused') {
    const why = `${action}未生效：${detailText(outcome.body, outcome.status)}`;
    if (here) {
      detail.message(why, 'error');
    } else {
      toast(`${why}（${entry.label || entry.incidentId}）`, {error: true});
    }
  } else if (outcome.kind === 'signin') {
    toast('登录已过期：请重新登录，待发送的操作随后自动发送', {error: true, signIn: true});
  }
  refresh();
}

/** The detail view's actions: labelled for the outbox list, kept, sent; an offline one said to be kept. */
async function act(entry) {
  const card = state.cards.get(entry.incidentId);
  entry.label = card ? `${card.kind_label} · ${card.camera_name || card.camera_id}` : entry.incidentId;
  const outcome = await outbox.submit(entry);
  if (outcome.kind === 'offline' || outcome.kind === 'retry') {
    detail.message('已保存在手机上，联网后自动发送 (saved on the phone; sent when online)', 'waiting');
  }
  return outcome;
}

// ---- views -----------------------------------------------------------------------------------------
function openIncidentId() {
  const match = /^#\/i\/(.+)$/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function showDetailIfOpen() {
  const id = openIncidentId();
  if (id && state.loaded) {
    detail.show(id, state.cards.get(id) || null, pendingFor(id));
  }
}

let shownView = null;
let openedFromInbox = false;

/** Back to the inbox: a step back in the history when the incident was opened from it (so the phone's own
 *  back button does not return to the incident afterwards). */
function backToInbox() {
  if (openedFromInbox) {
    window.history.back();
  } else {
    window.location.hash = '#/';
  }
}

function route() {
  const id = openIncidentId();
  const view = id ? 'detail' : (window.location.hash === '#/record' ? 'record' : 'inbox');
  openedFromInbox = view === 'detail' && shownView === 'inbox';
  shownView = view;
  for (const name of ['inbox', 'detail', 'record']) {
    byId(`view-${name}`).hidden = name !== view;
  }
  byId('nav-record').classList.toggle('active', view === 'record');
  if (view === 'detail') {
    showDetailIfOpen();
  } else if (view === 'record') {
    record.load();
  }
  window.scrollTo(0, 0);
}

/** What this worker leaves on the phone: the saved inbox, the app's cached pages, waiting actions. */
async function forgetWorker() {
  localStorage.removeItem(CACHE_KEY);
  await outbox.clear();
  if (window.caches) {
    const names = await caches.keys();
    await Promise.all(names.filter(name => name.startsWith('aibrain-phone-')).map(name => caches.delete(name)));
  }
}

// ---- start -----------------------------------------------------------------------------------------
const outbox = new Outbox({onChange: showWaiting, onOutcome, onUnreachable: () => setReachable(false)});
const detail = new DetailView(act);
const record = new RecordView();

unlockSoundOnFirstTap();
openCardsOnTap(byId('inbox'));
byId('back').addEventListener('click', backToInbox);
forgetOnSignOut(byId('sign-out'), {waiting: async () => (await outbox.entries()).length, forget: forgetWorker,
                                   told: text => toast(text, {error: true})});
window.addEventListener('hashchange', route);
window.addEventListener('online', () => {
  showNet();
  loadInbox();
});
window.addEventListener('offline', showNet);
document.addEventListener('visibilitychange', () => { // timers sleep while the phone is locked
  if (document.visibilityState === 'visible') {
    loadInbox();
    outbox.flush();
  }
});
window.setInterval(() => tickCountdowns(document), 1000);
window.setInterval(loadInbox, REFRESH_MS);
window.AIBrainLive.on('incident', onIncident);
window.AIBrainLive.on('state', onLiveState);
showCachedInbox();
route();
showNet();
loadInbox();
outbox.changed().then(() => outbox.flush());
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/m/sw.js', {scope: '/m/'}).catch(error => {
    console.warn('service worker not registered: the app works, but not offline', error);
  });
}
