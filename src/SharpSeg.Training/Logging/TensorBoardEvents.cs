using System.Buffers.Binary;
using System.Text;

namespace SharpSeg.Training.Logging;

/// <summary>
/// Hand-written protobuf encoding of the two TensorFlow messages a scalar log needs, and TFRecord framing.
/// <c>tensorflow.Event</c>: wall_time (1, double), step (2, int64), file_version (3, string), summary (5, Summary),
/// session_log (7, SessionLog); <c>tensorflow.Summary</c>: value (1, repeated Value); <c>Summary.Value</c>: tag (1, string),
/// simple_value (2, float); <c>tensorflow.SessionLog</c>: status (1, enum, START = 1).
/// Fields holding proto3 defaults (step 0) are left out, as protobuf serialisers do.
/// </summary>
internal static class TensorBoardEvents
{
    /// <summary>The file_version of the first event in a file, which TensorBoard checks.</summary>
    public const string FileVersion = "brain.Event:2";

    private const int Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5, Varint = 0;
    private const byte SessionLogStart = 1;

    /// <summary>The first event of a file: wall time and <see cref="FileVersion"/>.</summary>
    public static byte[] FileVersionEvent(double wallTime)
    {
        var buffer = new List<byte>();
        WriteDouble(buffer, 1, wallTime);
        WriteBytes(buffer, 3, Encoding.UTF8.GetBytes(FileVersion));
        return [.. buffer];
    }

    /// <summary>
    /// A <c>SessionLog.START</c> event at <paramref name="step"/>: TensorBoard drops every point of the run already read
    /// (earlier files included) whose step is at least <paramref name="step"/>, as after
    /// <c>SummaryWriter(purge_step=step)</c>.
    /// </summary>
    public static byte[] SessionStartEvent(double wallTime, long step)
    {
        var buffer = new List<byte>();
        WriteDouble(buffer, 1, wallTime);
        WriteStep(buffer, step);
        WriteBytes(buffer, 7, [(1 << 3) | Varint, SessionLogStart]);
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
        WriteStep(buffer, step);
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

    private static void WriteStep(List<byte> buffer, long step)
    {
        if (step == 0) return;
        WriteTag(buffer, 2, Varint);
        WriteVarint(buffer, unchecked((ulong)step));
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
