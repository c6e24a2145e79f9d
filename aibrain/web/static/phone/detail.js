// The incident view (#/i/<id>): its facts, the photos sent, and the forms of the actions allowed now.
// The forms are part of the page and are never redrawn: a live update refreshes the facts and which
// forms show, and what the worker typed or picked stays until the action has gone (or been kept to send).

import {detailText, newKey} from './api.js';
import {ACTION_LABELS, placeOf, setCountdown} from './inbox.js';
import {PhotoPicker} from './photos.js';
import {since} from './time.js';

const EXTENSION_STATES = {pending: '待审批', approved: '已批准', refused: '已驳回'};
const PHOTO_CODES = new Set(['too_large', 'not_image', 'too_many', 'no_photo']);
const CLOSING = new Set(['resolve', 'false_alarm']);

const byId = id => document.getElementById(id);

export class DetailView {
  /** `act(entry)` keeps and sends an action, resolving to its first outcome (see Outbox.submit). */
  constructor(act) {
    this.act = act;
    this.root = byId('detail');
    this.incidentId = null;
    this.photos = new PhotoPicker(byId('resolve-photos'), byId('resolve-previews'), byId('resolve-photos-error'),
                                  byId('resolve-photos-count'));
    byId('accept').addEventListener('click', () => this.accept());
    this.onSubmit('resolve-form', () => this.resolve());
    this.onSubmit('false-alarm-form', () => this.falseAlarm());
    this.onSubmit('extension-form', () => this.extension());
  }

  onSubmit(formId, handler) {
    byId(formId).addEventListener('submit', event => {
      event.preventDefault();
      handler();
    });
  }

  /** Show incident `id` from its inbox card (null: not the worker's any more); `pending`: actions queued. */
  show(id, card, pending) {
    if (id !== this.incidentId) {
      this.incidentId = id;
      this.reset();
    }
    this.root.dataset.incident = id;
    this.root.dataset.status = card ? card.status : '';
    byId('detail-missing').hidden = Boolean(card);
    byId('detail-body').hidden = !card;
    if (!card) {
      return;
    }
    const status = byId('detail-status');
    status.className = `status ${card.status}`;
    status.textContent = card.status_label || card.status;
    byId('detail-kind').textContent = card.kind_label || card.kind;
    const evidence = byId('detail-evidence');
    evidence.hidden = !card.evidence_url;
    if (card.evidence_url && evidence.getAttribute('src') !== card.evidence_url) {
      evidence.src = card.evidence_url;
    }
    byId('detail-place').textContent = placeOf(card);
    byId('detail-grid').textContent = card.grid_name || card.grid_id || '—';
    const found = byId('detail-found');
    found.className = 'since';
    found.dataset.at = card.confirmed_at || '';
    found.textContent = since(card.confirmed_at);
    byId('detail-deadline-label').hidden = byId('detail-deadline').hidden = !card.deadline;
    setCountdown(byId('detail-countdown'), card.deadline);
    const step = card.last_step;
    byId('detail-step').textContent = step ? [step.label, step.at && step.at.slice(11, 16), step.note]
      .filter(Boolean).join(' · ') : '—';
    const map = byId('detail-map');
    map.hidden = !card.map_url;
    map.href = card.map_url || '#';
    this.showExtension(card.extension);
    this.showPhotos(card.photos || []);
    this.showActions(card.actions || [], pending);
  }

  showExtension(extension) {
    const box = byId('detail-extension');
    box.hidden = !extension;
    if (extension) {
      const decided = extension.decision_note ? `（${extension.decision_note}）` : '';
      box.textContent = `延期申请 ${extension.minutes} 分钟：${EXTENSION_STATES[extension.status] || extension.status}` +
        `${decided} · ${extension.reason}`;
    }
  }

  showPhotos(photos) {
    const box = byId('detail-photos');
    const shown = Array.from(box.querySelectorAll('img.photo'), image => image.getAttribute('src'));
    const urls = photos.map(photo => photo.url);
    if (shown.join('\n') === urls.join('\n')) {
      return;
    }
    box.replaceChildren(...urls.map(url => {
      const image = document.createElement('img');
      image.className = 'photo';
      image.src = url;
      image.alt = '处置后照片';
      return image;
    }));
  }

