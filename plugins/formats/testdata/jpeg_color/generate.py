"""Writes the JPEG colour fixtures: synthetic RGB images with sharp colour
edges and smooth gradients, encoded by Pillow (libjpeg-turbo) with 4:4:4,
4:2:2 and 4:2:0 chroma subsampling, and the pixels libjpeg-turbo decodes
from each (Pillow's default: ISLOW IDCT, fancy upsampling), stored raw as
<name>.rgb (height x width x 3, uint8, row-major).

Run with Debian's python3-pil:  /usr/bin/python3 generate.py
"""
import json
import numpy as np
from PIL import Image, features

rng = np.random.RandomState(19)
out = {"decoder": "Pillow %s, libjpeg-turbo %s" % (Image.__version__, features.version("jpg")), "images": []}
for name, (w, h), sub in [("edges_420", (61, 45), 2), ("edges_422", (61, 45), 1), ("edges_444", (40, 24), 0),
                          ("noise_420", (33, 17), 2)]:
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = 255 * (x / (w - 1))
    img[..., 1] = 255 * (y / (h - 1))
    img[..., 2] = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img[(x // 7 + y // 5) % 2 == 0] = [230, 20, 40]   # saturated red checks: colour edges
    img[(x > w // 2) & (y > h // 2)] = [10, 200, 60]
    if name.startswith("noise"):
        img = rng.randint(0, 256, size=(h, w, 3))
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    pil.save(name + ".jpg", quality=85, subsampling=sub)
    dec = np.asarray(Image.open(name + ".jpg").convert("RGB"), np.uint8)
    dec.tofile(name + ".rgb")
    out["images"].append({"jpeg": name + ".jpg", "rgb": name + ".rgb", "width": w, "height": h,
                          "subsampling": ["4:4:4", "4:2:2", "4:2:0"][sub]})
json.dump(out, open("manifest.json", "w"), indent=1)
