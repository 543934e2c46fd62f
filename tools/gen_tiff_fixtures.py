"""Writes the TIFF fixtures of tests/SharpSeg.Data.Tests/Imaging/TiffDecoderTests.cs and their expected pixels as .npy.

Each case is one layout the reader must decode exactly: strips and tiles, chunky and planar bands, no/LZW/Deflate/
PackBits compression (with and without a predictor), both byte orders, 8/16-bit unsigned and 32-bit float samples.
Run: /usr/bin/python3 tools/gen_tiff_fixtures.py   (needs numpy and tifffile; Debian's python3-tifffile)
"""
import os

import numpy as np
import tifffile

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Data.Tests", "Golden", "Tiff")
rng = np.random.default_rng(14)


def image(h, w, c, dtype):
    if dtype == np.float32:
        a = rng.normal(0, 1000, (h, w, c)).astype(np.float32)
    else:
        a = rng.integers(0, np.iinfo(dtype).max + 1, (h, w, c), dtype=np.uint64).astype(dtype)
    return a


CASES = [
    # name, shape (h, w, c), dtype, writer keyword arguments
    ("label_u8_strip_none", (13, 17, 1), np.uint8, dict(compression=None)),
    ("label_u16_strip_lzw", (13, 17, 1), np.uint16, ("pil", "tiff_lzw")),
    ("rgb_u8_chunky_deflate", (13, 17, 3), np.uint8, dict(compression="zlib", photometric="rgb", rowsperstrip=5)),
    ("b4_u16_planar_deflate_predictor", (13, 17, 4), np.uint16, dict(compression="zlib", predictor=True, planarconfig="separate", rowsperstrip=3)),
    ("b5_f32_tiled_deflate", (20, 37, 5), np.float32, dict(compression="zlib", tile=(16, 16))),
    ("b4_u16_tiled_none_bigendian", (19, 33, 4), np.uint16, dict(compression=None, tile=(16, 32), byteorder=">")),
    ("label_u8_strip_packbits", (13, 17, 1), np.uint8, ("pil", "packbits")),
    ("b2_u8_planar_tiled_deflate", (17, 18, 2), np.uint8, dict(compression="zlib", tile=(16, 16), planarconfig="separate")),
    ("b6_f32_strip_none_bigendian", (7, 9, 6), np.float32, dict(compression=None, byteorder=">", rowsperstrip=2)),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (h, w, c), dtype, kwargs in CASES:
        a = image(h, w, c, dtype)
        path = os.path.join(OUT, name + ".tif")
        if isinstance(kwargs, tuple):
            # tifffile cannot encode LZW or PackBits without imagecodecs; Pillow's libtiff writer can, for one band.
            from PIL import Image
            Image.fromarray(a[:, :, 0]).save(path, compression=kwargs[1])
            assert np.array_equal(np.asarray(Image.open(path)), a[:, :, 0]), name
            assert tifffile.TiffFile(path).pages[0].compression == {"tiff_lzw": 5, "packbits": 32773}[kwargs[1]], name
            np.save(os.path.join(OUT, name + ".npy"), a)
            print(name, a.shape, a.dtype, os.path.getsize(path))
            continue
        data = a[:, :, 0] if c == 1 else a
        if kwargs.get("planarconfig") == "separate":
            data = np.moveaxis(a, 2, 0)
        elif c > 1:
            # Without it tifffile would store an H×W×C minisblack array as H pages of W×C.
            kwargs["planarconfig"] = "contig"
        kwargs.setdefault("photometric", "minisblack")
        tifffile.imwrite(os.path.join(OUT, name + ".tif"), data, **kwargs)
        back = tifffile.imread(os.path.join(OUT, name + ".tif"))
        assert len(tifffile.TiffFile(os.path.join(OUT, name + ".tif")).pages) == 1, name
        assert np.array_equal(back, data), name
        np.save(os.path.join(OUT, name + ".npy"), a.astype(a.dtype.newbyteorder("<")))
        print(name, a.shape, a.dtype, os.path.getsize(os.path.join(OUT, name + ".tif")))


if __name__ == "__main__":
    main()
