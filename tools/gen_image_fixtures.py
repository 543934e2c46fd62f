#!/usr/bin/env python3
"""Writes the golden image fixtures for tests/SharpSeg.Data.Tests/Imaging.

Each fixture NAME.{png,jpg,bmp,npy} comes with NAME.expected.npy (or NAME.expected.txt for the NPY reader's
own tests), the pixels an independent decoder (Pillow / libjpeg-turbo) or the source array gives:
- PNG: every colour type and bit depth, plain and Adam7. Variants Pillow cannot write (2/4-bit gray, 16-bit
  colour, sub-byte palettes, Adam7, forced filters, split IDAT) come from write_png below with zlib, and
  every such file is decoded again by Pillow to check it.
- JPEG: Pillow (4:4:4, 4:2:2, 4:2:0, gray, progressive, optimized tables, EXIF orientation) and cjpeg
  (restart intervals, 4:4:0, 4:1:1, one scan per component, 16-bit quantization tables, arithmetic coding).
- BMP: Pillow and write_bmp (top-down, V5 bitfields with alpha, 16-bit 5-6-5, 4-bit palette).
- NPY: numpy's np.save and format.write_array (version 2.0), plus arrays the reader must reject.
- corrupt_*: broken files whose error messages the tests check.
Run from the repository root (wipes and rewrites the fixture folder; the output is deterministic):

    python3 tools/gen_image_fixtures.py

Needs Pillow and numpy, and cjpeg from libjpeg-turbo-progs. Written with Pillow 9.4.0, numpy 1.24.2 and
libjpeg-turbo 2.1.5. CI never runs this.
"""
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


# ---------------------------------------------------------------- JPEG

def jpeg_fixtures():
    """Expected pixels are what Pillow's libjpeg-turbo decodes (accurate IDCT, fancy upsampling)."""
    def record(name):
        path = os.path.join(OUT, name + ".jpg")
        im = Image.open(path)
        im.draft(None, None)
        save_expected(name, np.asarray(im))

    for h, w in [(11, 13), (16, 16), (17, 33), (45, 67)]:
        img = smooth_rgb(h, w, w)
        for sub, label in [(0, "444"), (1, "422"), (2, "420")]:
            for progressive in (False, True):
                name = f"jpg_{label}_{w}x{h}" + ("_progressive" if progressive else "")
                Image.fromarray(img).save(os.path.join(OUT, name + ".jpg"), quality=85, subsampling=sub,
                                          progressive=progressive)
                record(name)
        for progressive in (False, True):
            name = f"jpg_gray_{w}x{h}" + ("_progressive" if progressive else "")
            Image.fromarray(img[:, :, 1]).save(os.path.join(OUT, name + ".jpg"), quality=80, progressive=progressive)
            record(name)

    img = smooth_rgb(45, 67, 5)
    Image.fromarray(img).save(os.path.join(OUT, "jpg_420_q100_optimized.jpg"), quality=100, subsampling=2, optimize=True)
    record("jpg_420_q100_optimized")
    Image.fromarray(img).save(os.path.join(OUT, "jpg_444_q20.jpg"), quality=20, subsampling=0)
    record("jpg_444_q20")

    # cjpeg (libjpeg-turbo) for what Pillow cannot ask for: restart intervals, 4:4:0 and 4:1:1 sampling.
    ppm = os.path.join(OUT, "source.ppm")
    Image.fromarray(img).save(ppm)
    # One scan per component: a sequential but non-interleaved file.
    scans = os.path.join(OUT, "scans.txt")
    with open(scans, "w") as f:
        f.write("0: 0 63 0 0;\n1: 0 63 0 0;\n2: 0 63 0 0;\n")
    for name, args in [
        ("jpg_420_restart3", ["-sample", "2x2", "-restart", "3B"]),
        ("jpg_444_restart1row", ["-sample", "1x1", "-restart", "1"]),
        ("jpg_420_progressive_restart2", ["-sample", "2x2", "-progressive", "-restart", "2B"]),
        ("jpg_440", ["-sample", "1x2"]),
        ("jpg_411", ["-sample", "4x1"]),
        ("jpg_444_sequential_scans", ["-sample", "1x1", "-scans", scans]),
        ("jpg_420_16bit_quant", ["-quality", "3", "-sample", "2x2"]),
        ("jpg_gray_progressive_restart", ["-grayscale", "-progressive", "-restart", "1"]),
    ]:
        quality = [] if "-quality" in args else ["-quality", "85"]
        subprocess.run(["cjpeg", *quality, *args, "-outfile", os.path.join(OUT, name + ".jpg"), ppm], check=True)
        record(name)
    subprocess.run(["cjpeg", "-arithmetic", "-outfile", os.path.join(OUT, "unsupported_arithmetic.jpg"), ppm], check=True)
    os.remove(ppm)
    os.remove(scans)

    # EXIF orientation 6 (rotate 90° clockwise to display): decoded as stored unless asked.
    exif = Image.Exif()
    exif[0x0112] = 6
    small = smooth_rgb(11, 13, 8)
    Image.fromarray(small).save(os.path.join(OUT, "jpg_exif_orientation6.jpg"), quality=90, exif=exif.tobytes())
    record("jpg_exif_orientation6")
    from PIL import ImageOps
    for orientation in range(1, 9):
        exif[0x0112] = orientation
        name = f"exif_orientation{orientation}"
        Image.fromarray(small).save(os.path.join(OUT, name + ".jpg"), quality=90, exif=exif.tobytes())
        save_expected(name, np.asarray(ImageOps.exif_transpose(Image.open(os.path.join(OUT, name + ".jpg")))))


