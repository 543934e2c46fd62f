using System.Buffers.Binary;
using System.Numerics;

namespace SharpSeg.Training.Logging;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of TFRecord framing, and TensorFlow's masked form of it. Equivalent to
/// <c>tensorflow/core/lib/hash/crc32c.h</c> (<c>crc32c::Value</c>, <c>crc32c::Mask</c>).
/// </summary>
internal static class Crc32C
{
    private const uint MaskDelta = 0xa282ead8;

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    // TFRecord stores CRCs rotated and offset because a CRC over data that itself contains CRCs is weak.
    /// <summary>TensorFlow's masked CRC: rotate right by 15 bits, then add 0xa282ead8.</summary>
    public static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + MaskDelta);

    /// <summary>The masked CRC-32C of <paramref name="data"/>.</summary>
    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
