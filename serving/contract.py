"""The API contract between exported models, the model server and the gateway.

Every exported style model has two signatures:

``serving_default`` (what the gateway calls)
    input  ``images``: string [N], each an encoded image file (JPEG, PNG, GIF, BMP)
    output ``images_bytes``: string [N], each a JPEG of the stylized image, same size as
        its input. The ``_bytes`` suffix makes TF Serving's REST API return it base64
        encoded ({"b64": ...}) instead of as raw bytes in JSON.

``stylize_pixels``
    input  ``pixels``: uint8 [N, H, W, 3], RGB
    output ``pixels``: uint8 [N, H, W, 3], RGB

A multi-style model (one network for several paintings, trained with several
``--style``) takes per-image controls beside the images in both signatures:

    ``style_weights``: float32 [N, paintings], >= 0, not all 0: the mix of paintings
        (normalized to sum 1; one-hot picks one painting)
    ``strength``: float32 [N] in 0..1: 0 gives the photo, 1 the full style
    ``preserve_colors``: bool [N]: keep the photo's colours (the style's luminance only)

and one more signature, ``style_names`` (no inputs), whose output ``style_names``: string
[paintings] names the paintings in the order of ``style_weights``.

An arbitrary-style model (any painting as a style, Ghiasi et al. 2017) takes a style
embedding instead of painting weights:

``serving_default`` and ``stylize_pixels``
    inputs ``images`` (or ``pixels``) as above, and
    ``style_embeddings``: float32 [N, 100], one painting's embedding or a weighted mean of
        several (a mix); ``strength`` and ``preserve_colors`` as above (strength
        interpolates from the photo's own embedding to the painting's)

``embed_paintings``
    input  ``paintings``: string [N], encoded images of paintings (centre square, 256 px)
    output ``style_embeddings``: float32 [N, 100]

This module imports nothing heavy so both sides can share it.
"""

SIGNATURE_ENCODED = "serving_default"
SIGNATURE_PIXELS = "stylize_pixels"
INPUT_IMAGES = "images"
OUTPUT_IMAGES = "images_bytes"
INPUT_PIXELS = "pixels"
OUTPUT_PIXELS = "pixels"
JPEG_QUALITY = 90
INPUT_STYLE_WEIGHTS = "style_weights"
INPUT_STRENGTH = "strength"
INPUT_PRESERVE_COLORS = "preserve_colors"
SIGNATURE_STYLE_NAMES = "style_names"
OUTPUT_STYLE_NAMES = "style_names"
SIGNATURE_EMBED = "embed_paintings"
INPUT_PAINTINGS = "paintings"
INPUT_EMBEDDINGS = OUTPUT_EMBEDDINGS = "style_embeddings"
EMBEDDING_SIZE = 100

# Files inside a version directory, beside saved_model.pb.
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
METADATA_FILE = "assets.extra/metadata.json"

# Version labels the rollout tool moves.
LABEL_STABLE = "stable"
LABEL_CANARY = "canary"
