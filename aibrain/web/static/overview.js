'use strict';
// The overview: the scope's grids on an ECharts map coloured by open incidents with a marker per open
// incident, today's counters, camera health and the live feed. Figures come in the page
// (#overview-data) and again from /api/overview shortly after each live event.
(function () {
  const page = JSON.parse(document.getElementById('overview-data').textContent);
  const FEED_MAX = 60;
  const REFRESH_AFTER_MS = 400; // a burst of events costs one refresh
  const MARKER_SPREAD = 0.012; // of the map's extent: how far markers at one camera fan out
  const mapElement = document.getElementById('overview-map');
  const feed = document.getElementById('live-feed');
  const clock = new Intl.DateTimeFormat('zh-CN', {timeZone: page.tz, hour: '2-digit', minute: '2-digit',
                                                  second: '2-digit', hourCycle: 'h23'});
  const dayAndTime = new Intl.DateTimeFormat('zh-CN', {timeZone: page.tz, month: '2-digit', day: '2-digit',
                                                       hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  let figures = page.overview;
  let gridNames = {};
  let extent = 0.01;
  let chart = null;
  let refreshTimer = null;

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) {
      made.className = className;
    }
    if (text !== undefined && text !== null) {
      made.textContent = text;
    }
    return made;
  }

  // ECharts tooltips are HTML: every name in them is escaped.
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  function gridName(gridId) {
    if (!gridId) {
      return '无网格 no grid';
    }
    return gridNames[gridId] ? gridNames[gridId] + ' (' + gridId + ')' : gridId;
  }

  function signedOut(response) {
    if (response.status === 401) {
      window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname));
      return true;
    }
    return false;
  }

  // ---- counters and camera health ----

  function showCounters() {
    for (const [key, value] of Object.entries(figures.counters)) {
      const shown = document.getElementById('counter-' + key);
      if (shown) {
        shown.textContent = value;
      }
    }
    document.getElementById('overview-day').textContent = figures.day;
    let note = '未结案 Open: ' + figures.open_total;
    if (figures.open_elsewhere > 0) {
      note += ' · 无网格/其他 elsewhere: ' + figures.open_elsewhere;
    }
    if (figures.markers_left_out > 0) {
      note += ' · 最新 ' + figures.markers.length + ' 个已标注 newest ' + figures.markers.length + ' marked';
    }
    document.getElementById('open-total').textContent = note;
  }

  function showCameras() {
    const health = figures.cameras;
    document.getElementById('cameras-online').textContent = health.online;
    document.getElementById('cameras-offline').textContent = health.offline;
    document.getElementById('cameras-unknown').textContent = health.unknown;
    const list = document.getElementById('camera-problems');
    list.replaceChildren(...health.problems.map(function (problem) {
      const item = element('li', 'camera-problem ' + problem.state);
      item.dataset.camera = problem.id;
      item.append(element('span', 'camera-state', page.camera_labels[problem.state] || problem.state),
                  element('span', 'camera-name', problem.name));
      const since = problem.since ? '自 since ' + dayAndTime.format(new Date(problem.since)) : '';
      item.append(element('span', 'since', since));
      if (problem.reason) {
        item.title = problem.reason;
      }
      return item;
    }));
    if (health.problems.length === 0) {
      list.append(element('li', 'all-online', '全部在线 All cameras online'));
    }
  }

  // ---- the live feed ----

  function incidentItem(step) {
    const item = element('li', 'feed-item action-' + step.action);
    item.dataset.incident = step.incident_id;
    item.dataset.action = step.action;
    item.append(element('span', 'when', clock.format(new Date(step.at))),
                element('span', 'action', page.action_labels[step.action] || step.action));
    const link = element('a', 'kind', step.kind_label || step.kind);
    link.href = '/incidents/' + encodeURIComponent(step.incident_id);
    item.append(link, element('span', 'status ' + step.step_status,
                                   page.status_labels[step.step_status] || step.step_status));
    item.append(element('div', 'where', step.camera_name + ' · ' + gridName(step.grid_id)));
    return item;
  }

  function cameraItem(change) {
    const item = element('li', 'feed-item camera-change ' + change.state);
    item.dataset.camera = change.camera_id;
    item.append(element('span', 'when', clock.format(new Date(change.at))),
                element('span', 'action', '摄像头 Camera ' + (page.camera_labels[change.state] || change.state)),
                element('span', 'kind', page.camera_names[change.camera_id] || change.camera_id));
    return item;
  }

  function showRecent() {
    feed.replaceChildren(...figures.recent.map(incidentItem));
    if (figures.recent.length === 0) {
      feed.append(element('li', 'feed-empty muted', '暂无事件 Nothing yet today'));
    }
  }

  function prepend(item) {
    const empty = feed.querySelector('.feed-empty');
    if (empty) {
      empty.remove();
    }
    item.classList.add('new');
    feed.prepend(item);
    while (feed.children.length > FEED_MAX) {
      feed.lastElementChild.remove();
    }
  }

  // ---- the map ----

  function spreadMarkers(markers) {
    // Incidents at one camera would hide one another: fan them out on a small sunflower around it.
    const seen = {};
    return markers.map(function (marker) {
      const key = marker.lon + ',' + marker.lat;
      const index = seen[key] = (seen[key] || 0) + 1;
      const radius = index === 1 ? 0 : extent * MARKER_SPREAD * Math.sqrt(index - 1);
      const angle = index * 2.39996;
      return {value: [marker.lon + radius * Math.cos(angle), marker.lat + radius * Math.sin(angle)], marker: marker};
    });
  }

  function markerTooltip(marker) {
    const lines = [
      '<b>' + escapeHtml(marker.kind_label) + '</b>' + (marker.overdue ? ' <span class="tip-bad">超时 overdue</span>' : ''),
      '摄像头 Camera: ' + escapeHtml(marker.camera_name),
      '网格 Grid: ' + escapeHtml(marker.grid),
      '状态 Status: ' + escapeHtml(page.status_labels[marker.status] || marker.status),
      '确认 Confirmed: ' + escapeHtml(dayAndTime.format(new Date(marker.confirmed_at))),
    ];
    return lines.join('<br>');
  }

  function gridLabel(params) {
    const grid = figures.grids.find(function (candidate) { return candidate.id === params.name; });
    return (gridNames[params.name] || params.name) + (grid ? '\n' + grid.open : '');
  }

  function tooltip(params) {
    if (params.data && params.data.marker) {
      return markerTooltip(params.data.marker);
    }
    const open = typeof params.value === 'number' && !isNaN(params.value) ? params.value : 0;
    return '<b>' + escapeHtml(gridName(params.name)) + '</b><br>未结案 Open: ' + open;
  }

  function dynamicOption() {
    const most = Math.max(1, ...figures.grids.map(function (grid) { return grid.open; }));
    const spread = spreadMarkers(figures.markers);
    return {
      visualMap: {max: most},
      series: [
        {id: 'grids', data: figures.grids.map(function (grid) { return {name: grid.id, value: grid.open}; })},
        {id: 'open', data: spread.filter(function (point) { return !point.marker.overdue; })},
        {id: 'overdue', data: spread.filter(function (point) { return point.marker.overdue; })},
      ],
    };
  }

  function baseOption() {
    const text = {color: '#dfe8f6'};
    return {
      backgroundColor: 'transparent',
      tooltip: {trigger: 'item', formatter: tooltip, backgroundColor: 'rgba(11, 21, 38, 0.95)',
                borderColor: '#25406b', textStyle: text, extraCssText: 'box-shadow: none;'},
      legend: {top: 4, right: 8, textStyle: {color: '#8ea3c2'}, itemWidth: 12, itemHeight: 12,
               data: ['未结案 Open incident', '超时 Overdue']},
      visualMap: {type: 'continuous', min: 0, max: 1, seriesIndex: 0, calculable: true, left: 12, bottom: 12,
                  itemHeight: 110, text: ['多 More', '少 Fewer'], textStyle: {color: '#8ea3c2'},
                  inRange: {color: ['#15325a', '#1f5d9e', '#2a8bd0', '#e0a63a']}},
      geo: {map: 'scope', roam: true, layoutSize: '94%', nameProperty: 'id',
            label: {show: true, color: '#dfe8f6', fontSize: 13, lineHeight: 18, formatter: gridLabel},
            itemStyle: {areaColor: '#16345e', borderColor: '#5fb6ff', borderWidth: 1.2},
            emphasis: {label: {color: '#ffffff'}, itemStyle: {areaColor: '#2f6fb8'}},
            select: {disabled: true}},
      series: [
        {id: 'grids', type: 'map', geoIndex: 0, name: '未结案 Open'},
        {id: 'open', type: 'scatter', coordinateSystem: 'geo', name: '未结案 Open incident', symbolSize: 12,
         itemStyle: {color: '#4ee6ff', borderColor: '#0b1526', borderWidth: 1.5}},
        {id: 'overdue', type: 'effectScatter', coordinateSystem: 'geo', name: '超时 Overdue', symbolSize: 13,
         rippleEffect: {scale: 3, brushType: 'stroke'}, itemStyle: {color: '#ff4d4f', borderColor: '#ffffff', borderWidth: 1.5}},
      ],
    };
  }

  function mapExtent(geojson) {
    let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
    function visit(coordinates) {
      if (typeof coordinates[0] === 'number') {
        west = Math.min(west, coordinates[0]); east = Math.max(east, coordinates[0]);
        south = Math.min(south, coordinates[1]); north = Math.max(north, coordinates[1]);
        return;
      }
      coordinates.forEach(visit);
    }
    geojson.features.forEach(function (feature) { visit(feature.geometry.coordinates); });
    return isFinite(west) ? Math.max(east - west, north - south) : 0.01;
  }

  async function startMap() {
    const response = await fetch('/api/grids.geojson', {credentials: 'same-origin'});
    if (signedOut(response) || !response.ok) {
      return;
    }
    const geojson = await response.json();
    extent = mapExtent(geojson) || 0.01;
    echarts.registerMap('scope', geojson);
    chart = echarts.init(mapElement, null, {renderer: 'canvas'});
    chart.setOption(baseOption());
    chart.setOption(dynamicOption());
    chart.on('click', function (params) {
      if (params.data && params.data.marker) {
        window.location.assign('/incidents/' + encodeURIComponent(params.data.marker.id));
      }
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }

  // ---- refreshing ----

  function show() {
    gridNames = Object.fromEntries(figures.grids.map(function (grid) { return [grid.id, grid.name]; }));
    showCounters();
    showCameras();
    if (chart) {
      chart.setOption(dynamicOption());
    }
  }

  async function refresh(rebuildFeed) {
    const response = await fetch('/api/overview', {credentials: 'same-origin'});
    if (signedOut(response) || !response.ok) {
      return;
    }
    figures = await response.json();
    show();
    if (rebuildFeed) {
      showRecent();
    }
  }

  function refreshSoon() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(function () { refresh(false); }, REFRESH_AFTER_MS);
  }

  function showLiveState(state) {
    const badge = document.getElementById('live-state');
    badge.dataset.state = state.live ? 'live' : 'lost';
    badge.textContent = state.live ? '实时 Live' : '重连中 Reconnecting';
  }

  AIBrainLive.on('incident', function (step) {
    if (step.action === 'detect') {
      return; // its dispatch follows in the same commit and says it all
    }
    prepend(incidentItem(step));
    refreshSoon();
  });
  AIBrainLive.on('camera', function (change) {
    prepend(cameraItem(change));
    refreshSoon();
  });
  AIBrainLive.on('state', function (state) {
    showLiveState(state);
    if (state.reconnected) {
      refresh(true); // what happened while the stream was away
    } else if (!state.live) {
      refresh(false); // a refused stream: signed out sends the page to the sign-in
    }
  });

  show();
  showRecent();
  startMap();
})();
