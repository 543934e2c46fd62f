using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace SharpSeg.Data;

/// <summary>
/// Decodes JPEG files (ITU-T T.81): baseline and extended sequential and progressive Huffman processes with
/// 8-bit samples, sampling factors 1–4 that divide the largest (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, …),
/// restart intervals. Colour images come back as 3-channel RGB <see cref="Image{T}"/> of <see cref="byte"/>,
/// grayscale as 1 channel. Reproduces libjpeg-turbo's defaults
/// (accurate integer IDCT, "fancy" triangle-filter chroma upsampling, fixed-point YCbCr→RGB), so results match
/// <c>np.asarray(PIL.Image.open(p))</c> and <c>cv2.imread(p, IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION)</c> (after BGR→RGB).
/// EXIF orientation is applied only when <see cref="ImageReadOptions.ApplyExifOrientation"/> asks.
/// </summary>
/// <remarks>
/// The per-sample loops are marked for full optimization up front: each runs only a few calls per image, so
/// tiered compilation would otherwise leave them unoptimized for the first dozens of images a loader decodes.
/// </remarks>
public static class JpegDecoder
{
    private static readonly byte[] ZigZag =
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
        28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
        54, 47, 55, 62, 63,
    ];

    /// <summary>True when <paramref name="data"/> starts with a JPEG SOI marker.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>Decodes a whole JPEG file held in memory.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="nameForErrors">Named in every exception message.</param>
    /// <param name="options">Channel order; null for the defaults.</param>
    /// <exception cref="ImageFormatException">The data is corrupt, truncated, uses an unsupported JPEG process or is beyond <see cref="ImageLimits"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions? options = null) =>
        Decode(data, nameForErrors, options ?? ImageReadOptions.Default, ReadLimits.Current);

    internal static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ImageReadOptions options, ReadLimits limits) =>
        new Decoding(data.ToArray(), nameForErrors, options, limits).Run();

    // Doubles a row: each input weighs 3/4 in its two outputs, its left or right neighbour 1/4; edges repeat.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalTriangle(ReadOnlySpan<int> sums, Span<byte> output, int leftBias, int rightBias, int shift)
    {
        int last = sums.Length - 1;
        output = output[..(2 * sums.Length)];
        output[0] = (byte)((sums[0] * 4 + leftBias) >> shift);
        for (int x = 0; x < last; x++)
        {
            int here = sums[x] * 3, next = sums[x + 1] * 3;
            output[2 * x + 1] = (byte)((here + sums[x + 1] + rightBias) >> shift);
            output[2 * x + 2] = (byte)((next + sums[x] + leftBias) >> shift);
        }
        output[2 * last + 1] = (byte)((sums[last] * 4 + rightBias) >> shift);
    }

    private sealed class ColourTables
    {
        public static readonly ColourTables Instance = new();
        public readonly int[] CrToR = new int[256], CbToB = new int[256], CrToG = new int[256], CbToG = new int[256];

        private ColourTables()
        {
            for (int i = 0; i < 256; i++)
            {
                int x = i - 128;
                CrToR[i] = (91881 * x + 32768) >> 16;
                CbToB[i] = (116130 * x + 32768) >> 16;
                CrToG[i] = -46802 * x;
                CbToG[i] = -22554 * x + 32768;
            }
        }
    }

    private sealed class Component
    {
        public int Id, H, V, QuantIndex;
        public int Width, Height;
        public int BlocksPerLine, BlocksPerColumn;
        public int AllocBlocksPerLine, AllocBlocksPerColumn;
        public short[] Coefficients = [];
        public ushort[]? Quant;
        public int DcPredictor;
        public JpegHuffmanTable? DcTable, AcTable;
    }

    private sealed class Decoding(byte[] data, string name, ImageReadOptions options, ReadLimits limits)
    {
        private readonly ushort[]?[] _quantTables = new ushort[4][];
        private readonly JpegHuffmanTable?[] _dcTables = new JpegHuffmanTable[4], _acTables = new JpegHuffmanTable[4];
        private Component[] _components = [];
        private int _width, _height, _maxH, _maxV, _mcusPerLine, _mcusPerColumn;
        private bool _progressive, _haveFrame, _sawJfif;
        private int _adobeTransform = -1;
        private int _orientation = 1;
        private int _restartInterval;
        private int _scanCount;
        private int _eobRun;

        private ImageFormatException Error(string problem) => new(name, problem);

        public Image Run()
        {
            if (!IsJpeg(data))
                throw Error("bad JPEG signature (no SOI marker)");
            int scans = CountScans();
            if (scans > limits.MaxJpegScans)
                throw Error($"{scans} scans, more than the {limits.MaxJpegScans} allowed (ImageLimits.MaxJpegScans, libjpeg-turbo's " +
                            "max_scans guard: each scan passes over the whole frame)");
            int position = 2;
            while (true)
            {
                int markerOffset = FindMarker(position);
                if (markerOffset < 0)
                {
                    if (_scanCount > 0 && !_progressive)
                        return Output();
                    throw Error($"truncated at offset {data.Length}: no EOI marker" + (_scanCount == 0 ? " and no scan" : $" after {_scanCount} scan(s)"));
                }
                int marker = data[markerOffset + 1];
                position = markerOffset + 2;
                if (marker == 0xD9)
                {
                    if (_scanCount == 0)
                        throw Error($"EOI at offset {markerOffset} before any scan");
                    return Output();
                }
                if (marker is >= 0xD0 and <= 0xD7 or 0x01)
                    continue;
                if (data.Length - position < 2)
                    throw Error($"truncated at offset {position}: marker FF{marker:X2} has no length");
                int length = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position));
                if (length < 2 || position + length > data.Length)
                    throw Error($"truncated at offset {markerOffset}: segment FF{marker:X2} declares {length} bytes, {data.Length - position} remain");
                var segment = data.AsSpan(position + 2, length - 2);
                position += length;
                switch (marker)
                {
                    case 0xC0 or 0xC1 or 0xC2:
                        ReadFrame(segment, marker == 0xC2, markerOffset);
                        break;
                    case 0xC3 or (>= 0xC5 and <= 0xC7) or (>= 0xC9 and <= 0xCB) or (>= 0xCD and <= 0xCF):
                        throw Error($"unsupported JPEG process: {ProcessName(marker)} (SOF{marker - 0xC0} at offset {markerOffset})");
                    case 0xC4:
                        ReadHuffmanTables(segment, markerOffset);
                        break;
                    case 0xDB:
                        ReadQuantTables(segment, markerOffset);
                        break;
                    case 0xDD:
                        if (segment.Length < 2)
                            throw Error($"DRI segment at offset {markerOffset} is too short");
                        _restartInterval = BinaryPrimitives.ReadUInt16BigEndian(segment);
                        break;
                    case 0xDA:
                        position = ReadScan(segment, position, markerOffset);
                        _scanCount++;
                        break;
                    case 0xE0:
                        _sawJfif |= segment.StartsWith("JFIF\0"u8);
                        break;
                    case 0xE1 when _orientation == 1:
                        _orientation = ExifOrientation.Read(segment);
                        break;
                    case 0xEE:
                        if (segment.Length >= 12 && segment.StartsWith("Adobe"u8))
                            _adobeTransform = segment[11];
                        break;
                }
            }
        }

        // Walks the markers as Run does, without decoding: a file is refused for its scan count before any scan
        // costs time. Entropy-coded data never holds a marker (FF is stuffed as FF 00), so FindMarker skips it.
        private int CountScans()
        {
            int scans = 0, position = 2;
            while (true)
            {
                int markerOffset = FindMarker(position);
                if (markerOffset < 0 || data[markerOffset + 1] == 0xD9)
                    return scans;
                int marker = data[markerOffset + 1];
                position = markerOffset + 2;
                if (marker is >= 0xD0 and <= 0xD7 or 0x01)
                    continue;
                if (data.Length - position < 2)
                    return scans;
                int length = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position));
                if (length < 2)
                    return scans;
                if (marker == 0xDA)
                    scans++;
                position += length;
            }
        }

        private static string ProcessName(int marker) => marker switch
        {
            0xC3 => "lossless Huffman",
            0xC5 or 0xC6 or 0xC7 => "hierarchical (differential) Huffman",
            0xC9 => "extended sequential arithmetic",
            0xCA => "progressive arithmetic",
            0xCB => "lossless arithmetic",
            _ => "hierarchical (differential) arithmetic",
        };

        private int FindMarker(int position)
        {
            while (position + 1 < data.Length)
            {
                if (data[position] == 0xFF && data[position + 1] != 0xFF && data[position + 1] != 0)
                    return position;
                position++;
            }
            return -1;
        }

        private void ReadFrame(ReadOnlySpan<byte> segment, bool progressive, int offset)
        {
            if (_haveFrame)
                throw Error($"second frame header at offset {offset} (multi-frame JPEG)");
            if (segment.Length < 6)
                throw Error($"SOF segment at offset {offset} is too short");
            if (segment[0] != 8)
                throw Error($"unsupported JPEG process: {segment[0]}-bit samples (only 8-bit is supported)");
            _height = BinaryPrimitives.ReadUInt16BigEndian(segment[1..]);
            _width = BinaryPrimitives.ReadUInt16BigEndian(segment[3..]);
            int count = segment[5];
            if (_height == 0)
                throw Error("JPEG height 0 (DNL marker) is not supported");
            if (_width == 0)
                throw Error("JPEG width is 0");
            if (count is not (1 or 3))
                throw Error($"JPEG with {count} components is not supported (only grayscale and YCbCr/RGB)");
            if (segment.Length < 6 + 3 * count)
                throw Error($"SOF segment at offset {offset} is too short for {count} components");
            _components = new Component[count];
            for (int i = 0; i < count; i++)
            {
                var c = segment.Slice(6 + 3 * i, 3);
                _components[i] = new Component { Id = c[0], H = c[1] >> 4, V = c[1] & 15, QuantIndex = c[2] };
                if (_components[i].H is < 1 or > 4 || _components[i].V is < 1 or > 4 || c[2] > 3)
                    throw Error($"component {c[0]} has invalid sampling factors {c[1] >> 4}×{c[1] & 15} or quantization table {c[2]}");
            }
            _maxH = _components.Max(c => c.H);
            _maxV = _components.Max(c => c.V);
            _mcusPerLine = (_width + 8 * _maxH - 1) / (8 * _maxH);
            _mcusPerColumn = (_height + 8 * _maxV - 1) / (8 * _maxV);
            long blocks = _components.Sum(c => (long)_mcusPerLine * c.H * _mcusPerColumn * c.V);
            if (blocks > 8L * data.Length)
                throw Error($"truncated: a {_width}×{_height} JPEG needs at least one bit per 8×8 block, the file has {data.Length} bytes");
            limits.CheckSize(_width, _height, count == 3 || options.ForceRgb ? 3 : 1, name, "JPEG");
            long largestPlane = _components.Max(c => (long)_mcusPerLine * c.H * _mcusPerColumn * c.V * 64);
            if (largestPlane > Array.MaxLength)
                throw Error($"JPEG of {_width}×{_height} needs {largestPlane} coefficients for one component, more than one array can hold ({Array.MaxLength})");
            foreach (var c in _components)
            {
                if (_maxH % c.H != 0 || _maxV % c.V != 0)
                    throw Error($"unsupported sampling factors: component {c.Id} is {c.H}×{c.V}, the maximum is {_maxH}×{_maxV}");
                c.Width = (_width * c.H + _maxH - 1) / _maxH;
                c.Height = (_height * c.V + _maxV - 1) / _maxV;
                c.BlocksPerLine = (c.Width + 7) / 8;
                c.BlocksPerColumn = (c.Height + 7) / 8;
                c.AllocBlocksPerLine = _mcusPerLine * c.H;
                c.AllocBlocksPerColumn = _mcusPerColumn * c.V;
                c.Coefficients = new short[(long)c.AllocBlocksPerLine * c.AllocBlocksPerColumn * 64];
            }
            _progressive = progressive;
            _haveFrame = true;
        }

        private void ReadHuffmanTables(ReadOnlySpan<byte> segment, int offset)
        {
            while (!segment.IsEmpty)
            {
                if (segment.Length < 17)
                    throw Error($"DHT segment at offset {offset} is truncated");
                int tableClass = segment[0] >> 4, index = segment[0] & 15;
                if (tableClass > 1 || index > 3)
                    throw Error($"DHT segment at offset {offset} defines invalid table class {tableClass} / index {index}");
                var counts = segment.Slice(1, 16);
                int total = 0;
                foreach (byte count in counts)
                    total += count;
                if (total > 256 || segment.Length < 17 + total)
                    throw Error($"DHT segment at offset {offset} is truncated or lists {total} codes");
                JpegHuffmanTable table;
                try
                {
                    table = new JpegHuffmanTable(counts, segment.Slice(17, total).ToArray());
                }
                catch (InvalidDataException e)
                {
                    throw Error($"invalid Huffman table in DHT segment at offset {offset}: {e.Message}");
                }
                (tableClass == 0 ? _dcTables : _acTables)[index] = table;
                segment = segment[(17 + total)..];
            }
        }

        private void ReadQuantTables(ReadOnlySpan<byte> segment, int offset)
        {
            while (!segment.IsEmpty)
            {
                int precision = segment[0] >> 4, index = segment[0] & 15;
                int size = precision == 0 ? 64 : 128;
                if (index > 3 || precision > 1 || segment.Length < 1 + size)
                    throw Error($"invalid or truncated DQT segment at offset {offset}");
                var table = new ushort[64];
                for (int k = 0; k < 64; k++)
                    table[ZigZag[k]] = precision == 0 ? segment[1 + k] : BinaryPrimitives.ReadUInt16BigEndian(segment[(1 + 2 * k)..]);
                _quantTables[index] = table;
                segment = segment[(1 + size)..];
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int ReadScan(ReadOnlySpan<byte> segment, int position, int offset)
        {
            if (!_haveFrame)
                throw Error($"scan at offset {offset} before any frame header (SOF)");
            int count = segment.IsEmpty ? 0 : segment[0];
            if (count < 1 || count > 4 || segment.Length < 4 + 2 * count)
                throw Error($"invalid SOS segment at offset {offset}");
            var scanComponents = new Component[count];
            for (int i = 0; i < count; i++)
            {
                int id = segment[1 + 2 * i], tables = segment[2 + 2 * i];
                var component = Array.Find(_components, c => c.Id == id)
                    ?? throw Error($"scan at offset {offset} names component {id}, which the frame does not have");
                component.DcTable = _dcTables[(tables >> 4) & 3];
                component.AcTable = _acTables[tables & 3];
                component.Quant ??= _quantTables[component.QuantIndex]
                    ?? throw Error($"component {id} uses quantization table {component.QuantIndex}, which no DQT defines");
                scanComponents[i] = component;
            }
            int ss = segment[1 + 2 * count], se = segment[2 + 2 * count];
            int ah = segment[3 + 2 * count] >> 4, al = segment[3 + 2 * count] & 15;
            if (_progressive)
            {
                bool valid = ss == 0 ? se == 0 : se >= ss && se <= 63 && count == 1;
                if (!valid || ah > 13 || al > 13)
                    throw Error($"invalid progressive scan parameters Ss={ss} Se={se} Ah={ah} Al={al} at offset {offset}");
            }
            else
            {
                ss = 0;
                se = 63;
                ah = al = 0;
            }
            foreach (var c in scanComponents)
            {
                c.DcPredictor = 0;
                bool needsDc = ss == 0 && ah == 0, needsAc = se > 0;
                if (needsDc && c.DcTable is null || needsAc && c.AcTable is null)
                    throw Error($"scan at offset {offset} uses a Huffman table for component {c.Id} that no DHT defines");
            }
            _eobRun = 0;

            var reader = new JpegBitReader(data, position);
            bool single = count == 1;
            var only = scanComponents[0];
            int mcusPerLine = single ? only.BlocksPerLine : _mcusPerLine;
            int totalMcus = single ? only.BlocksPerLine * only.BlocksPerColumn : _mcusPerLine * _mcusPerColumn;
            int expectedRestart = 0;
            for (int mcu = 0; mcu < totalMcus; mcu++)
            {
                if (_restartInterval > 0 && mcu > 0 && mcu % _restartInterval == 0)
                {
                    reader.SeekMarker();
                    int at = reader.Position;
                    if (at + 1 >= data.Length)
                        throw Error($"truncated at offset {data.Length}: scan ended after {mcu} of {totalMcus} MCUs");
                    if (data[at + 1] != 0xD0 + expectedRestart)
                        throw Error($"expected restart marker RST{expectedRestart} at offset {at}, found FF{data[at + 1]:X2} after {mcu} of {totalMcus} MCUs");
                    expectedRestart = (expectedRestart + 1) & 7;
                    reader = new JpegBitReader(data, at + 2);
                    foreach (var c in scanComponents)
                        c.DcPredictor = 0;
                    _eobRun = 0;
                }
                int mcuRow = mcu / mcusPerLine, mcuCol = mcu % mcusPerLine;
                if (single)
                {
                    DecodeBlock(ref reader, only, (mcuRow * only.AllocBlocksPerLine + mcuCol) * 64, ss, se, ah, al);
                }
                else
                {
                    foreach (var c in scanComponents)
                        for (int v = 0; v < c.V; v++)
                            for (int h = 0; h < c.H; h++)
                            {
                                int blockRow = mcuRow * c.V + v, blockCol = mcuCol * c.H + h;
                                DecodeBlock(ref reader, c, (blockRow * c.AllocBlocksPerLine + blockCol) * 64, ss, se, ah, al);
                            }
                }
                if (reader.Overran && reader.AtEnd)
                    throw Error($"truncated at offset {data.Length}: entropy-coded data ended in MCU {mcu} of {totalMcus} (scan at offset {offset})");
            }
            reader.SeekMarker();
            return reader.Position;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DecodeBlock(ref JpegBitReader reader, Component c, int block, int ss, int se, int ah, int al)
        {
            var coefficients = c.Coefficients.AsSpan(block, 64);
            if (ss == 0)
            {
                if (ah == 0)
                {
                    int t = DecodeSymbol(ref reader, c.DcTable!, "DC", c);
                    if (t > 11)
                        throw Error($"corrupt JPEG data: DC difference of {t} bits in component {c.Id} near offset {reader.Position}");
                    c.DcPredictor += reader.ReceiveExtend(t);
                    coefficients[0] = (short)(c.DcPredictor << al);
                }
                else if (reader.ReadBit() != 0)
                {
                    coefficients[0] |= (short)(1 << al);
                }
                if (se == 0)
                    return;
                ss = 1;
            }
            if (ah == 0)
                DecodeAcFirst(ref reader, c, coefficients, ss, se, al);
            else
                DecodeAcRefine(ref reader, c, coefficients, ss, se, al);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int DecodeSymbol(ref JpegBitReader reader, JpegHuffmanTable table, string kind, Component c) =>
            table.Decode(ref reader) ?? throw InvalidCode(kind, c, reader.Position);

        private ImageFormatException InvalidCode(string kind, Component c, int position) =>
            Error($"corrupt JPEG data: invalid {kind} Huffman code in component {c.Id} near offset {position}");

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DecodeAcFirst(ref JpegBitReader reader, Component c, Span<short> coefficients, int ss, int se, int al)
        {
            if (_eobRun > 0)
            {
                _eobRun--;
                return;
            }
            for (int k = ss; k <= se; k++)
            {
                int rs = DecodeSymbol(ref reader, c.AcTable!, "AC", c);
                int r = rs >> 4, s = rs & 15;
                if (s == 0)
                {
                    if (r < 15)
                    {
                        _eobRun = _progressive ? (1 << r) - 1 + reader.ReadBits(r) : 0;
                        break;
                    }
                    k += 15;
                    continue;
                }
                k += r;
                if (k > 63)
                    throw Error($"corrupt JPEG data: AC run past coefficient 63 in component {c.Id} near offset {reader.Position}");
                coefficients[ZigZag[k]] = (short)(reader.ReceiveExtend(s) * (1 << al));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DecodeAcRefine(ref JpegBitReader reader, Component c, Span<short> coefficients, int ss, int se, int al)
        {
            int plus = 1 << al, minus = -1 << al;
            int k = ss;
            if (_eobRun == 0)
            {
                for (; k <= se; k++)
                {
                    int rs = DecodeSymbol(ref reader, c.AcTable!, "AC", c);
                    int r = rs >> 4, s = rs & 15;
                    int value = 0;
                    if (s != 0)
                    {
                        value = reader.ReadBit() != 0 ? plus : minus;
                    }
                    else if (r != 15)
                    {
                        _eobRun = (1 << r) + reader.ReadBits(r);
                        break;
                    }
                    do
                    {
                        ref short coefficient = ref coefficients[ZigZag[k]];
                        if (coefficient != 0)
                            Refine(ref reader, ref coefficient, plus, minus);
                        else if (--r < 0)
                            break;
                        k++;
                    }
                    while (k <= se);
                    if (value != 0 && k <= 63)
                        coefficients[ZigZag[k]] = (short)value;
                }
            }
            if (_eobRun > 0)
            {
                for (; k <= se; k++)
                {
                    ref short coefficient = ref coefficients[ZigZag[k]];
                    if (coefficient != 0)
                        Refine(ref reader, ref coefficient, plus, minus);
                }
                _eobRun--;
            }
        }

        private static void Refine(ref JpegBitReader reader, ref short coefficient, int plus, int minus)
        {
            if (reader.ReadBit() != 0 && (coefficient & plus) == 0)
                coefficient += (short)(coefficient >= 0 ? plus : minus);
        }

        private Image Output()
        {
            var image = Reconstruct();
            if (options.ForceRgb)
                image = ColourConversion.ToThreeChannels(image);
            return options.ApplyExifOrientation ? ExifOrientation.Apply(image, _orientation) : image;
        }

        private Image<byte> Reconstruct()
        {
            var planes = new byte[_components.Length][];
            for (int i = 0; i < _components.Length; i++)
            {
                var c = _components[i];
                if (c.Quant is null)
                    throw Error($"component {c.Id} appears in no scan");
                planes[i] = Upsample(c, InverseTransform(c));
            }
            if (_components.Length == 1)
                return new Image<byte>(_height, _width, 1, Crop(planes[0], _maxH * 8 * _mcusPerLine));

            int stride = _mcusPerLine * _maxH * 8;
            var rgb = new byte[_width * _height * 3];
            bool isRgb = _adobeTransform == 0 ||
                         !_sawJfif && _adobeTransform < 0 && _components[0].Id == 'R' && _components[1].Id == 'G' && _components[2].Id == 'B';
            bool bgr = options.ChannelOrder == ChannelOrder.Bgr;
            for (int y = 0; y < _height; y++)
            {
                var first = planes[0].AsSpan(y * stride, _width);
                var second = planes[1].AsSpan(y * stride, _width);
                var third = planes[2].AsSpan(y * stride, _width);
                var target = rgb.AsSpan(y * _width * 3, _width * 3);
                if (isRgb)
                    Interleave(first, second, third, target, bgr);
                else
                    YCbCrToRgb(first, second, third, target, bgr);
            }
            return new Image<byte>(_height, _width, 3, rgb);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Interleave(ReadOnlySpan<byte> r, ReadOnlySpan<byte> g, ReadOnlySpan<byte> b, Span<byte> target, bool bgr)
        {
            int red = bgr ? 2 : 0, blue = bgr ? 0 : 2;
            for (int x = 0; x < r.Length; x++)
            {
                target[3 * x + red] = r[x];
                target[3 * x + 1] = g[x];
                target[3 * x + blue] = b[x];
            }
        }

        // jdcolor.c's ycc_rgb_convert with its 16-bit fixed-point tables (FIX(1.40200) = 91881, …).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void YCbCrToRgb(ReadOnlySpan<byte> luma, ReadOnlySpan<byte> cb, ReadOnlySpan<byte> cr, Span<byte> target, bool bgr)
        {
            int red = bgr ? 2 : 0, blue = bgr ? 0 : 2;
            var tables = ColourTables.Instance;
            ReadOnlySpan<int> crToR = tables.CrToR, cbToB = tables.CbToB, crToG = tables.CrToG, cbToG = tables.CbToG;
            cb = cb[..luma.Length];
            cr = cr[..luma.Length];
            target = target[..(3 * luma.Length)];
            for (int x = 0; x < luma.Length; x++)
            {
                int y = luma[x], blueDiff = cb[x], redDiff = cr[x];
                var pixel = target.Slice(3 * x, 3);
                pixel[red] = Clamp(y + crToR[redDiff]);
                pixel[1] = Clamp(y + ((cbToG[blueDiff] + crToG[redDiff]) >> 16));
                pixel[blue] = Clamp(y + cbToB[blueDiff]);
            }
        }

        private static byte Clamp(int value) => (uint)value <= 255 ? (byte)value : value < 0 ? (byte)0 : (byte)255;

        private byte[] Crop(byte[] plane, int stride)
        {
            var result = new byte[_width * _height];
            for (int y = 0; y < _height; y++)
                plane.AsSpan(y * stride, _width).CopyTo(result.AsSpan(y * _width));
            return result;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static byte[] InverseTransform(Component c)
        {
            int stride = c.AllocBlocksPerLine * 8;
            var plane = new byte[stride * c.AllocBlocksPerColumn * 8];
            var work = new int[64];
            for (int row = 0; row < c.AllocBlocksPerColumn; row++)
                for (int col = 0; col < c.AllocBlocksPerLine; col++)
                {
                    int block = (row * c.AllocBlocksPerLine + col) * 64;
                    JpegIdct.Transform(c.Coefficients.AsSpan(block, 64), c.Quant, plane.AsSpan(row * 8 * stride + col * 8), stride, work);
                }
            return plane;
        }

        // Brings a component plane to full resolution (stride _mcusPerLine * _maxH * 8) the way libjpeg-turbo's
        // jdsample.c does by default: triangle filters for 2×1, 1×2 and 2×2 ("fancy upsampling"), whose
        // alternating +1/+2 (and +7/+8) biases avoid a systematic drift, and pixel replication otherwise.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private byte[] Upsample(Component c, byte[] plane)
        {
            int inStride = c.AllocBlocksPerLine * 8;
            int outStride = _mcusPerLine * _maxH * 8, outRows = _mcusPerColumn * _maxV * 8;
            int hFactor = _maxH / c.H, vFactor = _maxV / c.V;
            if (hFactor == 1 && vFactor == 1)
                return plane;
            var output = new byte[outStride * outRows];
            int w = c.Width, h = c.Height;
            bool fancy = w > 2;
            var sums = new int[w];
            if (fancy && hFactor == 2 && vFactor == 1)
            {
                for (int y = 0; y < h; y++)
                {
                    var input = plane.AsSpan(y * inStride, w);
                    for (int x = 0; x < w; x++)
                        sums[x] = input[x];
                    HorizontalTriangle(sums, output.AsSpan(y * outStride, 2 * w), leftBias: 1, rightBias: 2, shift: 2);
                }
                return output;
            }
            if (hFactor == 1 && vFactor == 2)
            {
                for (int y = 0; y < h; y++)
                {
                    var nearest = plane.AsSpan(y * inStride, w);
                    var above = plane.AsSpan(Math.Max(y - 1, 0) * inStride, w);
                    var below = plane.AsSpan(Math.Min(y + 1, h - 1) * inStride, w);
                    var top = output.AsSpan(2 * y * outStride, w);
                    var bottom = output.AsSpan((2 * y + 1) * outStride, w);
                    for (int x = 0; x < w; x++)
                    {
                        top[x] = (byte)((nearest[x] * 3 + above[x] + 1) >> 2);
                        bottom[x] = (byte)((nearest[x] * 3 + below[x] + 2) >> 2);
                    }
                }
                return output;
            }
            if (fancy && hFactor == 2 && vFactor == 2)
            {
                for (int y = 0; y < h; y++)
                {
                    var nearest = plane.AsSpan(y * inStride, w);
                    for (int half = 0; half < 2; half++)
                    {
                        var further = plane.AsSpan((half == 0 ? Math.Max(y - 1, 0) : Math.Min(y + 1, h - 1)) * inStride, w);
                        for (int x = 0; x < w; x++)
                            sums[x] = nearest[x] * 3 + further[x];
                        HorizontalTriangle(sums, output.AsSpan((2 * y + half) * outStride, 2 * w), leftBias: 8, rightBias: 7, shift: 4);
                    }
                }
                return output;
            }
            int rows = Math.Min(outRows, c.AllocBlocksPerColumn * 8 * vFactor);
            for (int y = 0; y < rows; y++)
            {
                var input = plane.AsSpan(y / vFactor * inStride);
                var outRow = output.AsSpan(y * outStride);
                for (int x = 0; x < outStride; x++)
                    outRow[x] = input[x / hFactor];
            }
            return output;
        }
    }
}