# ---------------------------------------------------------------- BMP

def write_bmp(path, rows, width, height, bpp, top_down=False, header_size=40, compression=0, masks=None, palette=None):
    """rows: list of packed pixel rows (top row first), unpadded. Masks go inside V4/V5 headers or after INFO."""
    stride = (width * bpp + 31) // 32 * 4
    body = b"".join(r.ljust(stride, b"\0") for r in (rows if top_down else rows[::-1]))
    extra = b""
    if palette is not None:
        extra = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    header = struct.pack("<IiiHHIIiiII", header_size, width, -height if top_down else height, 1, bpp, compression,
                         len(body), 2835, 2835, 0 if palette is None else len(palette), 0)
    if header_size > 40:
        mask_bytes = struct.pack("<IIII", *(masks or (0, 0, 0, 0)))
        header += mask_bytes + b"\0" * (header_size - 40 - 16)
    elif masks is not None:
        extra = struct.pack("<" + "I" * len(masks), *masks) + extra
    offset = 14 + len(header) + len(extra)
    data = b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + header + extra + body
    with open(path, "wb") as f:
        f.write(data)


def bmp_fixtures():
    img = smooth_rgb(11, 13, 3)
    rgba = np.concatenate([img, rng.integers(0, 256, (11, 13, 1), dtype=np.uint8)], axis=-1)

    def pil_expected(name, mode="RGB"):
        im = Image.open(os.path.join(OUT, name + ".bmp"))
        save_expected(name, np.asarray(im.convert(mode)))
        if im.mode == "P":
            save_expected(name + ".index", np.asarray(im))

    Image.fromarray(img).save(os.path.join(OUT, "bmp_24_pil.bmp"))
    pil_expected("bmp_24_pil")
    Image.fromarray(rgba).save(os.path.join(OUT, "bmp_32_pil.bmp"))
    pil_expected("bmp_32_pil")
    labels = rng.integers(0, 40, (17, 33)).astype(np.uint8)
    pal = Image.fromarray(labels, "P")
    pal.putpalette(rng.integers(0, 256, 120).astype(np.uint8).tolist())
    pal.save(os.path.join(OUT, "bmp_8_palette_pil.bmp"))
    pil_expected("bmp_8_palette_pil")
    Image.fromarray(img[:, :, 0]).save(os.path.join(OUT, "bmp_8_gray_pil.bmp"))
    pil_expected("bmp_8_gray_pil")
    Image.fromarray(img[:, :, 0] > 128).save(os.path.join(OUT, "bmp_1_pil.bmp"))
    pil_expected("bmp_1_pil")

    h, w = img.shape[:2]
    write_bmp(os.path.join(OUT, "bmp_24_topdown.bmp"), [img[y, :, ::-1].tobytes() for y in range(h)], w, h, 24, top_down=True)
    pil_expected("bmp_24_topdown")
    write_bmp(os.path.join(OUT, "bmp_32_v5_alpha.bmp"), [rgba[y][:, [2, 1, 0, 3]].tobytes() for y in range(h)], w, h, 32,
              header_size=124, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000))
    pil_expected("bmp_32_v5_alpha", "RGBA")
    write_bmp(os.path.join(OUT, "bmp_32_bitfields_topdown.bmp"), [rgba[y][:, [3, 2, 1, 0]].tobytes() for y in range(h)], w, h,
              32, top_down=True, compression=3, masks=(0xFF000000, 0xFF0000, 0xFF00))
    assert np.array_equal(np.asarray(Image.open(os.path.join(OUT, "bmp_32_bitfields_topdown.bmp")).convert("RGB")), img)
    save_expected("bmp_32_bitfields_topdown", img)
    rgb565 = (img[:, :, 0].astype(np.uint16) >> 3 << 11) | (img[:, :, 1].astype(np.uint16) >> 2 << 5) | (img[:, :, 2] >> 3)
    write_bmp(os.path.join(OUT, "bmp_16_565.bmp"), [rgb565[y].astype("<u2").tobytes() for y in range(h)], w, h, 16,
              compression=3, masks=(0xF800, 0x07E0, 0x001F))
    pil_expected("bmp_16_565")
    idx4 = rng.integers(0, 16, (h, w))
    pal4 = rng.integers(0, 256, (16, 3))
    write_bmp(os.path.join(OUT, "bmp_4_palette_topdown.bmp"), [pack_row(idx4[y], 4) for y in range(h)], w, h, 4,
              top_down=True, palette=pal4)
    pil_expected("bmp_4_palette_topdown")
    assert np.array_equal(np.asarray(Image.open(os.path.join(OUT, "bmp_4_palette_topdown.bmp")).convert("RGB")),
                          pal4.astype(np.uint8)[idx4])


