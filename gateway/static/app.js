// The page talks to the JSON API only: GET /api/v1/styles, POST /api/v1/stylize,
// POST /api/v1/previews and POST /api/v1/embeddings (your own paintings). Once a photo is chosen, the painting follows the style and the
// controls without another click; an answer to an older request is dropped, so the
// picture on screen always matches the caption under it.
const $ = (id) => document.getElementById(id);
const state = { file: null, style: null, styles: new Map(), latest: 0, latestPreview: 0,
                own: { files: [], ids: [], model: null } };
const OWN = "your-painting";  // the card of the visitor's own paintings
const FOLLOW_DELAY_MS = 250;   // sliders fire while dragging: ask once they rest
let followTimer = null;
let previewTimer = null;

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

async function errorText(response) {
  let text = `Error ${response.status}`;
  try { text = (await response.json()).error || text; } catch (_) { /* not JSON */ }
  return text;
}

function selected() { return state.styles.get(state.style); }

// The visitor's own paintings, by the ids /api/v1/embeddings gave them.
function ownRequest(fields) {
  const [first, second] = state.own.ids;
  const share = Number($("balance").value);
  fields.style_embedding = second ? `${first}:${share},${second}:${100 - share}` : first;
  fields.model = state.own.model;
  const name = second ? `your paintings ${share}% + ${100 - share}%` : "your painting";
  return { fields, name };
}

// What the controls ask for, as the API's form fields, and the name it goes by.
function request() {
  const style = selected();
  const fields = { max_side: $("max-side").value,
                   stroke_size: String(Number($("stroke-size").value) / 100) };
  fields.strength = String(Number($("strength").value) / 100);
  fields.preserve_colors = $("keep-colors").checked ? "true" : "false";
  if (style.name === OWN) return ownRequest(fields);
  fields.style = style.name;
  let name = style.title;
  if (!style.controls) {
    delete fields.strength;
    delete fields.preserve_colors;
  } else {
    const other = $("mix-with").value;
    if (other && other !== style.name) {
      const share = Number($("balance").value);
      fields.style = `${style.name}:${share},${other}:${100 - share}`;
      name = `${style.title} ${share}% + ${state.styles.get(other).title} ${100 - share}%`;
    }
    fields.model = style.model;
  }
  return { fields, name };
}

function updateControls() {
  const style = selected();
  const enabled = Boolean(style && style.controls);
  for (const id of ["strength", "keep-colors", "balance"]) $(id).disabled = !enabled;
  $("controls").classList.toggle("off", !enabled);
  const own = state.style === OWN;
  $("mix-with").disabled = !enabled || own;
  $("balance-row").hidden = !enabled || (own ? state.own.ids.length < 2 : !$("mix-with").value);
  $("strength-value").textContent = `${$("strength").value}%`;
  $("stroke-value").textContent = `${(Number($("stroke-size").value) / 100).toFixed(1)}x`;
  $("balance-value").textContent = `${$("balance").value}%`;
  $("go").disabled = !(state.file && style);
}

// The strokes slider starts at the size the catalogue gives the painting (a mix: its
// paintings' sizes weighted by the balance), as the API does when asked for none.
function strokeDefault() {
  const style = selected();
  const other = state.styles.get($("mix-with").value);
  const size = (s) => s?.stroke_size ?? 1;
  const share = other ? Number($("balance").value) / 100 : 1;
  $("stroke-size").value = String(Math.round(10 * (share * size(style) + (1 - share) * size(other))) * 10);
}

function pickStyle(name) {
  state.style = name;
  for (const el of document.querySelectorAll(".style")) {
    el.setAttribute("aria-checked", el.dataset.name === name ? "true" : "false");
  }
  const style = selected();
  for (const option of $("mix-with").options) {
    option.disabled = Boolean(option.value) &&
      (option.value === name || state.styles.get(option.value).model !== style.model);
  }
  if (name === OWN) $("mix-with").value = "";
  if ($("mix-with").selectedOptions[0]?.disabled) $("mix-with").value = "";
  strokeDefault();
  updateControls();
  follow();
}

function card(s) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = "style";
  el.dataset.name = s.name;
  el.setAttribute("role", "radio");
  el.setAttribute("aria-checked", "false");
  el.disabled = !s.available;
  el.innerHTML = '<span class="thumb"><img class="painting" alt=""><img class="preview" alt="" hidden></span>' +
    "<strong></strong><small></small>";
  if (s.thumbnail) el.querySelector(".painting").src = s.thumbnail;
  el.querySelector(".painting").alt = s.thumbnail ? `${s.title}, the painting` : "";
  el.querySelector("strong").textContent = s.title;
  el.querySelector("small").textContent =
    [s.artist, s.year].filter(Boolean).join(", ") + (s.available ? "" : " (not loaded)");
  el.addEventListener("click", () => pickStyle(s.name));
  return el;
}

