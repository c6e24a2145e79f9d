'use strict';
// The phone app's service worker (served as /m/sw.js, scope /m/): the app opens without a network.
//   /m/ (a navigation)         network first; offline, the last shell kept
//   /static/phone/*, live.js   from the cache at once, refreshed behind
//   /evidence/*, /photos/*     pictures: from the cache at once, refreshed behind (a cache of their own)
// Never touched: anything but GET, /m/api/ and /events — actions and the inbox always meet the real network,
// so the page itself sees a dropped connection and keeps the action in its outbox.
// VERSION is set as /m/sw.js is served (aibrain/web/phone_pages.py): a hash of the files kept here, so any
// change to them is a new worker, which installs them afresh and removes the old caches.

const VERSION = 'dev';
const SHELL_CACHE = `aibrain-phone-shell-${VERSION}`;
const PICTURE_CACHE = `aibrain-phone-pictures-${VERSION}`;
const SHELL_PAGE = '/m/';
const SHELL_FILES = [
  '/m/manifest.webmanifest', '/static/live.js', '/static/phone/phone.css', '/static/phone/app.js',
  '/static/phone/api.js', '/static/phone/outbox.js', '/static/phone/inbox.js', '/static/phone/detail.js',
  '/static/phone/photos.js', '/static/phone/alerts.js', '/static/phone/record.js', '/static/phone/time.js',
  '/static/phone/toast.js', '/static/phone/signout.js',
  '/static/phone/icon-192.png', '/static/phone/icon-512.png', '/static/phone/icon-maskable-192.png',
  '/static/phone/icon-maskable-512.png',
];
const PICTURES_KEPT = 80;

/** Keep a page or file only when it is the real thing (not a sign-in redirect, not an error page). */
function worthKeeping(response) {
  return response && response.ok && !response.redirected && response.type === 'basic';
}

async function precache() {
  const cache = await caches.open(SHELL_CACHE);
  await cache.addAll(SHELL_FILES);
  const page = await fetch(SHELL_PAGE, {cache: 'no-store'});
  if (worthKeeping(page)) {
    await cache.put(SHELL_PAGE, page);
  }
}

self.addEventListener('install', event => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  const current = new Set([SHELL_CACHE, PICTURE_CACHE]);
  event.waitUntil(caches.keys()
    .then(names => Promise.all(names.filter(name => name.startsWith('aibrain-phone-') && !current.has(name))
      .map(name => caches.delete(name))))
    .then(() => self.clients.claim()));
});

async function shellPage(request) {
  try {
    const response = await fetch(request);
    if (worthKeeping(response)) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(SHELL_PAGE, response.clone());
    }
    return response;
  } catch (error) {
    const kept = await caches.match(SHELL_PAGE, {cacheName: SHELL_CACHE});
    return kept || new Response('<!doctype html><meta charset="utf-8"><p>离线：请联网后打开 (offline)</p>',
      {status: 503, headers: {'Content-Type': 'text/html; charset=utf-8'}});
  }
}

async function trim(cache) {
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - PICTURES_KEPT)).map(key => cache.delete(key)));
}

/** The cached copy at once when there is one; the network's answer refreshes it (and serves a first visit). */
async function cachedThenRefreshed(event, cacheName) {
  const cache = await caches.open(cacheName);
  const kept = await cache.match(event.request);
  const fresh = fetch(event.request).then(async response => {
    if (worthKeeping(response)) {
      await cache.put(event.request, response.clone());
      if (cacheName === PICTURE_CACHE) {
        await trim(cache);
      }
    }
    return response;
  });
  if (kept) {
    event.waitUntil(fresh.catch(() => undefined));
    return kept;
  }
  return fresh;
}

self.addEventListener('fetch', event => {
  const request = event.request;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/m/api/') || url.pathname === '/events') {
    return;
  }
  if (request.mode === 'navigate' && url.pathname === SHELL_PAGE) {
    event.respondWith(shellPage(request));
  } else if (url.pathname.startsWith('/static/phone/') || SHELL_FILES.includes(url.pathname)) {
    event.respondWith(cachedThenRefreshed(event, SHELL_CACHE));
  } else if (url.pathname.startsWith('/evidence/') || url.pathname.startsWith('/photos/')) {
    event.respondWith(cachedThenRefreshed(event, PICTURE_CACHE));
  }
});
