using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpSeg.Data;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files holding a C-order array, the format of <c>np.save</c> / <c>np.load</c>
/// (format versions 1.0, 2.0 and 3.0). Reads <c>uint8</c>, <c>bool</c> and <c>uint16</c> as their own sample types,
/// <c>int8</c>/<c>int16</c>/<c>int32</c>/<c>int64</c> as <see cref="int"/> (int64 values must fit),
/// <c>float32</c>/<c>float64</c> as <see cref="float"/>.
/// </summary>
/// <remarks>
/// How a shape maps to an image: <c>(H, W)</c> is a 1-channel image; <c>(H, W, C)</c> is read as stored, the layout of
/// numpy, OpenCV and PIL images; an array of 4 or more dimensions is a batch of one tensor as PyTorch and Paddle save
/// it, <c>(1, …, 1, C, H, W)</c>: the leading dimensions must all be 1 and are dropped, and the channels-first samples
/// are interleaved into H×W×C (what <c>x.squeeze(0).transpose(1, 2, 0)</c> gives). A 3-D array is never read as
/// channels-first, and a batch of more than one image is refused rather than cut to its first image.
/// </remarks>
public static partial class Npy
{
    /// <summary>numpy's own limit on the header (<c>np.load(max_header_size=10000)</c>): it keeps parsing cheap.</summary>
    private const int MaxHeaderBytes = 10_000;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>True when <paramref name="data"/> starts with the NPY magic string.</summary>
    public static bool IsNpy(ReadOnlySpan<byte> data) => data.StartsWith(Magic);

    /// <summary>Decodes a whole <c>.npy</c> file held in memory. Equivalent to <c>np.load</c>.</summary>
    /// <exception cref="ImageFormatException">The data is not a supported NPY array or is beyond <see cref="ImageLimits"/>.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors) => Decode(data, nameForErrors, ReadLimits.Current);

