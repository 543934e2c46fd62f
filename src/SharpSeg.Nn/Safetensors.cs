using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace SharpSeg.Nn;

/// <summary>The tensors and <c>__metadata__</c> strings of a safetensors file.</summary>
/// <param name="Tensors">Tensors by name, in header order.</param>
/// <param name="Metadata">The free-form string map (empty when the file has none).</param>
public sealed record SafetensorsContent(OrderedDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata);

/// <summary>A safetensors file that breaks the format; the message names the file and, where one is at fault, the tensor.</summary>
public sealed class SafetensorsFormatException : IOException
{
    internal SafetensorsFormatException(string source, string? key, string detail)
        : base(key is null ? $"{source}: {detail}" : $"{source}: tensor '{key}': {detail}")
    {
        FileName = source;
        Key = key;
    }

    /// <summary>The file (or stream description) being read.</summary>
    public string FileName { get; }

    /// <summary>The tensor whose header entry or data is at fault, or null for file-level faults.</summary>
    public string? Key { get; }
}

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}</c>, offsets relative to the data
/// start), then the raw little-endian data. Every dtype of the specification is read and converted (floats to float32,
/// integers and booleans to int64); float32, int32 and int64 tensors are written. The whole header is validated before
/// any data is read and nothing is returned from a file that fails, so a load is all or nothing. Equivalent to
/// <c>safetensors.torch.load_file</c> / <c>save_file</c>.
/// </summary>
public static class Safetensors
{
    /// <summary>The largest header accepted (the reference implementation's limit), guarding against absurd lengths.</summary>
    public const int MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int ChunkBytes = 1 << 20;

    /// <summary>The tensors of the file at <paramref name="path"/>. Equivalent to <c>safetensors.torch.load_file(path)</c>.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format; nothing is returned.</exception>
    public static OrderedDictionary<string, Tensor> Load(string path) => Read(path).Tensors;

