"""The page in a real browser: Debian's Chromium driven by Playwright (no browser download)."""
import shutil
import threading
import time

import pytest
from werkzeug.serving import make_server

from tests.conftest import write_image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not shutil.which("chromium"),
                                reason="Debian chromium is not installed (.ci/run installs it)")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_gateway(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def wait_until(page, expression: str, timeout: float) -> None:
    """Polls `expression` with page.evaluate: Playwright's wait_for_function evaluates its
    predicate as a string, which the page's Content-Security-Policy (no eval) refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"{expression} not true within {timeout} s"
        time.sleep(0.1)


# Chromium's own test camera (a moving pattern), allowed without a prompt.
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def launched(*extra_args: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        yield browser
        browser.close()


@pytest.fixture
def browser():
    yield from launched()


@pytest.fixture
def camera_browser():
    yield from launched(*FAKE_CAMERA)


@pytest.mark.parametrize("viewport", [{"width": 1200, "height": 900}, {"width": 390, "height": 844}])
def test_upload_a_photo_and_see_the_painting(browser, live_gateway, tmp_path, viewport):
    photo = write_image(tmp_path / "photo.jpg", size=(800, 600))
    page = browser.new_page(viewport=viewport)
    console = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(live_gateway)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_selector('.style[aria-checked="true"]')
    page.set_input_files("#file", str(photo))  # the painting follows without a click
    wait_until(page, "document.getElementById('result').naturalWidth > 0", timeout=30)
    # 512 px by default: the size the styles' strokes were judged at (docs/serving.md).
    assert page.evaluate("document.getElementById('result').naturalWidth") == 512
    assert page.is_visible("#download")
    assert page.is_hidden("#message")
    assert not [m for m in console if "Content Security Policy" in m], console
    page.screenshot(path=str(tmp_path / "page.png"))


def test_errors_are_shown_readably(browser, live_gateway, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    page = browser.new_page()
    page.goto(live_gateway)
    page.wait_for_selector('.style[aria-checked="true"]')
    page.set_input_files("#file", str(bad))
    page.click("#go")
    page.wait_for_selector("#message:not([hidden])")
    assert "unreadable image" in page.inner_text("#message")


def caption(page) -> str:
    return page.inner_text("#result-name")


def test_controls_repaint_and_the_caption_names_what_is_shown(browser, live_gateway, tmp_path):
    photo = write_image(tmp_path / "photo.jpg", size=(300, 200))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(live_gateway)
    page.wait_for_selector('.style[data-name="dawn"][aria-checked="true"]')
    assert page.get_attribute('.style[data-name="dawn"] .painting', "src") == "/static/paintings/dawn.jpg"
    page.set_input_files("#file", str(photo))
    wait_until(page, "document.getElementById('result-name').textContent === 'Dawn'", timeout=30)
    # Every card shows the photo in its painting (one batched call).
    page.wait_for_selector('.style[data-name="dusk"] .preview:not([hidden])', timeout=30_000)
    first = page.get_attribute("#result", "src")
    assert page.text_content("#stroke-value") == "1.0x"
    # A mix: the balance appears, and the caption names the mix once its painting is shown.
    # The strokes start at the mix's size (the catalogue gives dusk 1.5, dawn none: 1).
    page.select_option("#mix-with", "dusk")
    assert page.is_visible("#balance")
    assert page.text_content("#stroke-value") == "1.3x"
    wait_until(page, "document.getElementById('result-name').textContent === 'Dawn 50% + Dusk 50%'",
               timeout=30)
    assert page.get_attribute("#result", "src") != first
    # Quick changes: only the last one's answer stays on screen.
    for value in ("10", "60", "30"):
        page.fill("#balance", value)
    wait_until(page, "document.getElementById('result-name').textContent === 'Dawn 30% + Dusk 70%'"
               " && document.getElementById('busy').hidden", timeout=30)
    page.fill("#strength", "40")
    page.check("#keep-colors")
    wait_until(page, "document.getElementById('busy').hidden && "
               "!document.getElementById('painting').classList.contains('stale')", timeout=30)
    assert caption(page) == "Dawn 30% + Dusk 70%" and page.is_hidden("#message")
    # A single-style model has no controls.
    page.click('.style[data-name="tiny"]')
    assert page.is_disabled("#strength") and page.is_disabled("#mix-with")
    wait_until(page, "document.getElementById('result-name').textContent === 'Tiny'", timeout=30)
    # Stroke size works for any model: moving it repaints with it.
    assert page.is_enabled("#stroke-size")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/stylize")
                              and r.headers.get("x-stroke-size") == "1.5", timeout=30_000):
        page.fill("#stroke-size", "150")
    assert page.text_content("#stroke-value") == "1.5x"


def test_your_own_paintings_paint_the_photo(browser, live_gateway, tmp_path):
    photo = write_image(tmp_path / "photo.jpg", size=(120, 80))
    first = write_image(tmp_path / "mine.png", size=(90, 90), seed=7)
    second = write_image(tmp_path / "other.png", size=(90, 60), seed=8)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(live_gateway)
    page.wait_for_selector("#own:not([hidden])")
    page.set_input_files("#own-file", [str(first)])
    page.wait_for_selector('.style[data-name="your-painting"][aria-checked="true"]')
    page.set_input_files("#file", str(photo))
    wait_until(page, "document.getElementById('result-name').textContent === 'your painting'",
               timeout=30)
    assert page.is_hidden("#balance") and page.is_enabled("#strength")
    page.set_input_files("#own-file", [str(first), str(second)])  # two: a balance to blend
    wait_until(page, "document.getElementById('result-name').textContent === "
               "'your paintings 50% + 50%'", timeout=30)
    page.fill("#balance", "80")
    wait_until(page, "document.getElementById('result-name').textContent === "
               "'your paintings 80% + 20%' && document.getElementById('busy').hidden", timeout=30)
    assert page.evaluate("document.getElementById('result').naturalWidth") == 120
    assert page.is_hidden("#message"), page.inner_text("#message")


@pytest.fixture
def hd_gateway(tmp_path, model_server, catalogue_file):
    from gateway import create_app
    from tests.test_hd import Worker

    worker = Worker(tmp_path, abandon_after=10, default_iterations=12)
    write_image(tmp_path / "paintings" / "dawn.png", size=(64, 64), seed=50)
    worker.start()
    app = create_app({"TESTING": True, "MODEL_SERVER": model_server.grpc_target,
                      "CATALOGUE_FILE": str(catalogue_file), "STYLIZE_RATE_LIMIT": "",
                      "HD_WORKER": worker.url, "HD_MAX_SIDE": 48})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    worker.stop()


def test_refine_in_hd_shows_progress_can_be_cancelled_and_needs_the_painting(browser, hd_gateway,
                                                                            tmp_path):
    photo = write_image(tmp_path / "photo.jpg", size=(96, 64))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(hd_gateway)
    page.wait_for_selector('.style[data-name="dawn"][aria-checked="true"]')
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#hd:not([hidden])", timeout=30_000)
    page.click("#hd-go")
    wait_until(page, "document.getElementById('hd-status').textContent.startsWith('HD done')",
               timeout=60)
    assert page.inner_text("#result-name") == "Dawn, HD"
    assert page.evaluate("document.getElementById('result').naturalWidth") == 48
    page.click("#hd-go")  # again, then cancel
    page.wait_for_selector("#hd-cancel:not([hidden])")
    page.click("#hd-cancel")
    assert page.inner_text("#hd-status") == "HD cancelled."
    assert page.is_enabled("#hd-go") and page.is_hidden("#message")
    page.click('.style[data-name="tiny"]')  # a painting the worker does not hold
    wait_until(page, "document.getElementById('result-name').textContent === 'Tiny' && "
               "document.getElementById('busy').hidden", timeout=30)
    assert page.is_hidden("#hd")


def live_value(page, key: str) -> float:
    return float(page.get_attribute("#live-painting", f"data-{key}") or 0)


def test_live_camera_paints_frames_and_stops(camera_browser, live_gateway):
    page = camera_browser.new_page(viewport={"width": 1200, "height": 900})
    frames = []
    page.on("request", lambda r: frames.append(time.monotonic()) if r.url.endswith("/frames") else None)
    page.goto(live_gateway)
    page.wait_for_selector('.style[data-name="dawn"][aria-checked="true"]')
    page.click("#live-start")
    wait_until(page, "Number(document.getElementById('live-painting').dataset.frames) >= 5", timeout=60)
    assert live_value(page, "fps") > 0 and live_value(page, "latency") > 0
    assert page.get_attribute("#live-painting", "data-style") == "dawn"
    assert page.evaluate("[document.getElementById('live-painting').width, "
                         "document.getElementById('live-painting').height]") == [320, 240]
    assert " fps · " in page.inner_text("#live-readout")
    page.click('.style[data-name="tiny"]')  # the controls of the still mode steer the frames
    wait_until(page, "document.getElementById('live-painting').dataset.style === 'tiny'", timeout=30)
    # The camera's whole 640x480 frame becomes the photo, painted at the still mode's Size
    # (512 px by default).
    page.click("#live-snapshot")
    wait_until(page, "document.getElementById('result').naturalWidth === 512", timeout=30)
    page.click("#live-stop")
    time.sleep(1.0)  # the frame in flight, if any, comes back
    stopped = len(frames)
    time.sleep(1.0)
    assert len(frames) == stopped, "frames were still sent after Stop"
    assert page.is_hidden("#live-view") and page.is_visible("#live-start")
    assert page.is_hidden("#message"), page.inner_text("#message")


def test_no_camera_is_a_message_and_photos_still_work(browser, live_gateway, tmp_path):
    page = browser.new_page()  # no fake camera: headless Chromium has no device to give
    page.goto(live_gateway)
    page.wait_for_selector('.style[aria-checked="true"]')
    page.click("#live-start")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message").startswith("Live mode is off: ")
    assert "You can still upload a photo." in page.inner_text("#message")
    page.set_input_files("#file", str(write_image(tmp_path / "photo.jpg", size=(96, 64))))
    wait_until(page, "document.getElementById('result').naturalWidth === 96", timeout=30)