# ---------------------------------------------------------------- NPY

def npy_fixtures():
    """Arrays written by numpy itself; the expected pixels are the same arrays (in the codec's sample type)."""
    cases = {
        "npy_float32_hwc": rng.normal(0, 100, (11, 13, 3)).astype("<f4"),
        "npy_uint8_hw": rng.integers(0, 256, (17, 33)).astype(np.uint8),
        "npy_uint16_hwc": rng.integers(0, 65536, (5, 7, 4)).astype("<u2"),
        "npy_int32_hw": rng.integers(-2**31, 2**31 - 1, (6, 9)).astype("<i4"),
    }
    for name, array in cases.items():
        np.save(os.path.join(OUT, name + ".npy"), array)
        # A text dump, so the test checks the NPY reader against something it did not read itself.
        with open(os.path.join(OUT, name + ".expected.txt"), "w") as f:
            f.write(" ".join(map(str, array.shape)) + "\n")
            f.write(" ".join(repr(float(v)) if array.dtype.kind == "f" else str(int(v)) for v in array.reshape(-1)) + "\n")
    int64 = rng.integers(-2**31, 2**31 - 1, (4, 5, 2)).astype("<i8")
    np.save(os.path.join(OUT, "npy_int64_hwc.npy"), int64)
    save_expected("npy_int64_hwc", int64.astype(np.int32))
    float64 = rng.normal(0, 1, (3, 4)).astype(">f8")
    np.save(os.path.join(OUT, "npy_float64_bigendian.npy"), float64)
    save_expected("npy_float64_bigendian", float64.astype("<f4"))
    with open(os.path.join(OUT, "npy_uint8_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, cases["npy_uint8_hw"][:4, :6].copy(), version=(2, 0))
    save_expected("npy_uint8_v2", cases["npy_uint8_hw"][:4, :6])
    np.save(os.path.join(OUT, "npy_fortran_order.npy"), np.asfortranarray(cases["npy_float32_hwc"][:, :, 0]))
    np.save(os.path.join(OUT, "npy_int64_overflow.npy"), np.array([[1, 2], [3, 2**40]], dtype="<i8"))
    np.save(os.path.join(OUT, "npy_1d.npy"), np.arange(5, dtype=np.uint8))


# ---------------------------------------------------------------- corrupt files

def corrupt_fixtures():
    """Files that must fail to decode; the tests check the message names the problem."""
    def png(name, chunks):
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))

    ihdr_gray = chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 0, 0, 0, 0))
    rows = bytes([0, 1, 2, 3, 4, 7, 5, 6, 7, 8, 0, 9, 10, 11, 12])
    png("corrupt_png_bad_filter", [ihdr_gray, chunk(b"IDAT", zlib.compress(rows)), chunk(b"IEND", b"")])
    png("corrupt_png_short_idat", [ihdr_gray, chunk(b"IDAT", zlib.compress(rows[:10])), chunk(b"IEND", b"")])
    png("corrupt_png_bad_zlib", [ihdr_gray, chunk(b"IDAT", b"\x78\x9c\xff\xff\xff\xff\x00"), chunk(b"IEND", b"")])
    png("corrupt_png_unknown_critical", [ihdr_gray, chunk(b"ABCD", b"x"), chunk(b"IDAT", zlib.compress(bytes(15))), chunk(b"IEND", b"")])
    ihdr_palette = chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 3, 0, 0, 0))
    png("corrupt_png_missing_plte", [ihdr_palette, chunk(b"IDAT", zlib.compress(bytes(15))), chunk(b"IEND", b"")])
    indices = bytes([0, 0, 1, 2, 1, 0, 0, 1, 5, 1, 0, 1, 1, 1, 1])
    png("corrupt_png_palette_index", [ihdr_palette, chunk(b"PLTE", bytes(range(9))), chunk(b"IDAT", zlib.compress(indices)),
                                      chunk(b"IEND", b"")])
    png("corrupt_png_huge_header", [chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)),
                                     chunk(b"IDAT", zlib.compress(bytes(1000))), chunk(b"IEND", b"")])
    png("corrupt_png_bad_depth", [chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 4, 2, 0, 0, 0)), chunk(b"IEND", b"")])

    with open(os.path.join(OUT, "jpg_444_16x16.jpg"), "rb") as f:
        jpeg = f.read()
    sos = jpeg.index(b"\xff\xda")
    data_start = sos + 2 + struct.unpack(">H", jpeg[sos + 2:sos + 4])[0]
    with open(os.path.join(OUT, "corrupt_jpg_bad_huffman.jpg"), "wb") as f:
        f.write(jpeg[:data_start] + b"\xff\x00" * 64 + b"\xff\xd9")


# ---------------------------------------------------------------- ForceRgb (cv2.IMREAD_COLOR semantics)

def force_rgb_expectations():
    """3-channel 8-bit views: Pillow's convert("RGB") where it agrees with cv2.IMREAD_COLOR, numpy otherwise."""
    names = [f[:-4] for f in sorted(os.listdir(OUT))
             if (f.startswith("png_") and f.endswith("_13x11.png")) or f in ("png_pil_gray16.png", "jpg_gray_33x17.jpg",
                                                                   "bmp_32_v5_alpha.bmp", "bmp_8_palette_pil.bmp")]
    for name in names:
        im = Image.open(os.path.join(OUT, name + "." + name.split("_")[0]))
        if im.mode in ("I", "I;16", "I;16B"):
            # Pillow clips 16-bit gray to 255; OpenCV (libpng strip_16) keeps the high byte.
            high = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
            rgb = np.repeat(high[:, :, None], 3, axis=-1)
        else:
            rgb = np.asarray(im.convert("RGB"))
        save_expected(name + ".forcergb", rgb)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    png_fixtures()
    jpeg_fixtures()
    bmp_fixtures()
    npy_fixtures()
    corrupt_fixtures()
    force_rgb_expectations()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
