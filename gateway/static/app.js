// The page talks to the JSON API only: GET /api/v1/styles, POST /api/v1/stylize.
const $ = (id) => document.getElementById(id);
const state = { file: null, style: null };

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function updateButton() {
  $("go").disabled = !(state.file && state.style);
}

function pickStyle(name) {
  state.style = name;
  for (const el of document.querySelectorAll(".style")) {
    el.setAttribute("aria-checked", el.dataset.name === name ? "true" : "false");
  }
  updateButton();
}

async function loadStyles() {
  const box = $("styles");
  try {
    const response = await fetch("/api/v1/styles");
    const { styles } = await response.json();
    box.replaceChildren();
    for (const s of styles) {
      const el = document.createElement("button");
      el.type = "button";
      el.className = "style";
      el.dataset.name = s.name;
      el.setAttribute("role", "radio");
      el.setAttribute("aria-checked", "false");
      el.disabled = !s.available;
      el.innerHTML = "<strong></strong><small></small>";
      el.querySelector("strong").textContent = s.title;
      el.querySelector("small").textContent =
        `${s.artist}, ${s.year}` + (s.available ? "" : " (not loaded)");
      el.addEventListener("click", () => pickStyle(s.name));
      box.append(el);
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
  $("download").hidden = true;
  $("drop-text").textContent = file.name;
  updateButton();
}

async function stylize() {
  const form = new FormData();
  form.append("image", state.file);
  form.append("style", state.style);
  form.append("max_side", $("max-side").value);
  $("go").disabled = true;
  $("busy").hidden = false;
  showMessage("");
  try {
    const response = await fetch("/api/v1/stylize", { method: "POST", body: form });
    if (!response.ok) {
      let text = `Error ${response.status}`;
      try { text = (await response.json()).error || text; } catch (_) { /* not JSON */ }
      throw new Error(text);
    }
    const url = URL.createObjectURL(await response.blob());
    $("result").src = url;
    $("download").href = url;
    $("download").download = `${state.style}.jpg`;
    $("download").hidden = false;
  } catch (e) {
    showMessage(e.message);
  } finally {
    $("busy").hidden = true;
    updateButton();
  }
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
loadStyles();
