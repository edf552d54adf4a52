"""What the load tester sends requests to, and the photos it sends."""
from __future__ import annotations

import io
import threading
from pathlib import Path

import grpc
import requests
from PIL import Image

from serving.samples import sample_jpeg


class LoadError(Exception):
    """One failed request (or a bad setting, kind 'config'); `kind` groups the report."""

    def __init__(self, kind: str, message: str = ""):
        super().__init__(message or kind)
        self.kind = kind


class GatewayTarget:
    def __init__(self, url: str, style: str, max_side: int, timeout: float,
                 route: str = "stylize"):
        self.url = url.rstrip("/") + f"/api/v1/{route}"  # "frames": live camera frames
        self.name = self.url
        self.style, self.max_side, self.timeout = style, max_side, timeout
        self.local = threading.local()  # one keep-alive session per client thread

    def send(self, image: bytes) -> None:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        try:
            response = session.post(self.url, timeout=self.timeout,
                                    files={"image": ("photo.jpg", image, "image/jpeg")},
                                    data={"style": self.style, "max_side": str(self.max_side)})
        except requests.Timeout:
            raise LoadError("timeout") from None
        except requests.ConnectionError:
            raise LoadError("connection refused") from None
        if response.status_code != 200:
            raise LoadError(f"HTTP {response.status_code}")


class GrpcTarget:
    def __init__(self, address: str, model: str, label: str | None, timeout: float):
        self.name = f"grpc://{address}/{model}"
        self.model, self.label = model, label
        # Here, not at the top: TF Serving's API modules import TensorFlow, which a load
        # test of the gateway (and --help) does without.
        from serving.client import ModelServerClient
        self.client = ModelServerClient(address, timeout)

    def send(self, image: bytes) -> None:
        try:
            self.client.stylize(self.model, [image], label=self.label)
        except grpc.RpcError as e:
            raise LoadError(e.code().name) from None


def _jpeg(img: Image.Image, long_side: int) -> bytes:
    img = img.convert("RGB")
    img.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def load_images(folder: Path | None, long_side: int) -> list[bytes]:
    """JPEGs scaled to `long_side`: the photos in `folder`, or four generated ones."""
    if folder is None:
        return [sample_jpeg(long_side, seed) for seed in range(4)]
    paths = sorted(p for p in Path(folder).glob("*") if p.suffix.lower() in
                   {".jpg", ".jpeg", ".png", ".webp", ".bmp"})
    if not paths:
        raise LoadError("config", f"no photos in {folder}")
    out = []
    for p in paths[:50]:
        with Image.open(p) as img:
            out.append(_jpeg(img, long_side))
    return out
