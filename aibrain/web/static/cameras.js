// The cameras page kept current: every few seconds each card's state, since when, frames/s and
// picture from /api/cameras (a picture is fetched again only when the run took a new one).
(function () {
  "use strict";
  const EVERY_MS = 5000;

  function update(answer) {
    for (const camera of answer.cameras) {
      const card = document.querySelector(`[data-camera="${CSS.escape(camera.id)}"]`);
      if (!card) continue;
      card.className = card.className.replace(/\bstate-\S+/, `state-${camera.state}`);
      const badge = card.querySelector("[data-testid=camera-state]");
      badge.textContent = camera.state_label;
      badge.className = `state-badge state-${camera.state}`;
      card.querySelector("[data-field=since]").textContent = camera.since;
      card.querySelector("[data-testid=camera-fps]").textContent = camera.fps;
      if (!camera.picture_url) continue;
      let picture = card.querySelector(".camera-picture img");
      if (!picture) {
        picture = document.createElement("img");
        picture.alt = `${card.querySelector(".camera-name").firstChild.textContent.trim()} 实时画面 latest picture`;
        card.querySelector(".no-picture").replaceWith(picture);
      }
      if (picture.getAttribute("src") !== camera.picture_url) picture.src = camera.picture_url;
    }
    document.getElementById("online-count").textContent = answer.online;
  }

  async function refresh() {
    try {
      const response = await fetch("/api/cameras", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) update(await response.json());
    } catch (error) { /* the next round tries again */ }
    window.setTimeout(refresh, EVERY_MS);
  }

  window.setTimeout(refresh, EVERY_MS);
})();