    /// <summary>The tensors and metadata of the file at <paramref name="path"/>, read with one pass over the data.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format; nothing is returned.</exception>
    public static SafetensorsContent Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        return Read(stream, path);
    }

    /// <summary>The tensors and metadata of a seekable <paramref name="stream"/>; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="SafetensorsFormatException">
    /// The data breaks the format (header length, UTF-8, JSON, dtype, shape, offsets or layout); it is the only
    /// exception corrupt data raises, and nothing is returned.
    /// </exception>
    public static SafetensorsContent Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException($"{source}: reading safetensors needs a seekable stream.", nameof(stream));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Safetensors data is little-endian; this machine is not.");

        long fileLength = stream.Length;
        if (fileLength < 8) throw new SafetensorsFormatException(source, null, $"file is {fileLength} bytes, too short for the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.Position = 0;
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw new SafetensorsFormatException(source, null, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit (corrupt length field?)");
        if (8 + (long)headerLength > fileLength)
            throw new SafetensorsFormatException(source, null, $"header length {headerLength} runs past the end of the {fileLength}-byte file (truncated?)");

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength;
        var (entries, metadata) = ParseHeader(headerBytes, source);
        ValidateLayout(entries, fileLength - dataStart, source);

        var tensors = new OrderedDictionary<string, Tensor>();
        foreach (var entry in entries)
        {
            stream.Position = dataStart + entry.Begin;
            tensors.Add(entry.Name, ReadTensor(stream, entry, source));
        }
        return new SafetensorsContent(tensors, metadata);
    }

    private sealed record Entry(string Name, SafetensorsDType DType, int[] Shape, long Numel, long Begin, long End);

    private static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] headerBytes, string source)
    {
        // The format requires UTF-8; System.Text.Json checks it only when a string is read, and then throws
        // InvalidOperationException, so check the whole header first.
        if (!Utf8.IsValid(headerBytes))
        {
            int at = FirstInvalidUtf8(headerBytes);
            throw new SafetensorsFormatException(source, null,
                $"header is not valid UTF-8 (byte 0x{headerBytes[at]:X2} at header offset {at}, file offset {8 + at})");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(source, null, $"header is not valid JSON ({e.Message})");
        }
        using (document)
        {
            try
            {
                return ReadHeaderDocument(document, source);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json unescapes strings only when they are read, and reports an escaped surrogate
                // without its pair ("\ud800") this way; serde_json, which the reference reader uses, refuses it too.
                throw new SafetensorsFormatException(source, null, $"header is not valid JSON ({e.Message})");
            }
        }
    }

    private static (List<Entry>, Dictionary<string, string>) ReadHeaderDocument(JsonDocument document, string source)
    {
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(source, null, $"header must be a JSON object, got {document.RootElement.ValueKind}");
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        var names = new HashSet<string>();
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (!names.Add(property.Name)) throw new SafetensorsFormatException(source, property.Name, "appears twice in the header");
            if (property.Name == MetadataKey)
                ParseMetadata(property.Value, metadata, source);
            else
                entries.Add(ParseEntry(property.Name, property.Value, source));
        }
        return (entries, metadata);
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) == OperationStatus.Done)
            offset += consumed;
        return offset;
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(source, null, $"{MetadataKey} must be an object of strings, got {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(source, null, $"{MetadataKey} entry '{item.Name}' must be a string, got {item.Value.ValueKind}");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static Entry ParseEntry(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(source, name, $"header entry must be an object, got {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(source, name, "header entry lacks a string \"dtype\"");
        string dtypeName = dtypeElement.GetString()!;
        var dtype = SafetensorsDTypes.Parse(dtypeName)
            ?? throw new SafetensorsFormatException(source, name, $"unknown dtype \"{dtypeName}\"");

        var shape = ReadIntegers(value, "shape", name, source);
        // The product of the non-zero dimensions, saturated: a tensor indexes with int strides, so even an empty
        // tensor's other dimensions must multiply to an int ([0, 2^31-1, 2^31-1] has no elements but no valid strides).
        long extent = 1;
        bool empty = false;
        foreach (long d in shape)
        {
            if (d > int.MaxValue) throw new SafetensorsFormatException(source, name, $"dimension {d} is too large");
            if (d == 0) empty = true;
            else extent = Math.Min(extent * d, (long)Array.MaxLength + 1);
        }
        if (extent > Array.MaxLength)
            throw new SafetensorsFormatException(source, name, empty
                ? $"shape [{string.Join(", ", shape)}] has no elements, but its non-zero dimensions multiply to more than a tensor can index ({Array.MaxLength})"
                : $"shape [{string.Join(", ", shape)}] has more elements than a tensor can hold ({Array.MaxLength})");
        long numel = empty ? 0 : extent;

        var offsets = ReadIntegers(value, "data_offsets", name, source);
        if (offsets.Length != 2) throw new SafetensorsFormatException(source, name, $"data_offsets must be [begin, end], got {offsets.Length} numbers");
        long begin = offsets[0], end = offsets[1];
        if (begin > end) throw new SafetensorsFormatException(source, name, $"data_offsets [{begin}, {end}] end before they begin");
        long expectedBytes = numel * dtype.ByteSize();
        if (end - begin != expectedBytes)
            throw new SafetensorsFormatException(source, name,
                $"data_offsets [{begin}, {end}] span {end - begin} bytes, but {dtypeName} shape [{string.Join(", ", shape)}] needs {numel} × {dtype.ByteSize()} = {expectedBytes}");
        return new Entry(name, dtype, [.. shape.Select(d => (int)d)], numel, begin, end);
    }

    private static long[] ReadIntegers(JsonElement entry, string field, string name, string source)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(source, name, $"header entry lacks an array \"{field}\"");
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
                throw new SafetensorsFormatException(source, name, $"\"{field}\" must hold non-negative integers, got {item.GetRawText()}");
            values[i++] = v;
        }
        return values;
    }

    /// <summary>The tensors must tile the data exactly: sorted by offset, each begins where the previous ends.</summary>
    private static void ValidateLayout(List<Entry> entries, long dataLength, string source)
    {
        foreach (var e in entries)
            if (e.End > dataLength)
                throw new SafetensorsFormatException(source, e.Name,
                    $"data_offsets [{e.Begin}, {e.End}] reach past the {dataLength} data bytes the file holds (out of range or truncated file)");

        long position = 0;
        Entry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < position)
                throw new SafetensorsFormatException(source, e.Name, $"data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (e.Begin > position)
                throw new SafetensorsFormatException(source, e.Name, $"data_offsets [{e.Begin}, {e.End}] leave a hole of {e.Begin - position} bytes before them");
            position = e.End;
            previous = e;
        }
        if (position != dataLength)
            throw new SafetensorsFormatException(source, null, $"the tensors cover {position} of the {dataLength} data bytes; the rest is a hole");
    }

    private static Tensor ReadTensor(Stream stream, Entry entry, string source)
    {
        try
        {
            if (entry.DType.IsFloatingPoint())
            {
                // Read straight into the tensor's storage: each byte of the file is copied once.
                var tensor = Tensor.Zeros(new Shape(entry.Shape));
                if (entry.DType == SafetensorsDType.F32) ReadRaw(stream, MemoryMarshal.AsBytes(tensor.AsSpan()));
                else ReadConverted(stream, entry, tensor.AsSpan(), ConvertFloats);
                return tensor;
            }
            // Integer tensors are counters and labels, small enough for FromArray's copy.
            var values = new long[entry.Numel];
            if (entry.DType == SafetensorsDType.I64) ReadRaw(stream, MemoryMarshal.AsBytes(values.AsSpan()));
            else ReadConverted(stream, entry, values.AsSpan(), ConvertIntegers);
            var integers = Tensor.FromArray(values, entry.Shape);
            return entry.Shape.Length == 0 ? integers.Reshape() : integers;
        }
        catch (EndOfStreamException)
        {
            throw new SafetensorsFormatException(source, entry.Name, "the file ended while reading its data (changed while being read?)");
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(source, entry.Name, $"a {entry.DType} value does not fit in int64");
        }
    }

    private static void ReadRaw(Stream stream, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            int n = Math.Min(destination.Length, 1 << 30);
            stream.ReadExactly(destination[..n]);
            destination = destination[n..];
        }
    }

    private delegate void Converter<T>(SafetensorsDType dtype, ReadOnlySpan<byte> source, Span<T> destination);

    private static void ReadConverted<T>(Stream stream, Entry entry, Span<T> destination, Converter<T> convert)
    {
        int size = entry.DType.ByteSize();
        var buffer = new byte[Math.Min(ChunkBytes, Math.Max(size, (int)Math.Min(int.MaxValue, entry.End - entry.Begin)))];
        int perChunk = buffer.Length / size;
        while (destination.Length > 0)
        {
            int n = Math.Min(perChunk, destination.Length);
            var bytes = buffer.AsSpan(0, n * size);
            stream.ReadExactly(bytes);
            convert(entry.DType, bytes, destination[..n]);
            destination = destination[n..];
        }
    }

    private static void ConvertFloats(SafetensorsDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = dtype switch
            {
                SafetensorsDType.F64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]),
                SafetensorsDType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]),
                SafetensorsDType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]) << 16),
                SafetensorsDType.F8E5M2 => (float)BitConverter.UInt16BitsToHalf((ushort)(source[i] << 8)),
                _ => Float8E4M3ToSingle(source[i]),
            };
        }
    }

    /// <summary>float8_e4m3fn: bias 7, no infinities, S.1111.111 is NaN.</summary>
    private static float Float8E4M3ToSingle(byte b)
    {
        int exponent = (b >> 3) & 0xF, mantissa = b & 7;
        float sign = (b & 0x80) != 0 ? -1f : 1f;
        if (exponent == 0xF && mantissa == 7) return float.NaN;
        if (exponent == 0) return sign * mantissa / 8f * MathF.Pow(2, -6);
        return sign * (1 + mantissa / 8f) * MathF.Pow(2, exponent - 7);
    }

    private static void ConvertIntegers(SafetensorsDType dtype, ReadOnlySpan<byte> source, Span<long> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = dtype switch
            {
                SafetensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(source[(4 * i)..]),
                SafetensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(source[(2 * i)..]),
                SafetensorsDType.I8 => (sbyte)source[i],
                SafetensorsDType.U8 => source[i],
                SafetensorsDType.Bool => source[i] != 0 ? 1 : 0,
                SafetensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]),
                SafetensorsDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(source[(4 * i)..]),
                _ => checked((long)BinaryPrimitives.ReadUInt64LittleEndian(source[(8 * i)..])),
            };
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (float32 as F32, int32 as I32, int64 as I64, in the given order) and
    /// <paramref name="metadata"/> to <paramref name="path"/> atomically: a temporary file in the same folder is written
    /// and flushed to disk, then renamed over the target, so readers never see a half-written file.
    /// Equivalent to <c>safetensors.torch.save_file(tensors, path, metadata)</c>.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string target = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(target)!;
        string temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Write(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the safetensors bytes of <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Safetensors data is little-endian; this machine is not.");
        var list = tensors.ToList();
        var names = new HashSet<string>();
        foreach (var (name, tensor) in list)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey) throw new ArgumentException($"'{name}' cannot name a tensor in a safetensors file.", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"Tensor '{name}' is given twice.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, name);
        }

        var header = BuildHeader(list, metadata);
        stream.Write(BitConverter.GetBytes((ulong)header.Length));
        stream.Write(header);
        foreach (var (_, tensor) in list)
        {
            switch (tensor.DType)
            {
                case DType.Float32: stream.Write(MemoryMarshal.AsBytes(tensor.ToArray<float>().AsSpan())); break;
                case DType.Int32: stream.Write(MemoryMarshal.AsBytes(tensor.ToArray<int>().AsSpan())); break;
                default: stream.Write(MemoryMarshal.AsBytes(tensor.ToArray<long>().AsSpan())); break;
            }
        }
    }

    /// <summary>The JSON header, padded with spaces so the data starts at a multiple of 8 bytes.</summary>
    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                var dtype = tensor.DType switch
                {
                    DType.Float32 => SafetensorsDType.F32,
                    DType.Int32 => SafetensorsDType.I32,
                    _ => SafetensorsDType.I64,
                };
                long end = offset + tensor.Numel * dtype.ByteSize();
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype.Name());
                writer.WriteStartArray("shape");
                foreach (int d in tensor.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset = end;
            }
            writer.WriteEndObject();
        }
        int padded = (int)((json.Length + 7) / 8 * 8);
        var header = new byte[padded];
        json.GetBuffer().AsSpan(0, (int)json.Length).CopyTo(header);
        header.AsSpan((int)json.Length).Fill((byte)' ');
        return header;
    }
}

