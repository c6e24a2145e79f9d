// The inbox: the worker's incidents as cards (open first, then awaiting verification, then closed today).
// Cards whose data did not change are kept as they are (no evidence picture loaded twice); new ones flash.

import {countdown, since} from './time.js';

const SECTION_TITLES = {open: '待处理 To do', checking: '待核查 Being verified', closed: '已完结（24 小时内）Closed'};
const NO_PICTURE = 'data:image/svg+xml,' + encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="72"><rect width="96" height="72" fill="#dde3ec"/>' +
  '<text x="48" y="41" font-size="12" text-anchor="middle" fill="#66728a">无图片</text></svg>');
export const ACTION_LABELS = {accept: '接单', resolve: '处置', false_alarm: '误报', extension: '延期申请'};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Where it is, in one line: camera · zone · grid. */
export function placeOf(card) {
  return [card.camera_name || card.camera_id, card.zone, card.grid_name || card.grid_id].filter(Boolean).join(' · ');
}

/** Fill a `.countdown` element for a deadline ({which, at}) or none; kept current by `tickCountdowns`. */
export function setCountdown(node, deadline) {
  node.dataset.at = deadline ? deadline.at : '';
  node.dataset.which = deadline ? deadline.which : '';
  const shown = countdown(deadline);
  node.textContent = shown.text;
  node.classList.toggle('late', shown.late);
}

export function tickCountdowns(root) {
  for (const node of root.querySelectorAll('.countdown[data-at]')) {
    const deadline = node.dataset.at ? {at: node.dataset.at, which: node.dataset.which} : null;
    const shown = countdown(deadline);
    node.textContent = shown.text;
    node.classList.toggle('late', shown.late);
  }
  for (const node of root.querySelectorAll('.since[data-at]')) {
    node.textContent = since(node.dataset.at);
  }
}

function cardElement(card, pending, fresh) {
  const article = element('article', `card ${card.section || 'open'}${fresh ? ' new' : ''}`);
  article.dataset.incident = card.id;
  article.dataset.status = card.status;
  article.setAttribute('role', 'link');
  article.tabIndex = 0;
  const picture = element('img', 'evidence');
  picture.alt = card.evidence_url ? '取证图片' : '无取证图片';
  picture.loading = 'lazy';
  picture.src = card.evidence_url || NO_PICTURE;
  const head = element('div', 'head');
  head.append(element('span', `status ${card.status}`, card.status_label || card.status),
              element('span', 'kind', card.kind_label || card.kind));
  const when = element('div', 'since', since(card.confirmed_at));
  when.dataset.at = card.confirmed_at || '';
  const left = element('div', 'countdown');
  setCountdown(left, card.deadline);
  article.append(picture, head, element('div', 'place', placeOf(card)), when, left);
  if (card.map_url) { // under the picture, away from the middle of the card where a tap opens it
    const map = element('a', 'map', '地图 Map');
    map.href = card.map_url;
    article.append(map);
  }
  if (pending.length) {
    article.append(element('div', 'pending', `待发送：${pending.map(a => ACTION_LABELS[a] || a).join('、')}`));
  }
  return article;
}

/**
 * Show `cards` in `container`; `pendingActions(id)` lists the actions waiting in the outbox for one.
 * Returns the ids shown. Opening a card goes to its view (#/i/<id>).
 */
export function renderInbox(container, cards, pendingActions) {
  const before = new Map(Array.from(container.querySelectorAll('article.card'), node => [node.dataset.incident, node]));
  const nodes = [];
  let section = null;
  for (const card of cards) {
    if (card.section !== section) {
      section = card.section;
      nodes.push(element('h2', 'section-title', SECTION_TITLES[section] || ''));
    }
    const pending = pendingActions(card.id);
    const signature = JSON.stringify([card, pending]);
    const kept = before.get(card.id);
    if (kept && kept.dataset.signature === signature) {
      nodes.push(kept);
      continue;
    }
    const fresh = !kept && container.dataset.filled === 'yes';
    const node = cardElement(card, pending, fresh);
    node.dataset.signature = signature;
    nodes.push(node);
  }
  container.replaceChildren(...nodes);
  container.dataset.filled = 'yes';
  return cards.map(card => card.id);
}

/** Open a card's incident on a tap (or Enter), one listener for the whole list. */
export function openCardsOnTap(container) {
  const open = event => {
    const card = event.target.closest('article.card');
    if (event.target.closest('a')) {
      return; // the map link opens the map, not the incident
    }
    if (card) {
      window.location.hash = `#/i/${encodeURIComponent(card.dataset.incident)}`;
    }
  };
  container.addEventListener('click', open);
  container.addEventListener('keydown', event => {
    if (event.key === 'Enter') {
      open(event);
    }
  });
}
