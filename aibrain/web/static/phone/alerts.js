// Telling the worker something arrived: a short two-tone beep (WebAudio, no sound file), a vibration where
// the phone allows it, and the open count on the badge, in the tab's title and on the app icon.
// Browsers play sound only after the person has touched the page: the first tap unlocks it.

let audio = null;

function unlockSound() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) {
    return;
  }
  audio = audio || new Context();
  if (audio.state === 'suspended') {
    audio.resume().catch(() => {});
  }
}

export function unlockSoundOnFirstTap() {
  for (const name of ['pointerdown', 'touchstart', 'keydown']) {
    window.addEventListener(name, unlockSound, {once: true, passive: true});
  }
}

function beep() {
  if (!audio || audio.state !== 'running') {
    return;
  }
  const start = audio.currentTime;
  [880, 1320].forEach((frequency, index) => {
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = 'sine';
    tone.frequency.value = frequency;
    const at = start + index * 0.2;
    volume.gain.setValueAtTime(0.0001, at);
    volume.gain.exponentialRampToValueAtTime(0.4, at + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    tone.connect(volume).connect(audio.destination);
    tone.start(at);
    tone.stop(at + 0.2);
  });
}

/** A new incident for this worker. */
export function announce() {
  beep();
  if (typeof navigator.vibrate === 'function') {
    try {
      navigator.vibrate([200, 100, 200]);
    } catch (error) {
      // not allowed before a tap in some browsers: the beep and the badge still tell
    }
  }
}

/** The open count everywhere it shows. */
export function showOpenCount(count) {
  const badge = document.getElementById('open-count');
  badge.textContent = String(count);
  badge.classList.toggle('some', count > 0);
  document.title = count > 0 ? `(${count}) 网格员 · AI Brain` : '网格员 · AI Brain';
  if (typeof navigator.setAppBadge === 'function') {
    navigator.setAppBadge(count).catch(() => {}); // 0 clears it; not installed or not allowed: the page's badge
  }
}
