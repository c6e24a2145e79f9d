// My record (#/record): the month's figures and the incidents handled, from /m/api/record?month=YYYY-MM.

import {detailText, getJson} from './api.js';
import {clockTime} from './time.js';

const byId = id => document.getElementById(id);

function shiftMonth(month, by) {
  const [year, number] = month.split('-').map(Number);
  const moved = new Date(Date.UTC(year, number - 1 + by, 1));
  return moved.toISOString().slice(0, 7);
}

function figureText(name, value) {
  if (value === null || value === undefined) {
    return '–';
  }
  return name === 'on_time_pct' ? `${Math.round(value)}%` : String(value);
}

function historyItem(row) {
  const item = document.createElement('li');
  const title = document.createElement('div');
  title.textContent = `${row.kind_label} · ${row.camera_name}${row.zone ? ' · ' + row.zone : ''}`;
  const facts = document.createElement('div');
  facts.className = 'muted';
  const timing = document.createElement('span');
  if (row.on_time !== null && row.on_time !== undefined) {
    timing.className = row.on_time ? 'ontime' : 'late';
    timing.textContent = row.on_time ? ' · 按时' : ' · 超时';
  }
  facts.append(`${row.status_label} · 发现 ${clockTime(row.confirmed_at)}` +
               (row.resolved_at ? ` · 处置 ${clockTime(row.resolved_at)}` : ''), timing);
  item.append(title, facts);
  return item;
}

export class RecordView {
  constructor() {
    this.month = null; // until the server says which month it is now, in the site's time zone
    byId('record-prev').addEventListener('click', () => this.step(-1));
    byId('record-next').addEventListener('click', () => this.step(1));
  }

  step(months) {
    if (this.month) {
      this.load(shiftMonth(this.month, months));
    }
  }

  async load(month = this.month) {
    const error = byId('record-error');
    let answer;
    try {
      answer = await getJson(month ? `/m/api/record?month=${encodeURIComponent(month)}` : '/m/api/record');
    } catch (problem) {
      error.textContent = '离线：联网后再查看记录 (offline)';
      return;
    }
    if (!answer.ok) {
      error.textContent = detailText(answer.body, answer.status);
      return;
    }
    this.month = answer.body.month;
    const [year, number] = this.month.split('-');
    byId('record-month').textContent = `${year} 年 ${Number(number)} 月`;
    error.textContent = '';
    const figures = answer.body.figures || {};
    for (const figure of document.querySelectorAll('#record .figure[data-name]')) {
      figure.querySelector('.value').textContent = figureText(figure.dataset.name, figures[figure.dataset.name]);
    }
    const history = answer.body.history || [];
    const list = byId('record-history');
    list.replaceChildren(...history.map(historyItem));
    if (!history.length) {
      const none = document.createElement('li');
      none.className = 'muted';
      none.textContent = '本月暂无记录';
      list.append(none);
    }
  }
}