/// <summary>Element types of the safetensors specification.</summary>
internal enum SafetensorsDType { Bool, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 }

internal static class SafetensorsDTypes
{
    private static readonly Dictionary<string, SafetensorsDType> ByName = new()
    {
        ["BOOL"] = SafetensorsDType.Bool, ["U8"] = SafetensorsDType.U8, ["I8"] = SafetensorsDType.I8,
        ["F8_E5M2"] = SafetensorsDType.F8E5M2, ["F8_E4M3"] = SafetensorsDType.F8E4M3,
        ["I16"] = SafetensorsDType.I16, ["U16"] = SafetensorsDType.U16, ["F16"] = SafetensorsDType.F16, ["BF16"] = SafetensorsDType.BF16,
        ["I32"] = SafetensorsDType.I32, ["U32"] = SafetensorsDType.U32, ["F32"] = SafetensorsDType.F32,
        ["F64"] = SafetensorsDType.F64, ["I64"] = SafetensorsDType.I64, ["U64"] = SafetensorsDType.U64,
    };

    public static SafetensorsDType? Parse(string name) => ByName.TryGetValue(name, out var t) ? t : null;

    public static string Name(this SafetensorsDType t) => ByName.First(p => p.Value == t).Key;

    public static int ByteSize(this SafetensorsDType t) => t switch
    {
        SafetensorsDType.Bool or SafetensorsDType.U8 or SafetensorsDType.I8 or SafetensorsDType.F8E5M2 or SafetensorsDType.F8E4M3 => 1,
        SafetensorsDType.I16 or SafetensorsDType.U16 or SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.I32 or SafetensorsDType.U32 or SafetensorsDType.F32 => 4,
        _ => 8,
    };

    public static bool IsFloatingPoint(this SafetensorsDType t) =>
        t is SafetensorsDType.F8E5M2 or SafetensorsDType.F8E4M3 or SafetensorsDType.F16 or SafetensorsDType.BF16
            or SafetensorsDType.F32 or SafetensorsDType.F64;
}
