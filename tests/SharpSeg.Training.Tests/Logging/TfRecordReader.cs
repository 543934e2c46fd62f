using System.Buffers.Binary;
using System.Text;

namespace SharpSeg.Training.Tests.Logging;

/// <summary>A TensorBoard event read back by <see cref="TfRecordReader"/>.</summary>
internal sealed record ParsedEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<(string Tag, float Value)> Scalars);

/// <summary>
/// An independent reader of TFRecord files holding <c>tensorflow.Event</c> messages: bitwise CRC-32C, a generic protobuf
/// walker that accepts any field order and skips unknown fields, as TensorBoard's reader does.
/// </summary>
internal static class TfRecordReader
{
    public static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    public static uint ReferenceMask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);

    public static List<byte[]> ReadRecords(byte[] file)
    {
        var records = new List<byte[]>();
        int at = 0;
        while (at < file.Length)
        {
            if (file.Length - at < 12) throw new InvalidDataException($"truncated record header at byte {at}");
            var lengthBytes = file.AsSpan(at, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != ReferenceMask(ReferenceCrc32C(lengthBytes)))
                throw new InvalidDataException($"bad length CRC at byte {at}");
            at += 12;
            if ((ulong)(file.Length - at) < length + 4) throw new InvalidDataException($"truncated record data at byte {at}");
            var data = file.AsSpan(at, (int)length).ToArray();
            at += (int)length;
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) != ReferenceMask(ReferenceCrc32C(data)))
                throw new InvalidDataException($"bad data CRC at byte {at}");
            at += 4;
            records.Add(data);
        }
        return records;
    }

    public static List<ParsedEvent> ReadEvents(string path)
    {
        // Share with the writer: TensorBoard reads event files while training still appends to them.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return ReadRecords(bytes).Select(ParseEvent).ToList();
    }

    public static ParsedEvent ParseEvent(byte[] data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<(string, float)>();
        foreach (var (field, wire, value, bytes) in Fields(data))
        {
            switch (field, wire)
            {
                case (1, 1): wallTime = BitConverter.UInt64BitsToDouble(value); break;
                case (2, 0): step = unchecked((long)value); break;
                case (3, 2): fileVersion = Encoding.UTF8.GetString(bytes!); break;
                case (5, 2):
                    foreach (var (summaryField, summaryWire, _, valueBytes) in Fields(bytes!))
                        if (summaryField == 1 && summaryWire == 2) scalars.Add(ParseValue(valueBytes!));
                    break;
            }
        }
        return new ParsedEvent(wallTime, step, fileVersion, scalars);
    }

    private static (string, float) ParseValue(byte[] data)
    {
        string tag = "";
        float value = float.NaN;
        foreach (var (field, wire, raw, bytes) in Fields(data))
        {
            if (field == 1 && wire == 2) tag = Encoding.UTF8.GetString(bytes!);
            if (field == 2 && wire == 5) value = BitConverter.UInt32BitsToSingle((uint)raw);
        }
        return (tag, value);
    }

    private static IEnumerable<(int Field, int Wire, ulong Value, byte[]? Bytes)> Fields(byte[] data)
    {
        int at = 0;
        while (at < data.Length)
        {
            ulong key = Varint(data, ref at);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0:
                    yield return (field, wire, Varint(data, ref at), null);
                    break;
                case 1:
                    yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(at, 8)), null);
                    at += 8;
                    break;
                case 2:
                    int length = (int)Varint(data, ref at);
                    yield return (field, wire, 0, data.AsSpan(at, length).ToArray());
                    at += length;
                    break;
                case 5:
                    yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at, 4)), null);
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire} at byte {at}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[at++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
    }
}
