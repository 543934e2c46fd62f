#!/usr/bin/env python3
"""Writes the golden image fixtures for tests/SharpSeg.Data.Tests/Imaging.

Each fixture NAME.{png,jpg,bmp,npy} comes with NAME.expected.npy, the pixels an independent decoder
(Pillow / libjpeg-turbo) or the source array gives. PNG variants that Pillow cannot write (2/4-bit gray,
16-bit colour, sub-byte palettes, Adam7, forced filters, split IDAT) are written by write_png below with
zlib, and every such file is checked by decoding it again with Pillow. Run from the repository root:

    python3 tools/gen_image_fixtures.py

Needs Pillow and numpy; cjpeg (libjpeg-turbo-progs) for the restart-marker JPEG. CI never runs this.
"""
import io
import os
import struct
import subprocess
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "SharpSeg.Data.Tests", "Golden", "Imaging")
rng = np.random.default_rng(20261121)


def save_expected(name, array):
    np.save(os.path.join(OUT, name + ".expected.npy"), np.ascontiguousarray(array))


def smooth_rgb(h, w, seed):
    """A smooth colour image with some noise: JPEG-friendly, yet every pixel differs."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([
        128 + 100 * np.sin(x / 3.0 + seed),
        128 + 100 * np.cos(y / 4.0 - seed),
        128 + 90 * np.sin((x + y) / 5.0),
    ], axis=-1) + r.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- PNG

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """samples: 1-D array of one row's samples, in order."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, dtype=np.int64)
    padded[:len(samples)] = samples
    out = bytearray()
    for i in range(0, len(padded), per_byte):
        b = 0
        for k in range(per_byte):
            b |= int(padded[i + k]) << (8 - depth * (k + 1))
        out.append(b)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(kind, row, prev, bpp):
    out = bytearray(len(row))
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if prev is not None and i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out[i] = (row[i] - pred) & 0xFF
    return bytes([kind]) + bytes(out)


def write_png(path, array, colour_type, depth, interlace=False, palette=None, idat_size=None, extra_chunks=()):
    """array: H x W (1 channel) or H x W x C samples (integer, not rescaled). Filters cycle 0..4 per row."""
    a = array if array.ndim == 3 else array[:, :, None]
    h, w, ch = a.shape
    assert ch == CHANNELS[colour_type]
    bpp = max(1, ch * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    row_index = 0
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        prev = None
        for r in sub:
            row = pack_row(r.reshape(-1), depth)
            raw += filter_row(row_index % 5, row, prev, bpp)
            prev = row
            row_index += 1
    data = zlib.compress(bytes(raw), 9)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, int(interlace)))
    for c in extra_chunks:
        png += c
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    step = idat_size or len(data)
    for i in range(0, len(data), step):
        png += chunk(b"IDAT", data[i:i + step])
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def check_with_pil(path, expected, colour_type, depth, palette=None):
    """Pillow decodes what write_png wrote to the same pixels (modulo Pillow's own conventions)."""
    im = Image.open(path)
    got = np.asarray(im)
    if colour_type == 3:
        assert np.array_equal(got, expected), path
        if palette is not None:
            rgb = np.asarray(im.convert("RGB"))
            assert np.array_equal(rgb, np.asarray(palette, dtype=np.uint8)[expected]), path
    elif colour_type == 0 and depth == 1:
        assert np.array_equal(got.astype(np.uint8), expected), path
    elif colour_type == 0 and depth in (2, 4):
        assert np.array_equal(got, expected * (255 // (2 ** depth - 1))), path
    elif colour_type == 0 and depth == 16:
        assert np.array_equal(got.astype(np.int64), expected.astype(np.int64)), path
    elif colour_type == 4 and depth == 16:
        # Pillow reads 16-bit gray+alpha as 8-bit RGBA, keeping the high bytes.
        high = (expected >> 8).astype(np.uint8)
        assert np.array_equal(got, high[:, :, [0, 0, 0, 1]]), path
    elif depth == 16:
        # Pillow reads 16-bit colour as 8-bit, keeping the high byte.
        assert np.array_equal(got, (expected >> 8).astype(np.uint8)), path
    else:
        assert np.array_equal(got, expected), path


def png_fixtures():
    sizes = [(11, 13), (16, 16), (17, 33)]
    for colour_type, depths in [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])]:
        for depth in depths:
            for interlace in (False, True):
                for h, w in sizes if not interlace else [(17, 33), (3, 5)]:
                    ch = CHANNELS[colour_type]
                    top = 2 ** depth
                    shape = (h, w) if ch == 1 else (h, w, ch)
                    array = rng.integers(0, top, shape, dtype=np.int64)
                    palette = None
                    if colour_type == 3:
                        entries = min(top, 200)
                        array = rng.integers(0, entries, shape, dtype=np.int64)
                        palette = rng.integers(0, 256, (entries, 3))
                    dtype = np.uint16 if depth == 16 else np.uint8
                    name = f"png_ct{colour_type}_d{depth}_{w}x{h}" + ("_adam7" if interlace else "")
                    path = os.path.join(OUT, name + ".png")
                    write_png(path, array, colour_type, depth, interlace, palette, idat_size=97)
                    check_with_pil(path, array.astype(dtype), colour_type, depth, palette)
                    save_expected(name, array.astype(dtype))
                    if palette is not None:
                        save_expected(name + ".rgb", np.asarray(palette, dtype=np.uint8)[array])

    # Files written by Pillow's own encoder (zlib, adaptive filters).
    img = smooth_rgb(17, 33, 1)
    for mode, name in [("RGB", "pil_rgb"), ("RGBA", "pil_rgba"), ("L", "pil_gray"), ("LA", "pil_gray_alpha")]:
        if mode == "RGB":
            arr = img
        elif mode == "RGBA":
            arr = np.concatenate([img, rng.integers(0, 256, (17, 33, 1), dtype=np.uint8)], axis=-1)
        elif mode == "L":
            arr = img[:, :, 0]
        else:
            arr = np.stack([img[:, :, 1], img[:, :, 2]], axis=-1)
        Image.fromarray(arr, mode).save(os.path.join(OUT, f"png_{name}.png"))
        save_expected(f"png_{name}", arr)
    gray16 = rng.integers(0, 65536, (11, 13)).astype(np.uint16)
    Image.fromarray(gray16.astype(np.int32)).convert("I;16").save(os.path.join(OUT, "png_pil_gray16.png"))
    assert np.array_equal(np.asarray(Image.open(os.path.join(OUT, "png_pil_gray16.png"))).astype(np.uint16), gray16)
    save_expected("png_pil_gray16", gray16)
    # A VOC-style label mask: palette image with 255 as the ignore index and a tRNS chunk.
    labels = rng.integers(0, 21, (17, 33)).astype(np.uint8)
    labels[3:6, 4:20] = 255
    voc = Image.fromarray(labels, "P")
    voc_palette = rng.integers(0, 256, 768).astype(np.uint8)
    voc.putpalette(voc_palette.tolist())
    voc.save(os.path.join(OUT, "png_pil_voc_label.png"), transparency=0)
    save_expected("png_pil_voc_label", labels)
    save_expected("png_pil_voc_label.rgb", np.asarray(Image.open(os.path.join(OUT, "png_pil_voc_label.png")).convert("RGB")))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    png_fixtures()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
