using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using SharpSeg.Tests.Fuzz;

namespace SharpSeg.Data.Tests.Fuzz;

/// <summary>Format-aware edits and repairs for the image readers' fuzz test, built on small models of each file layout.</summary>
internal static partial class ImageFuzzFormats
{
    private static readonly uint[] Sizes = [.. Mutator.Boundary32, 3, 15, 16, 17, 64, 255, 256, 4096, 8192, 46341, 65535, 65536, 1 << 20];

    private static readonly uint[] HugeSizes = [0x7FFF_FFFF, 0x7FFF_FFFE, 0x4000_0000, 0x5555_5555, 0x8000_0000, 0xFFFF_FFFF, 46341, 65536];

    private static uint PickSize(Random random) =>
        random.Next(2) == 0 ? HugeSizes[random.Next(HugeSizes.Length)] : Sizes[random.Next(Sizes.Length)];

    private static ushort PickSize16(Random random) =>
        random.Next(2) == 0 ? Mutator.Boundary16[random.Next(Mutator.Boundary16.Length)] : (ushort)random.Next(1, 300);

    // ---- PNG: signature, then chunks of [length][type][body][CRC] ----

    internal sealed record Chunk(string Type, byte[] Body);

    internal static List<Chunk>? PngChunks(byte[] png)
    {
        var chunks = new List<Chunk>();
        int offset = 8;
        while (offset + 12 <= png.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset));
            if (length > png.Length - offset - 12)
                return null;
            chunks.Add(new Chunk(Encoding.Latin1.GetString(png, offset + 4, 4), png[(offset + 8)..(offset + 8 + (int)length)]));
            offset += 12 + (int)length;
        }
        return offset == png.Length && chunks.Count > 0 ? chunks : null;
    }

    internal static byte[] PngBytes(IEnumerable<Chunk> chunks)
    {
        using var stream = new MemoryStream();
        stream.Write(PngSignature);
        Span<byte> word = stackalloc byte[4];
        foreach (var chunk in chunks)
        {
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)chunk.Body.Length);
            stream.Write(word);
            var typed = Mutator.Concat(Encoding.Latin1.GetBytes(chunk.Type), chunk.Body);
            stream.Write(typed);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
            stream.Write(word);
        }
        return stream.ToArray();
    }

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>Recomputes the CRC of every chunk that lies inside the data, following the lengths as they now are.</summary>
    public static byte[] RepairPngCrcs(byte[] png)
    {
        var copy = (byte[])png.Clone();
        int offset = 8;
        while (offset + 12 <= copy.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(copy.AsSpan(offset));
            if (length > copy.Length - offset - 12)
                break;
            uint crc = Crc32(copy.AsSpan(offset + 4, 4 + (int)length));
            BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(offset + 8 + (int)length), crc);
            offset += 12 + (int)length;
        }
        return copy;
    }

    private static Mutator.Edit OnPngChunks(Func<List<Chunk>, Random, bool> edit) => (data, random) =>
    {
        var chunks = PngChunks(data);
        return chunks is not null && edit(chunks, random) ? PngBytes(chunks) : null;
    };

    private static byte[] Inflate(byte[] zlib)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(zlib), CompressionMode.Decompress))
            z.CopyTo(output);
        return output.ToArray();
    }

    internal static byte[] Deflate(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(raw);
        return output.ToArray();
    }

    public static readonly (string, Mutator.Edit)[] PngEdits =
    [
        ("IHDR size", OnPngChunks((chunks, r) =>
        {
            var header = chunks.Find(c => c.Type == "IHDR");
            if (header is null || header.Body.Length != 13) return false;
            int field = r.Next(4);
            uint huge = HugeSizes[r.Next(HugeSizes.Length)];
            if (field != 1) BinaryPrimitives.WriteUInt32BigEndian(header.Body, field == 3 ? huge : PickSize(r));
            if (field != 0) BinaryPrimitives.WriteUInt32BigEndian(header.Body.AsSpan(4), field == 3 ? huge : PickSize(r));
            return true;
        })),
        ("IHDR fields", OnPngChunks((chunks, r) =>
        {
            var header = chunks.Find(c => c.Type == "IHDR");
            if (header is null || header.Body.Length != 13) return false;
            int field = 8 + r.Next(5);
            header.Body[field] = field switch
            {
                8 => (byte)new[] { 0, 1, 2, 3, 4, 8, 16, 32 }[r.Next(8)],
                9 => (byte)r.Next(8),
                _ => (byte)r.Next(3),
            };
            return true;
        })),
        ("chunk length", (data, r) =>
        {
            var chunks = PngChunks(data);
            if (chunks is null) return null;
            int index = r.Next(chunks.Count), offset = 8 + chunks.Take(index).Sum(c => 12 + c.Body.Length);
            var copy = (byte[])data.Clone();
            uint length = (uint)chunks[index].Body.Length;
            uint changed = r.Next(2) == 0 ? Mutator.Boundary32[r.Next(Mutator.Boundary32.Length)] : (uint)(length + r.Next(-16, 17));
            BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(offset), changed);
            return copy;
        }),
        ("split IDAT", OnPngChunks((chunks, r) =>
        {
            int index = chunks.FindIndex(c => c.Type == "IDAT");
            if (index < 0 || chunks[index].Body.Length < 2) return false;
            int at = 1 + r.Next(chunks[index].Body.Length - 1);
            var body = chunks[index].Body;
            chunks[index] = new Chunk("IDAT", body[..at]);
            chunks.Insert(index + 1, new Chunk("IDAT", body[at..]));
            return true;
        })),
        ("duplicate chunk", OnPngChunks((chunks, r) =>
        {
            int index = r.Next(chunks.Count);
            chunks.Insert(r.Next(chunks.Count + 1), chunks[index] with { Body = (byte[])chunks[index].Body.Clone() });
            return true;
        })),
        ("drop chunk", OnPngChunks((chunks, r) =>
        {
            chunks.RemoveAt(r.Next(chunks.Count));
            return true;
        })),
        ("swap chunks", OnPngChunks((chunks, r) =>
        {
            int a = r.Next(chunks.Count), b = r.Next(chunks.Count);
            (chunks[a], chunks[b]) = (chunks[b], chunks[a]);
            return true;
        })),
        ("shorten PLTE", OnPngChunks((chunks, r) =>
        {
            int index = chunks.FindIndex(c => c.Type == "PLTE");
            if (index < 0) return false;
            chunks[index] = chunks[index] with { Body = chunks[index].Body[..(3 * r.Next(chunks[index].Body.Length / 3 + 1))] };
            return true;
        })),
        ("edit pixel data", OnPngChunks((chunks, r) =>
        {
            var idat = chunks.Where(c => c.Type == "IDAT").ToList();
            if (idat.Count == 0) return false;
            byte[] raw;
            try
            {
                raw = Inflate(Mutator.Concat([.. idat.Select(c => c.Body)]));
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                return false;
            }
            if (raw.Length == 0) return false;
            switch (r.Next(4))
            {
                case 0: raw[r.Next(raw.Length)] = (byte)r.Next(256); break;
                case 1: raw = raw[..r.Next(raw.Length)]; break;
                case 2: raw = Mutator.Concat(raw, new byte[1 + r.Next(64)]); break;
                default: r.NextBytes(raw.AsSpan(r.Next(raw.Length))); break;
            }
            int first = chunks.IndexOf(idat[0]);
            chunks.RemoveAll(c => c.Type == "IDAT");
            chunks.Insert(first, new Chunk("IDAT", Deflate(raw)));
            return true;
        })),
    ];

    // ---- JPEG: SOI, then marker segments; each SOS is followed by its entropy-coded data ----

    internal sealed record Segment(byte Marker, byte[] Payload, byte[] Entropy);

    internal static List<Segment>? JpegSegments(byte[] jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
            return null;
        var segments = new List<Segment>();
        int position = 2;
        while (position + 1 < jpeg.Length)
        {
            if (jpeg[position] != 0xFF)
                return null;
            byte marker = jpeg[position + 1];
            if (marker == 0xD9)
                return segments;
            if (position + 4 > jpeg.Length)
                return null;
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(position + 2));
            if (length < 2 || position + 2 + length > jpeg.Length)
                return null;
            var payload = jpeg[(position + 4)..(position + 2 + length)];
            position += 2 + length;
            int end = position;
            if (marker == 0xDA)
                while (end + 1 < jpeg.Length && !(jpeg[end] == 0xFF && jpeg[end + 1] is not (0 or (>= 0xD0 and <= 0xD7))))
                    end++;
            segments.Add(new Segment(marker, payload, jpeg[position..end]));
            position = end;
        }
        return null;
    }

    internal static byte[] JpegBytes(IEnumerable<Segment> segments)
    {
        using var stream = new MemoryStream();
        stream.Write([0xFF, 0xD8]);
        foreach (var s in segments)
        {
            stream.Write([0xFF, s.Marker, (byte)((s.Payload.Length + 2) >> 8), (byte)(s.Payload.Length + 2)]);
            stream.Write(s.Payload);
            stream.Write(s.Entropy);
        }
        stream.Write([0xFF, 0xD9]);
        return stream.ToArray();
    }

    private static Mutator.Edit OnJpegSegments(Func<List<Segment>, Random, bool> edit) => (data, random) =>
    {
        var segments = JpegSegments(data);
        return segments is not null && edit(segments, random) ? JpegBytes(segments) : null;
    };

    private static Segment? Pick(List<Segment> segments, byte marker, Random random)
    {
        var matching = segments.Where(s => s.Marker == marker).ToList();
        return matching.Count == 0 ? null : matching[random.Next(matching.Count)];
    }

    private static Segment? PickFrame(List<Segment> segments) => segments.Find(s => s.Marker is 0xC0 or 0xC1 or 0xC2);

    public static readonly (string, Mutator.Edit)[] JpegEdits =
    [
        ("SOF size", OnJpegSegments((segments, r) =>
        {
            var frame = PickFrame(segments);
            if (frame is null || frame.Payload.Length < 5) return false;
            int field = r.Next(3);
            if (field != 1) BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(1), PickSize16(r));
            if (field != 0) BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(3), PickSize16(r));
            return true;
        })),
        ("SOF components", OnJpegSegments((segments, r) =>
        {
            var frame = PickFrame(segments);
            if (frame is null || frame.Payload.Length < 6) return false;
            int field = r.Next(frame.Payload.Length);
            frame.Payload[field] = field == 5 ? (byte)r.Next(6) : (field - 6) % 3 == 1 ? (byte)(r.Next(6) << 4 | r.Next(6)) : (byte)r.Next(256);
            return true;
        })),
        ("DHT move code", OnJpegSegments((segments, r) =>
        {
            var dht = Pick(segments, 0xC4, r);
            if (dht is null || dht.Payload.Length < 17) return false;
            int from = 1 + r.Next(16), to = 1 + r.Next(16);
            if (dht.Payload[from] == 0) return false;
            dht.Payload[from]--;
            dht.Payload[to]++;
            return true;
        })),
        ("DHT pack short codes", OnJpegSegments((segments, r) =>
        {
            // All codes moved to one short length: more codes of that length than it allows.
            var dht = Pick(segments, 0xC4, r);
            if (dht is null || dht.Payload.Length < 17) return false;
            int total = 0;
            for (int i = 1; i <= 16; i++) { total += dht.Payload[i]; dht.Payload[i] = 0; }
            dht.Payload[1 + r.Next(9)] = (byte)Math.Min(total, 255);
            return total <= 255;
        })),
        ("DHT class/index", OnJpegSegments((segments, r) =>
        {
            var dht = Pick(segments, 0xC4, r);
            if (dht is null || dht.Payload.Length < 1) return false;
            dht.Payload[0] = (byte)(r.Next(3) << 4 | r.Next(5));
            return true;
        })),
        ("DQT precision/index", OnJpegSegments((segments, r) =>
        {
            var dqt = Pick(segments, 0xDB, r);
            if (dqt is null || dqt.Payload.Length < 1) return false;
            dqt.Payload[0] = (byte)(r.Next(3) << 4 | r.Next(5));
            return true;
        })),
        ("SOS parameters", OnJpegSegments((segments, r) =>
        {
            var sos = Pick(segments, 0xDA, r);
            if (sos is null || sos.Payload.Length < 4) return false;
            int field = r.Next(sos.Payload.Length);
            sos.Payload[field] = field == 0 ? (byte)r.Next(6) : r.Next(2) == 0 ? (byte)r.Next(16) : (byte)r.Next(256);
            return true;
        })),
        ("repeat scan", OnJpegSegments((segments, r) =>
        {
            var sos = Pick(segments, 0xDA, r);
            if (sos is null) return false;
            int index = segments.IndexOf(sos);
            segments.InsertRange(index + 1, Enumerable.Repeat(sos, 1 + r.Next(45)));
            return true;
        })),
        ("edit scan data", OnJpegSegments((segments, r) =>
        {
            var sos = Pick(segments, 0xDA, r);
            if (sos is null || sos.Entropy.Length == 0) return false;
            var entropy = (byte[])sos.Entropy.Clone();
            if (r.Next(3) == 0) entropy = entropy[..r.Next(entropy.Length)];
            else entropy[r.Next(entropy.Length)] = (byte)r.Next(255);
            segments[segments.IndexOf(sos)] = sos with { Entropy = entropy };
            return true;
        })),
        ("restart interval", OnJpegSegments((segments, r) =>
        {
            int first = segments.FindIndex(s => s.Marker == 0xDA);
            if (first < 0) return false;
            segments.Insert(first, new Segment(0xDD, [0, (byte)r.Next(5)], []));
            return true;
        })),
        ("drop segment", OnJpegSegments((segments, r) =>
        {
            if (segments.Count == 0) return false;
            segments.RemoveAt(r.Next(segments.Count));
            return true;
        })),
        ("duplicate segment", OnJpegSegments((segments, r) =>
        {
            if (segments.Count == 0) return false;
            segments.Insert(r.Next(segments.Count + 1), segments[r.Next(segments.Count)]);
            return true;
        })),
        ("swap segments", OnJpegSegments((segments, r) =>
        {
            if (segments.Count == 0) return false;
            int a = r.Next(segments.Count), b = r.Next(segments.Count);
            (segments[a], segments[b]) = (segments[b], segments[a]);
            return true;
        })),
    ];

    // ---- BMP: the header fields a decoder sizes its work by ----

    private static readonly (int Offset, int Width)[] BmpFields =
        [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4), (54, 4), (58, 4), (62, 4), (66, 4)];

    private static readonly uint[] BmpValues =
        [.. Sizes, unchecked((uint)-1), unchecked((uint)-16), unchecked((uint)-65536), 0x8000_0001, 4, 8, 24, 32, 40, 52, 56, 108, 124, 3, 6];

    public static readonly (string, Mutator.Edit)[] BmpEdits =
    [
        ("BMP header field", (data, r) =>
        {
            var (offset, width) = BmpFields[r.Next(BmpFields.Length)];
            if (data.Length < offset + width) return null;
            var copy = (byte[])data.Clone();
            uint value = BmpValues[r.Next(BmpValues.Length)];
            if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(offset), (ushort)value);
            else BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
            return copy;
        }),
        ("BMP size", (data, r) =>
        {
            if (data.Length < 26) return null;
            var copy = (byte[])data.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(18), BmpValues[r.Next(BmpValues.Length)]);
            BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(22), BmpValues[r.Next(BmpValues.Length)]);
            return copy;
        }),
        ("BMP small size", (data, r) =>
        {
            if (data.Length < 26) return null;
            var copy = (byte[])data.Clone();
            BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(18 + 4 * r.Next(2)), r.Next(-40, 40));
            return copy;
        }),
    ];

    // ---- NPY: magic, version, header length, a Python dict literal, then the data ----

    private sealed record NpyParts(byte Major, string Header, byte[] Data);

    private static NpyParts? NpyParse(byte[] npy)
    {
        if (npy.Length < 10 || npy[0] != 0x93)
            return null;
        byte major = npy[6];
        int start = major == 1 ? 10 : 12;
        if (npy.Length < start)
            return null;
        long length = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(npy.AsSpan(8));
        if (length > npy.Length - start)
            return null;
        return new NpyParts(major, Encoding.Latin1.GetString(npy, start, (int)length), npy[(start + (int)length)..]);
    }

    public static byte[] NpyBytes(byte major, string header, byte[] data)
    {
        var text = Encoding.Latin1.GetBytes(header);
        var preamble = new byte[major == 1 ? 10 : 12];
        Encoding.Latin1.GetBytes("\x93NUMPY").CopyTo(preamble, 0);
        preamble[6] = major;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(preamble.AsSpan(8), (ushort)text.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(preamble.AsSpan(8), (uint)text.Length);
        return Mutator.Concat(preamble, text, data);
    }

    /// <summary>Sets the header length field to the header's real length (as far as the file shows it: up to the data).</summary>
    public static byte[] RepairNpyLength(byte[] npy)
    {
        if (npy.Length < 12 || npy[0] != 0x93)
            return npy;
        int start = npy[6] == 1 ? 10 : 12;
        int newline = Array.IndexOf(npy, (byte)'\n', start);
        if (newline < 0)
            return npy;
        var copy = (byte[])npy.Clone();
        int length = newline + 1 - start;
        if (npy[6] == 1) BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(8), (ushort)length);
        else BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(8), (uint)length);
        return copy;
    }

    private static readonly string[] NpyDims =
        ["0", "1", "2", "3", "4", "16", "255", "256", "65535", "65536", "2147483647", "2147483648", "4294967295", "4294967296",
         "1431655765", "9223372036854775807", "99999999999999999999", "-1", "3L", " ", "x"];

    private static readonly string[] NpyDescrs =
        ["|u1", "<u2", ">u2", "<u99999999999", "<u4", "<i4", "<i8", ">i8", "<f4", "<f8", ">f8", "|b1", "<f2", "|O", "<c8", "<U10",
         "u1", "<u1", "=i4", "<i0", "<i3", "<f99999999999999999999", "", "V8"];

    private const string HeaderCharacters = "(),:' 0123456789\n{}[]\"\\";

    private static Mutator.Edit OnNpyHeader(Func<string, Random, string?> edit) => (data, random) =>
    {
        var parts = NpyParse(data);
        string? header = parts is null ? null : edit(parts.Header, random);
        return header is null ? null : NpyBytes(parts!.Major, header, parts.Data);
    };

    public static readonly (string, Mutator.Edit)[] NpyEdits =
    [
        ("NPY shape", OnNpyHeader((header, r) =>
        {
            var dims = Enumerable.Range(0, r.Next(6)).Select(_ => NpyDims[r.Next(NpyDims.Length)]).ToList();
            string tuple = dims.Count == 1 && r.Next(2) == 0 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
            return ShapeValue().Replace(header, tuple, 1);
        })),
        ("NPY shape entry", OnNpyHeader((header, r) =>
            Mutator.ReplaceRandomMatch(header, Number(), NpyDims[r.Next(NpyDims.Length)], r))),
        ("NPY leading ones", OnNpyHeader((header, r) =>
            ShapeValue().Replace(header, m => "(" + string.Concat(Enumerable.Repeat("1, ", 1 + r.Next(3))) + m.Value[1..], 1))),
        ("NPY descr", OnNpyHeader((header, r) =>
            DescrValue().Replace(header, $"'descr': '{NpyDescrs[r.Next(NpyDescrs.Length)]}'", 1))),
        ("NPY fortran order", OnNpyHeader((header, r) => header.Replace("False", "True", StringComparison.Ordinal))),
        ("NPY version", (data, r) =>
        {
            var parts = NpyParse(data);
            return parts is null ? null : NpyBytes((byte)(1 + r.Next(4)), parts.Header, parts.Data);
        }),
        ("NPY header garbage", OnNpyHeader((header, r) =>
        {
            if (header.Length == 0) return null;
            var chars = header.ToCharArray();
            for (int n = 1 + r.Next(3); n > 0; n--)
                chars[r.Next(chars.Length)] = HeaderCharacters[r.Next(HeaderCharacters.Length)];
            return new string(chars);
        })),
    ];

    [GeneratedRegex(@"\([^)]*\)")]
    private static partial Regex ShapeValue();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Number();

    [GeneratedRegex(@"'descr':\s*'[^']*'")]
    private static partial Regex DescrValue();

    // ---- TIFF: header, then a directory of 12-byte entries [tag][type][count][value or offset] ----

    /// <summary>The offset of a random entry of the first directory of a classic TIFF, and its byte order; null if none.</summary>
    private static (int Entry, bool BigEndian)? TiffEntry(byte[] data, Random random)
    {
        if (data.Length < 8 || (data[0] != 'I' && data[0] != 'M'))
            return null;
        bool big = data[0] == 'M';
        uint directory = big ? BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)) : BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(4));
        if (directory > data.Length - 2)
            return null;
        int count = big ? BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan((int)directory)) : BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)directory));
        if (count == 0 || directory + 2 + 12L * count > data.Length)
            return null;
        return ((int)directory + 2 + 12 * random.Next(count), big);
    }

    private static Mutator.Edit OnTiffEntry(Action<byte[], int, bool, Random> edit) => (data, random) =>
    {
        if (TiffEntry(data, random) is not { } found)
            return null;
        var copy = (byte[])data.Clone();
        edit(copy, found.Entry, found.BigEndian, random);
        return copy;
    };

    private static void Write32(byte[] data, int offset, bool big, uint value)
    {
        if (big) BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(offset), value);
        else BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(offset), value);
    }

    private static void Write16(byte[] data, int offset, bool big, ushort value)
    {
        if (big) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(offset), value);
        else BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(offset), value);
    }

    public static readonly (string, Mutator.Edit)[] TiffEdits =
    [
        // A SHORT value sits in the first two bytes of the field, a LONG in all four; both are written so either reading changes.
        ("TIFF entry value", OnTiffEntry((data, entry, big, r) =>
        {
            if (r.Next(2) == 0) Write32(data, entry + 8, big, PickSize(r));
            else Write16(data, entry + 8, big, PickSize16(r));
        })),
        ("TIFF entry count", OnTiffEntry((data, entry, big, r) => Write32(data, entry + 4, big, r.Next(3) == 0 ? PickSize(r) : (uint)r.Next(0, 8)))),
        ("TIFF entry type", OnTiffEntry((data, entry, big, r) => Write16(data, entry + 2, big, (ushort)r.Next(0, 20)))),
        ("TIFF small value", OnTiffEntry((data, entry, big, r) => Write16(data, entry + 8, big, (ushort)r.Next(0, 40)))),
    ];
}
