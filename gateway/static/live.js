// Live camera: the page paints the camera's frames through POST /api/v1/frames, with the
// style and controls of the still mode (app.js's request()). One frame is in flight at a
// time over the page's keep-alive connection: the next frame is taken only once the last
// painting is back, so frames never queue and the latency is one round trip
// (docs/live.md has the numbers behind this choice).
const LIVE_SIDE = 320;  // long side of the frames sent (the gateway's LIVE_SIDE)
const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 } };  // the snapshot's size
const live = { stream: null, running: false, done: [], latency: null, frames: 0 };

function liveButtons() {
  $("live-start").hidden = live.running;
  $("live-stop").hidden = !live.running;
  $("live-snapshot").hidden = !live.running;
  $("live-view").hidden = !live.running;
}

function cameraProblem(error) {
  if (error.name === "NotAllowedError") return "the camera permission was denied";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "no camera was found";
  return `the camera could not start (${error.name})`;
}

async function liveStart() {
  if (!selected()) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    showMessage("Live mode needs a camera and a secure page (https:// or localhost). Photos still work.");
    return;
  }
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: CAMERA, audio: false });
  } catch (e) {
    showMessage(`Live mode is off: ${cameraProblem(e)}. You can still upload a photo.`);
    return;
  }
  showMessage("");
  $("live-camera").srcObject = live.stream;
  await $("live-camera").play();
  Object.assign(live, { running: true, done: [], latency: null, frames: 0 });
  liveButtons();
  $("live-readout").textContent = "Starting…";
  liveLoop();
}

function liveStop(text = "Camera stopped.") {
  live.running = false;
  for (const track of live.stream?.getTracks() || []) track.stop();
  live.stream = null;
  liveButtons();
  $("live-readout").textContent = text;
}

function grabFrame(video, side) {
  const canvas = document.createElement("canvas");
  const scale = Math.min(1, side / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

async function sendFrame() {
  const { fields, name } = request();
  fields.max_side = String(LIVE_SIDE);
  const body = new FormData();
  body.append("image", await grabFrame($("live-camera"), LIVE_SIDE), "frame.jpg");
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  return { response: await fetch("/api/v1/frames", { method: "POST", body }), fields, name };
}

// Frames per second over the last two seconds, and the latency from taking a frame to
// showing its painting (smoothed), on the readout and as data-* for tests and benchmarks.
function liveMeasure(started, name, style) {
  const now = performance.now();
  live.done = [...live.done.filter((t) => now - t < 2000), now];
  const fps = live.done.length > 1 ? (live.done.length - 1) * 1000 / (now - live.done[0]) : 0;
  const took = now - started;
  live.latency = live.latency === null ? took : 0.8 * live.latency + 0.2 * took;
  live.frames += 1;
  const out = $("live-painting");
  Object.assign(out.dataset, { frames: live.frames, fps: fps.toFixed(1),
                               latency: Math.round(live.latency), style });
  $("live-readout").textContent = `${fps.toFixed(1)} fps · ${Math.round(live.latency)} ms · ${name}`;
}

async function liveLoop() {
  while (live.running) {
    const started = performance.now();
    let sent;
    try {
      sent = await sendFrame();
    } catch (_) {
      liveStop("Live mode stopped: the server cannot be reached.");
      return;
    }
    const { response, fields, name } = sent;
    if (!live.running) return;
    if (response.status === 429 || response.status === 503) {  // busy: wait, then go on
      const wait = Number(response.headers.get("Retry-After")) || 1;
      $("live-readout").textContent = `The server is busy: trying again in ${wait} s…`;
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      continue;
    }
    if (response.status === 422 && fields.style_embedding) {  // this replica forgot it
      await embedOwn();
      continue;
    }
    if (!response.ok) {
      liveStop("Live mode stopped.");
      showMessage(await errorText(response));
      return;
    }
    const painted = await createImageBitmap(await response.blob());
    if (!live.running) return;
    const out = $("live-painting");
    out.width = painted.width;
    out.height = painted.height;
    out.getContext("2d").drawImage(painted, 0, 0);
    liveMeasure(started, name, response.headers.get("X-Style"));
  }
}

// The camera's current frame, whole, becomes the photo of the still mode (painted at the
// size chosen there, then downloadable or refined in HD).
async function liveSnapshot() {
  const video = $("live-camera");
  const blob = await grabFrame(video, Math.max(video.videoWidth, video.videoHeight));
  setFile(new File([blob], `camera-${new Date().toISOString().slice(0, 19)}.jpg`,
                   { type: "image/jpeg" }));
}

$("live-start").addEventListener("click", liveStart);
$("live-stop").addEventListener("click", () => liveStop());
$("live-snapshot").addEventListener("click", liveSnapshot);
// A hidden tab would keep a server thread busy for nobody.
document.addEventListener("visibilitychange", () => { if (document.hidden && live.running) liveStop(); });