async function loadStyles() {
  const box = $("styles");
  try {
    const response = await fetch("/api/v1/styles");
    const { styles, models, hd: hdOffered } = await response.json();
    state.hd = hdOffered;
    box.replaceChildren(...styles.map(card));
    state.own.model = models.find((m) => m.arbitrary && m.available)?.name || null;
    $("own").hidden = !state.own.model;
    for (const s of styles) {
      state.styles.set(s.name, s);
      if (s.controls && s.available) $("mix-with").append(new Option(s.title, s.name));
    }
    const first = styles.find((s) => s.available);
    if (first) pickStyle(first.name);
    else showMessage("No style is available yet: the model server may still be starting.");
  } catch (e) {
    box.textContent = "Could not load the styles. Is the server running?";
  }
}

function setFile(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith("image/")) {
    showMessage(`${file.name} is not an image.`);
    return;
  }
  state.file = file;
  showMessage("");
  $("original").src = URL.createObjectURL(file);
  $("result").removeAttribute("src");
  $("result-name").textContent = "";
  $("download").hidden = true;
  $("drop-text").textContent = file.name;
  for (const img of document.querySelectorAll(".style .preview")) img.hidden = true;
  updateControls();
  follow();
  previews();
}

function form(fields) {
  const body = new FormData();
  body.append("image", state.file);
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  return body;
}

// Asks for the painting once the controls rest; stylize() right away for a click.
function follow() {
  clearTimeout(followTimer);
  if (state.file && selected()) followTimer = setTimeout(stylize, FOLLOW_DELAY_MS);
}

async function stylize() {
  clearTimeout(followTimer);
  if (!state.file || !selected()) return;
  if (hd.job) {  // the controls moved on: the HD job refines a picture no longer asked for
    hdStop(true);
    hdShow("", null);
  }
  const ticket = ++state.latest;
  const { fields, name } = request();
  $("busy").hidden = false;
  $("painting").classList.add("stale");
  $("pending-name").textContent = $("result").src ? `→ ${name}` : name;
  showMessage("");
  try {
    let response = await fetch("/api/v1/stylize", { method: "POST", body: form(fields) });
    if (response.status === 422 && fields.style_embedding && ticket === state.latest) {
      await embedOwn();  // this replica had forgotten the painting: embed it again
      response = await fetch("/api/v1/stylize", { method: "POST", body: form(request().fields) });
    }
    if (ticket !== state.latest) return;  // the controls moved on: a newer request follows
    if (!response.ok) throw new Error(await errorText(response));
    const blob = await response.blob();
    if (ticket !== state.latest) return;
    const url = URL.createObjectURL(blob);
    state.result = blob;  // HD starts from it (the CSP lets fetch() read no blob: URL)
    $("result").src = url;
    $("result-name").textContent = name;
    $("download").href = url;
    $("download").download = `${(fields.style || OWN).replace(/[^\w.-]+/g, "_")}.jpg`;
    $("download").hidden = false;
    $("hd").hidden = !hdCanRefine(fields);
  } catch (e) {
    if (ticket === state.latest) showMessage(e.message);
  } finally {
    if (ticket === state.latest) {
      $("busy").hidden = true;
      $("painting").classList.remove("stale");
      $("pending-name").textContent = "";
    }
  }
}

// The photo in every painting of the multi-style model, small, on the cards.
async function previews() {
  clearTimeout(previewTimer);
  const model = [...state.styles.values()].find((s) => s.controls && s.available)?.model;
  if (!state.file || !model) return;
  const ticket = ++state.latestPreview;
  const fields = { model, strength: String(Number($("strength").value) / 100),
                   preserve_colors: $("keep-colors").checked ? "true" : "false" };
  try {
    const response = await fetch("/api/v1/previews", { method: "POST", body: form(fields) });
    if (!response.ok || ticket !== state.latestPreview) return;  // the cards keep the paintings
    for (const { style, image } of (await response.json()).previews) {
      const img = document.querySelector(`.style[data-name="${CSS.escape(style)}"] .preview`);
      if (img) { img.src = image; img.alt = `your photo as ${state.styles.get(style)?.title}`; img.hidden = false; }
    }
  } catch (_) { /* previews are a courtesy: the main result reports errors */ }
}

// "Use your own painting": embedded once (the ids are reused for every slider move).
async function embedOwn() {
  const body = new FormData();
  for (const file of state.own.files) body.append("painting", file);
  body.append("model", state.own.model);
  const response = await fetch("/api/v1/embeddings", { method: "POST", body });
  if (!response.ok) throw new Error(await errorText(response));
  state.own.ids = (await response.json()).paintings.map((p) => p.id);
}

