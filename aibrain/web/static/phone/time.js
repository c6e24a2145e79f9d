// Times as the worker reads them. The server's clock is the reference (the phone's may be off by
// minutes): `syncClock` keeps the difference from the inbox's `now`, and countdowns use it.

let offsetMs = 0;

export function syncClock(serverNowIso) {
  const server = Date.parse(serverNowIso);
  if (!Number.isNaN(server)) {
    offsetMs = server - Date.now();
  }
}

function serverNow() {
  return Date.now() + offsetMs;
}

/** "14:05" (or "12-01 14:05" on another day) in the site's own time, as the ISO string carries it. */
export function clockTime(iso) {
  if (!iso) {
    return '';
  }
  return iso.slice(0, 10) === todayAt(iso) ? iso.slice(11, 16) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/** Today's date where `iso` was written (its own UTC offset, e.g. +08:00), as YYYY-MM-DD. */
function todayAt(iso) {
  const offset = /([+-])(\d\d):(\d\d)$/.exec(iso);
  const minutes = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
  return new Date(serverNow() + minutes * 60000).toISOString().slice(0, 10);
}

/** A duration in words: "45 秒", "12 分钟", "3 小时 5 分", "2 天 4 小时". */
function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) {
    return `${seconds} 秒`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} 分钟`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return `${hours} 小时 ${minutes % 60} 分`;
  }
  return `${Math.floor(hours / 24)} 天 ${hours % 24} 小时`;
}

/** A countdown to the minute and second: "1:02:09", "12:09". */
function clock(ms) {
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor(seconds / 60) % 60).padStart(h ? 2 : 1, '0');
  const s = String(seconds % 60).padStart(2, '0');
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

const DEADLINE_LABELS = {accept: '接单时限', resolve: '处置时限'};

/** The countdown's text and whether it is late, for a card's `deadline` ({which, at}) or null. */
export function countdown(deadline) {
  if (!deadline) {
    return {text: '', late: false};
  }
  const left = Date.parse(deadline.at) - serverNow();
  const label = DEADLINE_LABELS[deadline.which] || '时限';
  if (left >= 0) {
    return {text: `${label} 剩余 ${clock(left)}`, late: false};
  }
  return {text: `${label} 已超时 ${clock(left)}`, late: true};
}

/** "发现于 12 分钟前" from the confirmed time. */
export function since(iso) {
  return iso ? `发现于 ${duration(serverNow() - Date.parse(iso))}前 (${clockTime(iso)})` : '';
}
