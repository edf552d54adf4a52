"""Videos painted frame by frame: `python -m video clip.mp4 -o painted.mp4 --style starry_night`.

- `clip.py`: the file side (ffmpeg from the imageio-ffmpeg wheel): what a video holds, its
  frames at the size asked, the painted file written with the original's audio;
- `painters.py`: who paints the frames: a SavedModel of the local model repository, or a
  model server over gRPC (stylize_pixels, frames batched);
- `steady.py`: less flicker, by keeping the last painting where the photo did not change;
- `__main__.py`: the command line, with a progress bar and an ETA.
"""