async function setOwnPaintings(files) {
  if (!files.length) return;
  state.own.files = [...files].slice(0, 2);
  showMessage(files.length > 2 ? "Two paintings at most: the first two are used." : "");
  try {
    await embedOwn();
  } catch (e) {
    state.own.ids = [];
    showMessage(e.message);
    return;
  }
  if (!state.styles.has(OWN)) {
    const own = { name: OWN, title: "Your painting", artist: "", year: "", available: true,
                  controls: true, model: state.own.model, thumbnail: null };
    state.styles.set(OWN, own);
    $("styles").prepend(card(own));
  }
  const img = document.querySelector(`.style[data-name="${OWN}"] .painting`);
  img.src = URL.createObjectURL(state.own.files[0]);
  document.querySelector(`.style[data-name="${OWN}"] small`).textContent =
    state.own.files.map((f) => f.name).join(" + ");
  pickStyle(OWN);
}

// "Refine in HD": the HD worker optimises the current picture further; the page shows
// each better picture as it comes, with a progress bar and a cancel button.
const hd = { job: null, timer: null, fields: null, name: "" };

// The optimisation needs the paintings themselves: the visitor's own, or those the HD
// worker holds (each style's `hd`; a worker with no paintings folder holds none).
function hdCanRefine(fields) {
  if (!state.hd) return false;
  if (state.style === OWN) return true;
  return fields.style.split(",").every((part) => state.styles.get(part.split(":")[0])?.hd);
}

function hdShow(text, progress) {
  $("hd-status").textContent = text;
  $("hd-progress").hidden = progress === null;
  if (progress !== null) $("hd-progress").value = progress;
}

async function hdStart() {
  const { fields, name } = request();
  const body = new FormData();
  body.append("image", state.file);
  body.append("start", state.result, "start.jpg");
  body.append("preserve_colors", fields.preserve_colors || "false");
  if (state.style === OWN) for (const file of state.own.files) body.append("painting", file);
  else body.append("style", fields.style);
  hd.fields = fields;
  hd.name = name;
  $("hd-go").disabled = true;
  hdShow("Starting HD…", 0);
  const response = await fetch("/api/v1/hd", { method: "POST", body });
  if (!response.ok) {
    const wait = response.headers.get("Retry-After");
    hdShow((await errorText(response)) + (wait ? ` (in about ${wait} s)` : ""), null);
    $("hd-go").disabled = false;
    return;
  }
  hd.job = (await response.json()).id;
  $("hd-cancel").hidden = false;
  hd.timer = setInterval(hdPoll, 1000);
}

async function hdPoll() {
  const job = hd.job;
  if (!job) return;
  const response = await fetch(`/api/v1/hd/${job}`);
  if (job !== hd.job) return;
  if (response.status === 404) {
    hdStop();
    hdShow("The HD worker restarted and lost this job: start it again.", null);
    return;
  }
  if (!response.ok) return;  // a hiccup: the next poll tries again
  const status = await response.json();
  if (status.has_picture) {
    const picture = await fetch(`/api/v1/hd/${job}/picture?step=${status.step}`);
    if (picture.ok && job === hd.job) {
      $("result").src = URL.createObjectURL(await picture.blob());
      $("result-name").textContent = `${hd.name}, HD`;
      $("download").href = $("result").src;
    }
  }
  const eta = status.eta_s === null ? "" : `, about ${Math.ceil(status.eta_s)} s left`;
  if (status.state === "running") {
    hdShow(`HD: step ${status.step} of ${status.iterations}${eta}`, status.step / status.iterations);
  } else {
    hdStop();
    hdShow(status.state === "done" ? `HD done${status.note ? ` (${status.note})` : ""}.`
      : `HD ${status.state}${status.note ? `: ${status.note}` : ""}.`, null);
  }
}

function hdStop(cancel = false) {
  if (cancel && hd.job) fetch(`/api/v1/hd/${hd.job}`, { method: "DELETE" });
  clearInterval(hd.timer);
  hd.job = null;
  $("hd-cancel").hidden = true;
  $("hd-go").disabled = false;
}

function onControl() {
  updateControls();
  follow();
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  setFile(e.dataTransfer.files[0]);
});
drop.addEventListener("keydown", (e) => { if (e.key === "Enter") $("file").click(); });
$("file").addEventListener("change", (e) => setFile(e.target.files[0]));
$("go").addEventListener("click", stylize);
$("own-file").addEventListener("change", (e) => setOwnPaintings(e.target.files));
$("hd-go").addEventListener("click", hdStart);
$("hd-cancel").addEventListener("click", () => { hdStop(true); hdShow("HD cancelled.", null); });
$("mix-with").addEventListener("input", () => { strokeDefault(); onControl(); });
for (const id of ["balance", "max-side", "stroke-size"]) {
  $(id).addEventListener("input", onControl);
}
for (const id of ["strength", "keep-colors"]) {
  $(id).addEventListener("input", () => {
    onControl();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(previews, 4 * FOLLOW_DELAY_MS);
  });
}
loadStyles();