    internal static Image Decode(ReadOnlySpan<byte> data, string nameForErrors, ReadLimits limits)
    {
        if (!IsNpy(data))
            throw new ImageFormatException(nameForErrors, "bad NPY magic string");
        if (data.Length < 10)
            throw new ImageFormatException(nameForErrors, $"truncated at offset {data.Length}: NPY header length missing");
        int major = data[6];
        int headerStart, headerLength;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
                headerStart = 10;
                break;
            case 2 or 3:
                if (data.Length < 12)
                    throw new ImageFormatException(nameForErrors, $"truncated at offset {data.Length}: NPY header length missing");
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
                if (length > int.MaxValue)
                    throw new ImageFormatException(nameForErrors, $"NPY header length {length} is invalid");
                headerLength = (int)length;
                headerStart = 12;
                break;
            default:
                throw new ImageFormatException(nameForErrors, $"unsupported NPY format version {major}.{data[7]}");
        }
        if (headerLength > MaxHeaderBytes)
            throw new ImageFormatException(nameForErrors,
                $"NPY header of {headerLength} bytes is longer than numpy's {MaxHeaderBytes}-byte limit (np.load's max_header_size)");
        if (data.Length - headerStart < headerLength)
            throw new ImageFormatException(nameForErrors,
                $"truncated at offset {data.Length}: NPY header needs {headerLength} bytes from offset {headerStart}");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(data.Slice(headerStart, headerLength));
        var (descr, fortranOrder, shape) = ParseHeader(header, nameForErrors);
        if (fortranOrder)
            throw new ImageFormatException(nameForErrors,
                "NPY array is in Fortran order (fortran_order: True); save it with np.ascontiguousarray first");
        string shapeText = $"({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")})";
        if (shape.Length < 2)
            throw new ImageFormatException(nameForErrors,
                $"NPY array has shape {shapeText}; an image needs (H, W), (H, W, C) or a batch of one (1, …, C, H, W)");
        if (Array.Exists(shape, d => d == 0 || d > int.MaxValue))
            throw new ImageFormatException(nameForErrors, $"NPY array shape {shapeText} has an empty dimension or one above {int.MaxValue}");
        bool channelsFirst = shape.Length >= 4;
        if (channelsFirst && Array.Exists(shape[..^3], d => d != 1))
            throw new ImageFormatException(nameForErrors,
                $"NPY array has shape {shapeText}; an array of 4 or more dimensions is read as a batch of one (1, …, C, H, W) image, " +
                "so every dimension before the last three must be 1");
        var (rows, columns, bands) = shape.Length switch
        {
            2 => (shape[0], shape[1], 1L),
            3 => (shape[0], shape[1], shape[2]),
            _ => (shape[^2], shape[^1], shape[^3]),
        };
        limits.CheckSize(columns, rows, bands, nameForErrors, $"NPY array of shape {shapeText}");
        int height = (int)rows, width = (int)columns, channels = (int)bands, count = height * width * channels;

        var element = ParseDescr(descr, nameForErrors);
        var body = data[(headerStart + headerLength)..];
        long needed = (long)count * element.Size;
        if (body.Length < needed)
            throw new ImageFormatException(nameForErrors,
                $"truncated at offset {data.Length}: NPY data of {descr} shape {shapeText} needs {needed} bytes, {body.Length} remain");
        var layout = new Layout(height, width, channels, channelsFirst);
        return element.Kind switch
        {
            'u' or 'b' when element.Size == 1 => Build(layout, body[..count].ToArray()),
            'u' => Build(layout, ReadUInt16(body, count, element.BigEndian)),
            'i' => Build(layout, ReadIntegers(body, element, nameForErrors, layout)),
            _ => Build(layout, ReadFloats(body, count, element)),
        };
    }

    /// <summary>Where an array's samples go: H×W×C as stored, or C×H×W (channels first) to be interleaved.</summary>
    private readonly record struct Layout(int Height, int Width, int Channels, bool ChannelsFirst)
    {
        public string Describe(int index)
        {
            int pixels = Height * Width;
            var (pixel, channel) = ChannelsFirst ? (index % pixels, index / pixels) : (index / Channels, index % Channels);
            return $"row {pixel / Width}, column {pixel % Width}" + (Channels > 1 ? $", channel {channel}" : "");
        }
    }

    private static Image<T> Build<T>(Layout layout, T[] samples) where T : unmanaged, System.Numerics.INumber<T>
    {
        var (height, width, channels) = (layout.Height, layout.Width, layout.Channels);
        if (!layout.ChannelsFirst || channels == 1)
            return new Image<T>(height, width, channels, samples);
        var interleaved = new T[samples.Length];
        int pixels = height * width;
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < pixels; p++)
                interleaved[p * channels + c] = samples[c * pixels + p];
        return new Image<T>(height, width, channels, interleaved);
    }

    /// <summary>Writes <paramref name="image"/> as a version 1.0 <c>.npy</c> file. Equivalent to <c>np.save</c>.</summary>
    /// <param name="image">Saved as uint8, uint16, int32 or float32.</param>
    /// <param name="output">Receives the file.</param>
    /// <param name="dropSingleChannel">Writes a 1-channel image as a 2-D <c>(H, W)</c> array, the usual shape of label maps.</param>
    public static void Write(Image image, Stream output, bool dropSingleChannel = true)
    {
        WriteHeader(output, image.SampleType, image.Height, image.Width, image.Channels, dropSingleChannel);
        switch (image)
        {
            case Image<byte> bytes:
                output.Write(bytes.Pixels);
                break;
            case Image<ushort> words:
                WriteLittleEndian(output, words.Pixels, 2, (span, v) => BinaryPrimitives.WriteUInt16LittleEndian(span, v));
                break;
            case Image<int> ints:
                WriteLittleEndian(output, ints.Pixels, 4, (span, v) => BinaryPrimitives.WriteInt32LittleEndian(span, v));
                break;
            case Image<float> floats:
                WriteLittleEndian(output, floats.Pixels, 4, (span, v) => BinaryPrimitives.WriteSingleLittleEndian(span, v));
                break;
        }
    }

    /// <summary>Writes a version 1.0 header for a C-order array of the given sample type and shape; returns its length in bytes.</summary>
    internal static int WriteHeader(Stream output, SampleType sampleType, int height, int width, int channels, bool dropSingleChannel)
    {
        string descr = sampleType switch
        {
            SampleType.UInt8 => "|u1",
            SampleType.UInt16 => "<u2",
            SampleType.Int32 => "<i4",
            _ => "<f4",
        };
        string shape = dropSingleChannel && channels == 1 ? $"({height}, {width})" : $"({height}, {width}, {channels})";
        string dictionary = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int padded = (10 + dictionary.Length + 1 + 63) / 64 * 64;
        string header = dictionary.PadRight(padded - 10 - 1) + "\n";

        Span<byte> preamble = [.. Magic, 1, 0, 0, 0];
        BinaryPrimitives.WriteUInt16LittleEndian(preamble[8..], (ushort)header.Length);
        output.Write(preamble);
        output.Write(Encoding.ASCII.GetBytes(header));
        return preamble.Length + header.Length;
    }

    /// <summary>Encodes <paramref name="image"/> as <c>.npy</c> bytes (see <see cref="Write"/>).</summary>
    public static byte[] Encode(Image image, bool dropSingleChannel = true)
    {
        using var stream = new MemoryStream();
        Write(image, stream, dropSingleChannel);
        return stream.ToArray();
    }

    private delegate void ElementWriter<T>(Span<byte> destination, T value);

    private static void WriteLittleEndian<T>(Stream output, T[] values, int size, ElementWriter<T> write)
    {
        var buffer = new byte[Math.Min(values.Length, 1 << 16) * size];
        for (int start = 0; start < values.Length; start += buffer.Length / size)
        {
            int n = Math.Min(buffer.Length / size, values.Length - start);
            for (int i = 0; i < n; i++)
                write(buffer.AsSpan(i * size), values[start + i]);
            output.Write(buffer, 0, n * size);
        }
    }

    private readonly record struct Element(char Kind, int Size, bool BigEndian);

    private static Element ParseDescr(string descr, string name)
    {
        var match = DescrPattern().Match(descr);
        if (match.Success)
        {
            bool bigEndian = match.Groups[1].Value == ">";
            char kind = match.Groups[2].Value[0];
            bool supported = int.TryParse(match.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int size) &&
                             (kind, size) is ('u', 1 or 2) or ('b', 1) or ('i', 1 or 2 or 4 or 8) or ('f', 4 or 8);
            if (supported)
                return new Element(kind, size, bigEndian);
        }
        throw new ImageFormatException(name,
            $"unsupported NPY dtype '{descr}'; expected uint8, bool, uint16, int8/16/32/64 or float32/64");
    }

    private static (string Descr, bool FortranOrder, long[] Shape) ParseHeader(string header, string name)
    {
        var descr = DescrKey().Match(header);
        var fortran = FortranKey().Match(header);
        var shape = ShapeKey().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new ImageFormatException(name, $"NPY header is missing 'descr', 'fortran_order' or 'shape': {header.Trim()}");
        var dims = new List<long>();
        foreach (string part in shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long dim))
                throw new ImageFormatException(name, $"NPY shape entry '{part}' is not a non-negative 64-bit integer");
            dims.Add(dim);
        }
        return (descr.Groups[1].Value, fortran.Groups[1].Value == "True", dims.ToArray());
    }

    private static ushort[] ReadUInt16(ReadOnlySpan<byte> body, int count, bool bigEndian)
    {
        var values = new ushort[count];
        for (int i = 0; i < count; i++)
            values[i] = bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(body[(2 * i)..]) : BinaryPrimitives.ReadUInt16LittleEndian(body[(2 * i)..]);
        return values;
    }

    private static int[] ReadIntegers(ReadOnlySpan<byte> body, Element element, string name, Layout layout)
    {
        var values = new int[layout.Height * layout.Width * layout.Channels];
        for (int i = 0; i < values.Length; i++)
        {
            var bytes = body[(i * element.Size)..];
            long value = (element.Size, element.BigEndian) switch
            {
                (1, _) => (sbyte)bytes[0],
                (2, false) => BinaryPrimitives.ReadInt16LittleEndian(bytes),
                (2, true) => BinaryPrimitives.ReadInt16BigEndian(bytes),
                (4, false) => BinaryPrimitives.ReadInt32LittleEndian(bytes),
                (4, true) => BinaryPrimitives.ReadInt32BigEndian(bytes),
                (_, false) => BinaryPrimitives.ReadInt64LittleEndian(bytes),
                (_, true) => BinaryPrimitives.ReadInt64BigEndian(bytes),
            };
            if (value is < int.MinValue or > int.MaxValue)
                throw new ImageFormatException(name,
                    $"int64 value {value} at {layout.Describe(i)} does not fit in int32");
            values[i] = (int)value;
        }
        return values;
    }

    private static float[] ReadFloats(ReadOnlySpan<byte> body, int count, Element element)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            var bytes = body[(i * element.Size)..];
            values[i] = (element.Size, element.BigEndian) switch
            {
                (4, false) => BinaryPrimitives.ReadSingleLittleEndian(bytes),
                (4, true) => BinaryPrimitives.ReadSingleBigEndian(bytes),
                (_, false) => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes),
                (_, true) => (float)BinaryPrimitives.ReadDoubleBigEndian(bytes),
            };
        }
        return values;
    }

    [GeneratedRegex(@"^([<>|=]?)([uibf])(\d+)$")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrKey();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranKey();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeKey();
}
