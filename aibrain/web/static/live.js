'use strict';
// The live event stream, one per tab, shared by every script of the page:
//   AIBrainLive.on('incident', data => ...)  an incident step in the user's scope (live_feed.incident_event)
//   AIBrainLive.on('camera', data => ...)    a camera's health changed
//   AIBrainLive.on('state', state => ...)    {live: true, reconnected} when the stream opens, {live: false} when lost
// The browser reconnects by itself after a stream ends (the server's `retry:`); when it gives up (the
// server refused, e.g. the session ended) this tries again with a growing pause. A page reloads what it
// shows on {reconnected: true}: events sent while it was away are not replayed.
window.AIBrainLive = (function () {
  const TOPICS = ['incident', 'camera'];
  const handlers = {};
  let pauseMs = 1000;
  let opened = false;
  let started = false;

  function emit(name, value) {
    for (const handler of handlers[name] || []) {
      try {
        handler(value);
      } catch (error) {
        console.error('live feed handler failed', error);
      }
    }
  }

  function connect() {
    const source = new EventSource('/events');
    source.addEventListener('open', function () {
      pauseMs = 1000;
      emit('state', {live: true, reconnected: opened});
      opened = true;
    });
    for (const topic of TOPICS) {
      source.addEventListener(topic, function (event) { emit(topic, JSON.parse(event.data)); });
    }
    source.addEventListener('error', function () {
      emit('state', {live: false});
      if (source.readyState === EventSource.CLOSED) {
        window.setTimeout(connect, pauseMs);
        pauseMs = Math.min(pauseMs * 2, 30000);
      }
    });
  }

  function on(name, handler) {
    (handlers[name] = handlers[name] || []).push(handler);
    if (!started) {
      started = true;
      connect();
    }
  }

  return {on: on};
})();