  /**
   * The forms of the actions allowed now. One already waiting to be sent is not offered twice, and once a
   * resolve or false alarm waits, nothing more is; after an accept made offline the worker goes on to resolve.
   */
  showActions(allowed, pending) {
    const closing = pending.some(action => CLOSING.has(action));
    const offered = new Set(closing ? [] : allowed.filter(action => !pending.includes(action)));
    if (!closing && pending.includes('accept') && allowed.includes('accept')) {
      offered.add('resolve');
    }
    for (const section of this.root.querySelectorAll('.action[data-action]')) {
      section.hidden = !offered.has(section.dataset.action);
    }
    const queued = byId('detail-queued');
    queued.hidden = !pending.length;
    queued.textContent = `待发送：${pending.map(action => ACTION_LABELS[action] || action).join('、')}（联网后自动发送）`;
  }

  /** The outcome of the worker's last action here, brought into sight; `kind`: 'ok', 'error' or 'waiting'. */
  message(text, kind = 'ok') {
    const line = byId('detail-message');
    line.textContent = text || '';
    line.classList.toggle('error', kind === 'error');
    line.classList.toggle('waiting', kind === 'waiting');
    if (text) {
      line.scrollIntoView({block: 'nearest'});
    }
  }

  /** Whether incident `id` is on the screen now (its outcomes are told here, not in a toast). */
  showing(id) {
    return this.incidentId === id && !byId('view-detail').hidden;
  }

  reset() {
    for (const id of ['resolve-note', 'false-alarm-text', 'extension-reason']) {
      byId(id).value = '';
    }
    byId('false-alarm-reason').value = 'not_violation';
    byId('extension-minutes').value = '60';
    for (const id of ['false-alarm-error', 'extension-error']) {
      byId(id).textContent = '';
    }
    this.photos.clear();
    this.message('');
  }

  accept() {
    this.send('accept', {}, [], 'accept', () => {});
  }

  resolve() {
    const problem = this.photos.check();
    this.photos.error(problem);
    if (problem) {
      return;
    }
    const photos = this.photos.files.map(file => ({blob: file, name: file.name || 'photo.jpg'}));
    this.send('resolve', {note: byId('resolve-note').value.trim()}, photos, 'resolve-submit', outcome => {
      if (outcome.kind === 'refused') {
        if (PHOTO_CODES.has(outcome.body.code) || [413, 415].includes(outcome.status)) {
          this.photos.error(detailText(outcome.body, outcome.status));
        }
        return;
      }
      this.photos.clear();
      byId('resolve-note').value = '';
    });
  }

  falseAlarm() {
    const reason = byId('false-alarm-reason').value;
    const text = byId('false-alarm-text').value.trim();
    const problem = reason === 'other' && !text ? '选择“其他”时请写明原因 (say why)' : '';
    byId('false-alarm-error').textContent = problem;
    if (problem) {
      return;
    }
    this.send('false_alarm', {reason, text}, [], 'false-alarm-submit', outcome => {
      if (outcome.kind !== 'refused') {
        byId('false-alarm-text').value = '';
      }
    });
  }

  extension() {
    const reason = byId('extension-reason').value.trim();
    const problem = reason ? '' : '请填写延期原因 (a reason is required)';
    byId('extension-error').textContent = problem;
    if (problem) {
      return;
    }
    const minutes = byId('extension-minutes').value;
    this.send('extension', {minutes, reason}, [], 'extension-submit', outcome => {
      if (outcome.kind !== 'refused') {
        byId('extension-reason').value = '';
      }
    });
  }

  /**
   * Keep and send one action, then `settled(outcome)`. A form is emptied once its action is safe (sent, or
   * kept to send); a refused one keeps what the worker typed, to correct it.
   */
  async send(action, fields, photos, buttonId, settled) {
    const button = byId(buttonId);
    button.disabled = true;
    this.message('');
    try {
      settled(await this.act({key: newKey(), incidentId: this.incidentId, action, fields, photos}));
    } finally {
      button.disabled = false;
    }
  }
}
