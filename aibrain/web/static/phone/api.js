// Talking to the phone API (/m/api/): JSON reads, and the worker's actions sent with the page's CSRF
// token and the action's idempotency key (the same key on every retry, so the server applies it once).

const ACTION_PATHS = {accept: 'accept', resolve: 'resolve', false_alarm: 'false-alarm', extension: 'extension'};

let csrf = document.querySelector('meta[name="csrf-token"]').content;

/** A key for one press of a button: a UUID (crypto.randomUUID needs a secure context; else built by hand). */
export function newKey() {
  if (window.crypto && typeof window.crypto.randomUUID === 'function') {
    return window.crypto.randomUUID();
  }
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a read answered: {ok, status, body}; throws only when the network failed. */
export async function getJson(url) {
  const response = await fetch(url, {headers: {Accept: 'application/json'}, cache: 'no-store'});
  return {ok: response.ok, status: response.status, body: await bodyOf(response)};
}

async function bodyOf(response) {
  try {
    return await response.json();
  } catch (error) {
    return {};
  }
}

function formOf(entry) {
  const form = new FormData();
  for (const [name, value] of Object.entries(entry.fields || {})) {
    form.append(name, value);
  }
  for (const photo of entry.photos || []) {
    form.append('photos', photo.blob, photo.name);
  }
  return form;
}

/**
 * Send one queued action. The outcome says what the outbox does with it:
 *   done     2xx: applied, a duplicate of one applied before, or no change — remove it
 *   refused  4xx: it does not apply (reassigned, closed, a bad photo…) — remove it, tell the worker why
 *   signin   401: the session ended — keep it until they sign in again
 *   retry    5xx, or a stale CSRF token (re-read): keep it
 *   offline  the request never reached the server — keep it
 */
export async function sendAction(entry) {
  let response;
  try {
    response = await fetch(`/m/api/incidents/${encodeURIComponent(entry.incidentId)}/${ACTION_PATHS[entry.action]}`, {
      method: 'POST', body: formOf(entry), cache: 'no-store',
      headers: {'X-CSRF-Token': csrf, 'Idempotency-Key': entry.key, Accept: 'application/json'},
    });
  } catch (error) {
    return {kind: 'offline', status: 0, body: {}};
  }
  const body = await bodyOf(response);
  if (response.ok) {
    return {kind: 'done', status: response.status, body};
  }
  if (response.status === 401) {
    return {kind: 'signin', status: 401, body};
  }
  if (response.status === 403 && isCsrfRefusal(body) && await refreshCsrf()) {
    return {kind: 'retry', status: 403, body};
  }
  if (response.status >= 500 || response.status === 429) {
    return {kind: 'retry', status: response.status, body};
  }
  return {kind: 'refused', status: response.status, body};
}

function isCsrfRefusal(body) {
  return body.code === 'csrf' || /csrf/i.test(String(body.detail || ''));
}

/** The session's token changed (signed in again in another tab): read the current one from the shell page. */
async function refreshCsrf() {
  try {
    const page = await fetch('/m/', {cache: 'no-store', headers: {Accept: 'text/html'}});
    const match = /<meta name="csrf-token" content="([^"]+)">/.exec(await page.text());
    if (page.ok && match && match[1] !== csrf) {
      csrf = match[1];
      return true;
    }
  } catch (error) {
    // offline again: the next round tries
  }
  return false;
}

/** The server's explanation of a refusal, as the worker reads it. */
export function detailText(body, status) {
  const detail = body && body.detail;
  if (typeof detail === 'string' && detail) {
    return detail;
  }
  if (Array.isArray(detail) && detail.length) {
    return detail.map(item => item.msg || String(item)).join('；');
  }
  return `操作未被接受（HTTP ${status}）`;
}
