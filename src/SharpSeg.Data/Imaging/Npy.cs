using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpSeg.Data;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files holding a C-order <c>H×W</c> or <c>H×W×C</c> array, the format of
/// <c>np.save</c> / <c>np.load</c> (format versions 1.0, 2.0 and 3.0). Reads <c>uint8</c>, <c>bool</c> and
/// <c>uint16</c> as their own sample types, <c>int8</c>/<c>int16</c>/<c>int32</c>/<c>int64</c> as
/// <see cref="int"/> (int64 values must fit), <c>float32</c>/<c>float64</c> as <see cref="float"/>.
/// A 2-D array becomes a 1-channel image.
/// </summary>
public static partial class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>True when <paramref name="data"/> starts with the NPY magic string.</summary>
    public static bool IsNpy(ReadOnlySpan<byte> data) => data.StartsWith(Magic);

    /// <summary>Decodes a whole <c>.npy</c> file held in memory. Equivalent to <c>np.load</c>.</summary>
    /// <exception cref="ImageFormatException">The data is not a supported NPY array.</exception>
    public static Image Decode(ReadOnlySpan<byte> data, string nameForErrors)
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
        if (data.Length - headerStart < headerLength)
            throw new ImageFormatException(nameForErrors,
                $"truncated at offset {data.Length}: NPY header needs {headerLength} bytes from offset {headerStart}");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(data.Slice(headerStart, headerLength));
        var (descr, fortranOrder, shape) = ParseHeader(header, nameForErrors);
        if (fortranOrder)
            throw new ImageFormatException(nameForErrors,
                "NPY array is in Fortran order (fortran_order: True); save it with np.ascontiguousarray first");
        if (shape.Length is not (2 or 3))
            throw new ImageFormatException(nameForErrors,
                $"NPY array has shape ({string.Join(", ", shape)}); an image needs 2 (H, W) or 3 (H, W, C) dimensions");
        if (Array.Exists(shape, d => d <= 0 || d > int.MaxValue))
            throw new ImageFormatException(nameForErrors, $"NPY array shape ({string.Join(", ", shape)}) has an empty or oversized dimension");
        int height = (int)shape[0], width = (int)shape[1], channels = shape.Length == 3 ? (int)shape[2] : 1;
        long count = (long)height * width * channels;
        if (count > Array.MaxLength)
            throw new ImageFormatException(nameForErrors, $"NPY array of {count} elements is too large");

        var element = ParseDescr(descr, nameForErrors);
        var body = data[(headerStart + headerLength)..];
        long needed = count * element.Size;
        if (body.Length < needed)
            throw new ImageFormatException(nameForErrors,
                $"truncated at offset {data.Length}: NPY data of {descr} shape ({string.Join(", ", shape)}) needs {needed} bytes, {body.Length} remain");
        return element.Kind switch
        {
            'u' when element.Size == 1 => new Image<byte>(height, width, channels, body[..(int)count].ToArray()),
            'b' => new Image<byte>(height, width, channels, body[..(int)count].ToArray()),
            'u' => new Image<ushort>(height, width, channels, ReadUInt16(body, (int)count, element.BigEndian)),
            'i' => new Image<int>(height, width, channels, ReadIntegers(body, (int)count, element, nameForErrors, width, channels)),
            _ => new Image<float>(height, width, channels, ReadFloats(body, (int)count, element)),
        };
    }

    /// <summary>Writes <paramref name="image"/> as a version 1.0 <c>.npy</c> file. Equivalent to <c>np.save</c>.</summary>
    /// <param name="image">Saved as uint8, uint16, int32 or float32.</param>
    /// <param name="output">Receives the file.</param>
    /// <param name="dropSingleChannel">Writes a 1-channel image as a 2-D <c>(H, W)</c> array, the usual shape of label maps.</param>
    public static void Write(Image image, Stream output, bool dropSingleChannel = true)
    {
        string descr = image.SampleType switch
        {
            SampleType.UInt8 => "|u1",
            SampleType.UInt16 => "<u2",
            SampleType.Int32 => "<i4",
            _ => "<f4",
        };
        string shape = dropSingleChannel && image.Channels == 1
            ? $"({image.Height}, {image.Width})"
            : $"({image.Height}, {image.Width}, {image.Channels})";
        string dictionary = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int padded = (10 + dictionary.Length + 1 + 63) / 64 * 64;
        string header = dictionary.PadRight(padded - 10 - 1) + "\n";

        Span<byte> preamble = [.. Magic, 1, 0, 0, 0];
        BinaryPrimitives.WriteUInt16LittleEndian(preamble[8..], (ushort)header.Length);
        output.Write(preamble);
        output.Write(Encoding.ASCII.GetBytes(header));
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
            int size = int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
            bool supported = (kind, size) is ('u', 1 or 2) or ('b', 1) or ('i', 1 or 2 or 4 or 8) or ('f', 4 or 8);
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
                throw new ImageFormatException(name, $"NPY shape entry '{part}' is not a number");
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

    private static int[] ReadIntegers(ReadOnlySpan<byte> body, int count, Element element, string name, int width, int channels)
    {
        var values = new int[count];
        for (int i = 0; i < count; i++)
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
                    $"int64 value {value} at row {i / channels / width}, column {i / channels % width} does not fit in int32");
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
