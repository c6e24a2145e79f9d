'use strict';
// The incident list, live: an incident step from the stream (static/live.js) updates its row when the row
// is on the page; a new incident matching the filters is put on top when the page shows the newest first
// (page 1, by time, descending, no end time), otherwise a bar counts what is new and offers a reload.
// A worker's request for more time marks its row (延期待批) and counts in the 待审批延期 link until decided.
// Settings and names come in the page (#incident-live); every text goes in with textContent.
(function () {
  const page = JSON.parse(document.getElementById('incident-live').textContent);
  const rows = document.getElementById('incident-rows');
  const bar = document.getElementById('live-bar');
  const refresh = document.getElementById('live-refresh');
  const PAGE_SIZE = Number(rows.closest('table').dataset.pageSize);
  // "2026-12-01 14:30" in the site's time zone, as the server writes times.
  const minute = new Intl.DateTimeFormat('sv-SE', {timeZone: page.tz, year: 'numeric', month: '2-digit',
                                                   day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  const unseen = new Set();
  const awaiting = document.getElementById('awaiting-extensions'); // only for users who decide requests
  const OPEN = ['dispatched', 'accepted', 'reopened'];
  // routing.incidents.extension_requests notes an approval's extend step so.
  const APPROVAL = /^approved the request of /;

  function named(names, id, none) {
    if (id === null || id === undefined) {
      return none;
    }
    return names[id] ? names[id] + ' (' + id + ')' : id;
  }

  function matches(data) {
    return (page.statuses.length === 0 || page.statuses.includes(data.status)) &&
      (!page.kind || data.kind === page.kind) && (!page.grid || data.grid_id === page.grid) &&
      (!page.worker || data.worker_id === page.worker) && (!page.camera || data.camera_id === page.camera) &&
      (!page.q || data.incident_id.startsWith(page.q)) &&
      (!page.extension_pending || data.action === 'request_extension');
  }

  // Whether the step leaves the incident's request for more time awaiting a decision: true when asked,
  // false when decided or no longer decidable (reassigned, not open), null when the step says nothing of it.
  function extensionAwaits(data) {
    if (data.action === 'request_extension') {
      return true;
    }
    if (data.action === 'refuse_extension' || data.action === 'reassign' || !OPEN.includes(data.status) ||
        (data.action === 'extend' && APPROVAL.test(data.note || ''))) {
      return false;
    }
    return null;
  }

  function extensionFlag() {
    const flag = document.createElement('span');
    flag.className = 'extension-flag';
    flag.title = '延期申请待审批 A request for more time awaits a decision';
    flag.textContent = '延期待批';
    return flag;
  }

  // The link's count follows the requests asked and decided; a reload counts them afresh.
  function countAwaiting(data) {
    if (!awaiting) {
      return;
    }
    const change = data.action === 'request_extension' ? 1 :
      data.action === 'refuse_extension' || (data.action === 'extend' && APPROVAL.test(data.note || '')) ? -1 : 0;
    const count = Math.max(0, Number(awaiting.dataset.count) + change);
    awaiting.dataset.count = String(count);
    awaiting.querySelector('.count').textContent = String(count);
    awaiting.classList.toggle('none', count === 0);
  }

  function cell(text, className) {
    const td = document.createElement('td');
    if (className) {
      td.className = className;
    }
    td.textContent = text;
    return td;
  }

  function statusBadge(status) {
    const badge = document.createElement('span');
    badge.className = 'status ' + status;
    badge.textContent = page.status_labels[status] || status;
    return badge;
  }

  function newRow(data) {
    const when = minute.format(new Date(data.at));
    const row = document.createElement('tr');
    row.dataset.incident = data.incident_id;
    row.className = 'new';
    row.append(cell(when, 'when'), cell(data.kind_label || data.kind));
    const camera = cell(data.camera_name + ' ');
    const zone = document.createElement('span');
    zone.className = 'muted';
    zone.textContent = '· ' + data.zone;
    camera.append(zone);
    row.append(camera, cell(named(page.grids, data.grid_id, '无网格 no grid'), 'grid'),
               cell(named(page.workers, data.worker_id, '未分配 unassigned'), 'worker'));
    const status = cell('', 'state');
    status.append(statusBadge(data.status));
    row.append(status, cell(when, 'when muted'));
    const link = document.createElement('a');
    link.href = '/incidents/' + encodeURIComponent(data.incident_id);
    link.className = 'incident-link';
    const code = document.createElement('code');
    code.textContent = data.incident_id.slice(0, 8);
    link.append(code);
    const idCell = document.createElement('td');
    idCell.append(link);
    row.append(idCell);
    return row;
  }

  function update(row, data) {
    row.querySelector('.grid').textContent = named(page.grids, data.grid_id, '无网格 no grid');
    row.querySelector('.worker').textContent = named(page.workers, data.worker_id, '未分配 unassigned');
    const state = row.querySelector('.state');
    const awaits = extensionAwaits(data);
    const flagged = awaits === null ? state.querySelector('.extension-flag') !== null : awaits;
    state.replaceChildren(statusBadge(data.status));
    if (flagged) {
      state.append(extensionFlag());
    }
    row.classList.remove('new');
    void row.offsetWidth; // restart the highlight
    row.classList.add('new');
  }

  function tell(text) {
    refresh.textContent = text;
    bar.hidden = false;
  }

  function onIncident(data) {
    countAwaiting(data);
    const row = rows.querySelector('tr[data-incident="' + CSS.escape(data.incident_id) + '"]');
    if (row) {
      update(row, data);
      return;
    }
    if (!matches(data)) {
      return;
    }
    // A new incident comes as two steps of one commit (detect, dispatch): the first puts its row on top.
    if (page.prepend && (data.action === 'detect' || data.action === 'dispatch')) {
      rows.prepend(newRow(data));
      while (rows.rows.length > PAGE_SIZE) {
        rows.deleteRow(-1);
      }
      const empty = document.getElementById('no-incidents');
      if (empty) {
        empty.hidden = true;
      }
      return;
    }
    unseen.add(data.incident_id);
    tell(unseen.size + ' 条新事件或更新 — 刷新 ' + unseen.size + ' new or changed — refresh');
  }

  window.AIBrainLive.on('incident', onIncident);
  window.AIBrainLive.on('state', function (state) {
    if (state.live && state.reconnected) {
      tell('实时连接已恢复 — 刷新 Live updates resumed — refresh for what happened meanwhile');
    }
  });
})();
