using System.Buffers.Binary;
using System.Text;

namespace SharpSeg.Training.Logging;

/// <summary>
/// Hand-written protobuf encoding of the two TensorFlow messages a scalar log needs, and TFRecord framing.
/// <c>tensorflow.Event</c>: wall_time (1, double), step (2, int64), file_version (3, string), summary (5, Summary);
/// <c>tensorflow.Summary</c>: value (1, repeated Value); <c>Summary.Value</c>: tag (1, string), simple_value (2, float).
/// Fields holding proto3 defaults (step 0) are left out, as protobuf serialisers do.
/// </summary>
internal static class TensorBoardEvents
{
    /// <summary>The file_version of the first event in a file, which TensorBoard checks.</summary>
    public const string FileVersion = "brain.Event:2";

    private const int Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5, Varint = 0;

    /// <summary>The first event of a file: wall time and <see cref="FileVersion"/>.</summary>
    public static byte[] FileVersionEvent(double wallTime)
    {
        var buffer = new List<byte>();
        WriteDouble(buffer, 1, wallTime);
        WriteBytes(buffer, 3, Encoding.UTF8.GetBytes(FileVersion));
        return [.. buffer];
    }

    /// <summary>An event with one scalar summary value.</summary>
    public static byte[] ScalarEvent(double wallTime, long step, string tag, float value)
    {
        var summaryValue = new List<byte>();
        WriteBytes(summaryValue, 1, Encoding.UTF8.GetBytes(tag));
        WriteTag(summaryValue, 2, Fixed32);
        Span<byte> single = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(single, value);
        summaryValue.AddRange(single);

        var summary = new List<byte>();
        WriteBytes(summary, 1, [.. summaryValue]);

        var buffer = new List<byte>();
        WriteDouble(buffer, 1, wallTime);
        if (step != 0)
        {
            WriteTag(buffer, 2, Varint);
            WriteVarint(buffer, unchecked((ulong)step));
        }
        WriteBytes(buffer, 5, [.. summary]);
        return [.. buffer];
    }

    /// <summary>
    /// One TFRecord: length (uint64 LE), masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data.
    /// Equivalent to <c>tensorflow::io::RecordWriter::WriteRecord</c>.
    /// </summary>
    public static byte[] Record(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.Masked(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), Crc32C.Masked(data));
        return record;
    }

    private static void WriteDouble(List<byte> buffer, int field, double value)
    {
        WriteTag(buffer, field, Fixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        buffer.AddRange(bytes);
    }

    private static void WriteBytes(List<byte> buffer, int field, byte[] bytes)
    {
        WriteTag(buffer, field, LengthDelimited);
        WriteVarint(buffer, (ulong)bytes.Length);
        buffer.AddRange(bytes);
    }

    private static void WriteTag(List<byte> buffer, int field, int wireType) => WriteVarint(buffer, (ulong)((field << 3) | wireType));

    private static void WriteVarint(List<byte> buffer, ulong value)
    {
        while (value >= 0x80)
        {
            buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }
        buffer.Add((byte)value);
    }
}
