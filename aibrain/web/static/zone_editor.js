// The zone editor: the camera's zones as polygons on an SVG laid over its picture. "New zone", then a
// click per point; clicking the first point or a double-click closes it. Dragging a vertex moves it;
// a zone is selected by clicking it (or its card) and deleted with the button or the Delete key.
// Save posts the whole list as JSON (X-CSRF-Token header); the server validates it as check-config
// does and answers each problem with the zone and field it belongs to, shown beside that field.
// Points are fractions (0..1) of the picture, kept to 4 decimals.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("zone-editor-data").textContent);
  const svg = document.getElementById("zone-svg");
  const picture = document.getElementById("zone-picture");
  const stage = document.getElementById("stage");
  const frame = document.getElementById("frame");
  const list = document.getElementById("zone-list");
  const template = document.getElementById("zone-card-template");
  const saveButton = document.getElementById("save-zones");
  const newButton = document.getElementById("new-zone");
  const deleteButton = document.getElementById("delete-zone");
  const saveState = document.getElementById("save-state");
  const reloadState = document.getElementById("reload-state");
  const general = document.getElementById("general-problems");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#3fa7ff", "#f2b33d", "#38c98b", "#ff7ab6", "#a98bff", "#5ee0e6", "#ff9d5c", "#c6e05e"];
  const CLOSE_PX = 12; // a click this near the first point closes the polygon
  const SAME_PX = 4; // a second click this near the last point adds nothing (the clicks of a double-click)
  const editable = data.can_save;

  let zones = data.zones.map((zone) => ({
    name: zone.name, grid: zone.grid, tags: zone.tags.slice(), source: zone.source, allow: zone.allow,
    polygon: zone.polygon.map((point) => [point[0], point[1]]),
  }));
  let selected = zones.length ? 0 : -1;
  let drawing = null; // the points of the zone being drawn
  let cursor = null; // where the pointer is while drawing
  let dragging = null; // {zone, vertex} while a vertex is dragged
  let version = data.version;
  let dirty = false;
  let size = { width: 1600, height: 900 }; // the picture's pixels: the SVG's user units

  const round4 = (value) => Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
  const colour = (index) => COLOURS[index % COLOURS.length];

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function fractionAt(event) {
    const box = svg.getBoundingClientRect();
    return [round4((event.clientX - box.left) / box.width), round4((event.clientY - box.top) / box.height)];
  }

  function screenDistance(a, b) {
    const box = svg.getBoundingClientRect();
    return Math.hypot((a[0] - b[0]) * box.width, (a[1] - b[1]) * box.height);
  }

  const pixels = (point) => `${point[0] * size.width},${point[1] * size.height}`;
  const unitsPerPixel = () => size.width / Math.max(1, svg.getBoundingClientRect().width);

  // -- drawing the SVG ------------------------------------------------------------------------------

  function render() {
    svg.setAttribute("viewBox", `0 0 ${size.width} ${size.height}`);
    svg.classList.toggle("drawing", drawing !== null);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const unit = unitsPerPixel();
    zones.forEach((zone, index) => {
      const group = element("g", { class: "zone" + (index === selected ? " selected" : ""), "data-index": index }, svg);
      const shape = element("polygon", {
        points: zone.polygon.map(pixels).join(" "), fill: colour(index), stroke: colour(index),
        "stroke-width": 2 * unit, class: "zone-shape", "data-index": index,
      }, group);
      shape.addEventListener("mousedown", (event) => {
        if (drawing) return;
        event.preventDefault();
        select(index);
      });
      const centre = labelPoint(zone.polygon);
      const label = element("text", { x: centre[0] * size.width, y: centre[1] * size.height, class: "zone-label",
        "font-size": 14 * unit, "text-anchor": "middle", "dominant-baseline": "middle" }, group);
      label.textContent = zone.name || "(未命名)";
      if (index === selected && editable) {
        zone.polygon.forEach((point, vertex) => {
          const handle = element("circle", { cx: point[0] * size.width, cy: point[1] * size.height, r: 6 * unit,
            "stroke-width": 2 * unit, class: "vertex", "data-index": index, "data-vertex": vertex }, group);
          handle.addEventListener("mousedown", (event) => {
            if (drawing) return;
            event.preventDefault();
            event.stopPropagation();
            dragging = { zone: index, vertex: vertex };
          });
        });
      }
    });
    if (drawing) {
      const points = cursor ? drawing.concat([cursor]) : drawing;
      element("polyline", { points: points.map(pixels).join(" "), class: "drawing-line", "stroke-width": 2 * unit }, svg);
      drawing.forEach((point, vertex) => {
        element("circle", { cx: point[0] * size.width, cy: point[1] * size.height, r: (vertex === 0 ? 8 : 5) * unit,
          "stroke-width": 2 * unit, class: vertex === 0 ? "vertex first" : "vertex" }, svg);
      });
    }
  }

  function labelPoint(polygon) {
    const sum = polygon.reduce((total, point) => [total[0] + point[0], total[1] + point[1]], [0, 0]);
    return [sum[0] / polygon.length, sum[1] / polygon.length];
  }

  // -- the zone cards -------------------------------------------------------------------------------

  function renderList() {
    list.textContent = "";
    document.getElementById("zone-count").textContent = `${zones.length}`;
    zones.forEach((zone, index) => {
      const card = template.content.firstElementChild.cloneNode(true);
      card.dataset.index = index;
      card.classList.toggle("selected", index === selected);
      card.querySelector(".swatch").style.background = colour(index);
      card.querySelector(".zone-title").textContent = `#${index + 1} ${zone.name}`;
      card.querySelector(".points").textContent = `${zone.polygon.length} 点 points`;
      const name = card.querySelector('input[name="name"]');
      const grid = card.querySelector('select[name="grid"]');
      const tags = card.querySelector('input[name="tags"]');
      name.value = zone.name;
      tags.value = zone.tags.join(", ");
      fillGrids(grid, zone.grid);
      for (const input of [name, grid, tags]) input.disabled = !editable;
      name.addEventListener("input", () => {
        zone.name = name.value.trim();
        card.querySelector(".zone-title").textContent = `#${index + 1} ${zone.name}`;
        changed(false);
      });
      grid.addEventListener("change", () => { zone.grid = grid.value || null; changed(false); });
      tags.addEventListener("input", () => {
        zone.tags = tags.value.split(/[,，\s]+/).map((tag) => tag.trim()).filter(Boolean);
        changed(false);
      });
      if (zone.allow.length) {
        card.querySelector(".allow").textContent = `允许时段保持不变 Allowed hours kept: ${zone.allow.join(", ")}`;
      }
      card.addEventListener("mousedown", () => { if (index !== selected) select(index, false); });
      list.appendChild(card);
    });
  }

  function fillGrids(select, chosen) {
    const byLocation = document.createElement("option");
    byLocation.value = "";
    byLocation.textContent = data.location_grid ? `按摄像头位置 By camera location: ${data.location_grid}` : "— 未选择 none —";
    select.appendChild(byLocation);
    for (const grid of data.grids) {
      const option = document.createElement("option");
      option.value = grid.id;
      option.textContent = `${grid.name} (${grid.id})` + (grid.place ? ` · ${grid.place}` : "");
      select.appendChild(option);
    }
    select.value = chosen || "";
  }

  function select(index, scroll = true) {
    selected = index;
    if (deleteButton) deleteButton.disabled = index < 0;
    for (const card of list.children) card.classList.toggle("selected", Number(card.dataset.index) === index);
    if (scroll && list.children[index]) list.children[index].scrollIntoView({ block: "nearest" });
    render();
  }

  function changed(shapes) {
    dirty = true;
    if (saveState) { saveState.textContent = "未保存 Not saved"; saveState.className = "save-state pending"; }
    if (shapes) { renderList(); }
    render();
  }

  // -- mouse ----------------------------------------------------------------------------------------

  function onClick(event) {
    if (!drawing) return;
    const point = fractionAt(event);
    if (drawing.length >= 3 && screenDistance(point, drawing[0]) <= CLOSE_PX) { finishDrawing(); return; }
    if (drawing.length && screenDistance(point, drawing[drawing.length - 1]) <= SAME_PX) return;
    drawing.push(point);
    render();
  }

  function finishDrawing() {
    if (!drawing || drawing.length < 3) return;
    const taken = new Set(zones.map((zone) => zone.name));
    let number = zones.length + 1;
    while (taken.has(`zone-${number}`)) number += 1;
    const grid = zones.length ? zones[zones.length - 1].grid : (data.grids.length ? data.grids[0].id : null);
    zones.push({ name: `zone-${number}`, grid: grid, tags: [], source: null, allow: [], polygon: drawing });
    drawing = null;
    cursor = null;
    selected = zones.length - 1;
    if (deleteButton) deleteButton.disabled = false;
    hint("已添加区域，请填写名称、网格和标签 Zone added: give it a name, grid and tags.");
    changed(true);
    const card = list.children[selected];
    if (card) { card.scrollIntoView({ block: "nearest" }); card.querySelector('input[name="name"]').focus(); }
  }

  function startDrawing() {
    drawing = [];
    cursor = null;
    hint("单击添加顶点；单击第一个点或双击结束；Esc 取消 Click to add points; click the first point or double-click to close; Esc cancels.");
    render();
  }

  function hint(text) {
    const node = document.getElementById("editor-hint");
    if (node) node.textContent = text;
  }

  if (editable) {
    svg.addEventListener("click", onClick);
    svg.addEventListener("dblclick", (event) => { event.preventDefault(); finishDrawing(); });
    svg.addEventListener("mousemove", (event) => {
      if (drawing) { cursor = fractionAt(event); render(); }
    });
    window.addEventListener("mousemove", (event) => {
      if (!dragging) return;
      zones[dragging.zone].polygon[dragging.vertex] = fractionAt(event);
      render();
    });
    window.addEventListener("mouseup", () => {
      if (dragging) { dragging = null; changed(true); }
    });
    newButton.addEventListener("click", startDrawing);
    deleteButton.disabled = selected < 0;
    deleteButton.addEventListener("click", deleteSelected);
    window.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && drawing) { drawing = null; cursor = null; render(); }
      const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
      if (event.key === "Delete" && !typing && !drawing && selected >= 0) deleteSelected();
    });
    saveButton.addEventListener("click", save);
    window.addEventListener("beforeunload", (event) => { if (dirty) event.preventDefault(); });
  }

  function deleteSelected() {
    if (selected < 0) return;
    zones.splice(selected, 1);
    selected = Math.min(selected, zones.length - 1);
    deleteButton.disabled = selected < 0;
    changed(true);
  }

  // -- saving ---------------------------------------------------------------------------------------

  async function save() {
    clearProblems();
    saveButton.disabled = true;
    saveState.textContent = "保存中 Saving…";
    saveState.className = "save-state pending";
    const body = {
      version: version,
      zones: zones.map((zone) => ({ name: zone.name, grid: zone.grid || null, tags: zone.tags,
        polygon: zone.polygon.map((point) => [round4(point[0]), round4(point[1])]), source: zone.source })),
    };
    try {
      const response = await fetch(data.save_url, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        saved(answer);
      } else if (response.status === 422 && answer.problems) {
        showProblems(answer.problems);
        failed(`未保存：${answer.problems.length} 个问题 Not saved: ${answer.problems.length} problem(s), shown beside the fields`);
      } else {
        const detail = typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`;
        failed(`未保存 Not saved: ${detail}`);
      }
    } catch (error) {
      failed(`未保存 Not saved: ${error}`);
    } finally {
      saveButton.disabled = false;
    }
  }

  function saved(answer) {
    version = answer.version;
    dirty = false;
    zones.forEach((zone, index) => { zone.source = index; });
    saveState.textContent = `已保存 Saved (${answer.zones})`;
    saveState.className = "save-state ok";
    watchReload(Date.parse(answer.saved_at));
  }

  function failed(text) {
    saveState.textContent = text;
    saveState.className = "save-state bad";
  }

  function clearProblems() {
    general.hidden = true;
    general.textContent = "";
    for (const node of list.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of list.querySelectorAll(".has-error")) node.classList.remove("has-error");
  }

  function showProblems(problems) {
    const left = [];
    for (const problem of problems) {
      const card = problem.zone === null ? null : list.children[problem.zone];
      const slot = card && card.querySelector(`.field-error[data-field="${problem.field || ""}"]`);
      const target = slot || (card && card.querySelector(".zone-error"));
      if (!target) { left.push(problem.message); continue; }
      const line = document.createElement("div");
      line.textContent = problem.message;
      target.appendChild(line);
      card.classList.add("has-error");
      const input = card.querySelector(`[name="${problem.field}"]`);
      if (input) input.classList.add("has-error");
    }
    if (left.length) {
      general.hidden = false;
      for (const message of left) {
        const line = document.createElement("div");
        line.textContent = message;
        general.appendChild(line);
      }
    }
    const first = list.querySelector(".zone-card.has-error");
    if (first) first.scrollIntoView({ block: "nearest" });
  }

  // The running `aibrain run` reloads the file it watches and writes what it made of it.
  function watchReload(savedAt) {
    reloadState.hidden = false;
    reloadState.className = "reload-state pending";
    reloadState.textContent = "等待运行中的系统加载 Waiting for the running system to load the file…";
    const deadline = Date.now() + 30000;
    const poll = async () => {
      try {
        const response = await fetch(data.reload_url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const outcome = response.ok ? (await response.json()).outcome : null;
        if (outcome && Date.parse(outcome.at) >= savedAt - 1000) { showReload(outcome); return; }
      } catch (error) { /* tried again below */ }
      if (Date.now() < deadline) { window.setTimeout(poll, 1000); return; }
      reloadState.className = "reload-state bad";
      reloadState.textContent = "30 秒内没有运行中的系统加载它（aibrain run 是否在运行？）No running system loaded it within 30 s (is `aibrain run` running?)";
    };
    poll();
  }

  function showReload(outcome) {
    reloadState.textContent = "";
    reloadState.className = "reload-state " + (outcome.ok ? "ok" : "bad");
    const head = document.createElement("div");
    head.textContent = outcome.ok ? "运行中的系统已应用 Applied by the running system"
      : "运行中的系统拒绝了该文件，仍用原配置 The running system refused the file and keeps its configuration";
    reloadState.appendChild(head);
    const lines = outcome.ok ? outcome.changes.concat(outcome.needs_restart.map((what) => `需重启 needs a restart: ${what}`))
      : outcome.problems;
    if (lines.length) {
      const items = document.createElement("ul");
      for (const text of lines) {
        const item = document.createElement("li");
        item.textContent = text;
        items.appendChild(item);
      }
      reloadState.appendChild(items);
    }
  }

  if (data.reload && !data.reload.ok && reloadState) showReload(data.reload);

  // -- sizing ---------------------------------------------------------------------------------------

  function measure() {
    if (picture.tagName === "IMG" && picture.naturalWidth) {
      size = { width: picture.naturalWidth, height: picture.naturalHeight };
    } else if (picture.dataset.width) {
      size = { width: Number(picture.dataset.width), height: Number(picture.dataset.height) };
    }
    fit();
  }

  // The picture as large as the stage's width and the window's height allow, its proportions kept:
  // the SVG covers exactly the picture, so a point's fraction of the SVG is its fraction of the picture.
  function fit() {
    const top = stage.getBoundingClientRect().top + window.scrollY;
    const room = Math.max(320, window.innerHeight - top - 24);
    const scale = Math.min(stage.clientWidth / size.width, room / size.height);
    frame.style.width = `${Math.floor(size.width * scale)}px`;
    frame.style.height = `${Math.floor(size.height * scale)}px`;
    frame.style.aspectRatio = "auto";
    render();
  }

  if (picture.tagName === "IMG") {
    picture.addEventListener("load", measure);
    picture.addEventListener("error", () => {
      const placeholder = document.createElement("div");
      placeholder.className = "placeholder";
      placeholder.textContent = "画面无法加载 The picture could not be loaded";
      picture.replaceWith(placeholder);
      size = { width: 1600, height: 900 };
      fit();
    });
  }
  window.addEventListener("resize", fit);
  renderList();
  measure();
  select(selected, false);
})();
