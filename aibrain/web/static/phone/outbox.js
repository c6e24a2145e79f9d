// The outbox: every action the worker takes is stored on the phone (IndexedDB, photos as Blobs) before it
// is sent, and stays there until the server has answered it — through dropped connections, reloads and
// a closed browser. Sent again on `online`, on page load and every 15 s while anything waits, always with
// the action's own idempotency key, in the order the worker took them.

import {sendAction} from './api.js';

const DB_NAME = 'aibrain-phone';
const STORE = 'outbox';
const RETRY_MS = 15000;
const OFFLINE = {kind: 'offline', status: 0, body: {}};

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

function openDatabase() {
  const opening = indexedDB.open(DB_NAME, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, {keyPath: 'key'});
  return request(opening);
}

/**
 * IndexedDB, with a Map beside it: when the browser refuses IndexedDB (a private window, a full disk) the
 * action still goes out while the page is open, it only does not outlive the page.
 */
class Store {
  constructor() {
    this.database = openDatabase().catch(error => {
      console.warn('IndexedDB unavailable: actions are kept only while the page is open', error);
      return null;
    });
    this.memory = new Map();
  }

  async run(mode, work) {
    const database = await this.database;
    if (!database) {
      return null;
    }
    const transaction = database.transaction(STORE, mode);
    const finished = new Promise((resolve, reject) => {
      transaction.oncomplete = resolve;
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
    const [result] = await Promise.all([request(work(transaction.objectStore(STORE))), finished]);
    return result;
  }

  async put(entry) {
    this.memory.set(entry.key, entry);
    try {
      await this.run('readwrite', store => store.put(entry));
    } catch (error) {
      console.warn('action kept in memory only', error);
    }
  }

  async remove(key) {
    this.memory.delete(key);
    await this.run('readwrite', store => store.delete(key)).catch(error => console.warn(error));
  }

  async clear() {
    this.memory.clear();
    await this.run('readwrite', store => store.clear()).catch(error => console.warn(error));
  }

  /** What waits, oldest first: those stored (from this page or an earlier one) and those only in memory. */
  async all() {
    const stored = await this.run('readonly', store => store.getAll()).catch(() => null);
    const entries = new Map((stored || []).map(entry => [entry.key, entry]));
    for (const [key, entry] of this.memory) {
      entries.set(key, entry);
    }
    return Array.from(entries.values()).sort((a, b) => a.createdAt - b.createdAt);
  }
}

/**
 * The queue and its sender. `onChange(entries)` after every change; `onOutcome(entry, outcome)` once an
 * action is settled (done / refused) or needs the worker (signin); `onUnreachable()` when a send found no
 * network.
 */
export class Outbox {
  constructor({onChange, onOutcome, onUnreachable}) {
    this.store = new Store();
    this.onChange = onChange;
    this.onOutcome = onOutcome;
    this.onUnreachable = onUnreachable;
    this.results = new Map(); // outcomes of actions whose submit() waits for them
    this.flushing = null;
    this.timer = null;
    window.addEventListener('online', () => this.flush());
  }

  async entries() {
    return this.store.all();
  }

  /** Drop every waiting action (the worker signs out). */
  async clear() {
    await this.store.clear();
    await this.changed();
  }

  /**
   * Keep the action first, then send it (after what waited before it); resolves to its outcome. Sends go
   * one round at a time, so an action is never in flight twice at once.
   */
  async submit(entry) {
    entry.createdAt = Date.now();
    await this.store.put(entry);
    await this.changed();
    this.results.set(entry.key, null);
    const running = this.flushing; // a round under way may have read the queue before this entry
    await this.flush();
    if (running && !this.results.get(entry.key)) {
      await this.flush();
    }
    const outcome = this.results.get(entry.key) || OFFLINE;
    this.results.delete(entry.key);
    return outcome;
  }

  async send(entry) {
    const outcome = await sendAction(entry);
    if (this.results.has(entry.key)) {
      this.results.set(entry.key, outcome);
    }
    if (outcome.kind === 'done' || outcome.kind === 'refused') {
      await this.store.remove(entry.key);
    } else {
      entry.lastProblem = outcome.kind;
      await this.store.put(entry);
    }
    await this.changed();
    if (outcome.kind === 'offline') {
      this.onUnreachable();
    } else if (outcome.kind !== 'retry') {
      this.onOutcome(entry, outcome);
    }
    return outcome;
  }

  /** Send what waits, oldest first, stopping at the first that cannot go yet. */
  flush() {
    if (!this.flushing) {
      this.flushing = this.sendWaiting().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  async sendWaiting() {
    if (navigator.onLine === false) {
      return;
    }
    for (const entry of await this.entries()) {
      const outcome = await this.send(entry);
      if (outcome.kind !== 'done' && outcome.kind !== 'refused') {
        return; // kept: what follows it waits too, so actions reach the server in the order they were taken
      }
    }
  }

  async changed() {
    const entries = await this.entries();
    if (entries.length && !this.timer) {
      this.timer = window.setInterval(() => this.flush(), RETRY_MS);
    } else if (!entries.length && this.timer) {
      window.clearInterval(this.timer);
      this.timer = null;
    }
    this.onChange(entries);
  }
}
