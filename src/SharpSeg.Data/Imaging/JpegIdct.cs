using System.Runtime.CompilerServices;

namespace SharpSeg.Data;

/// <summary>
/// libjpeg's accurate integer inverse DCT (<c>jidctint.c</c>, <c>JDCT_ISLOW</c>, the default of libjpeg-turbo
/// and therefore of Pillow and OpenCV): 13-bit fixed-point constants, two passes with 2 extra bits of precision
/// in between. Reproducing it exactly keeps decoded samples bit-identical to those libraries.
/// </summary>
internal static class JpegIdct
{
    private const int ConstBits = 13, Pass1Bits = 2;
    private const int Fix0298631336 = 2446, Fix0390180644 = 3196, Fix0541196100 = 4433, Fix0765366865 = 6270;
    private const int Fix0899976223 = 7373, Fix1175875602 = 9633, Fix1501321110 = 12299, Fix1847759065 = 15137;
    private const int Fix1961570560 = 16069, Fix2053119869 = 16819, Fix2562915447 = 20995, Fix3072711026 = 25172;

    /// <summary>Transforms one block of natural-order coefficients into 8×8 samples at <paramref name="output"/>.</summary>
    /// <param name="coefficients">64 quantized coefficients in natural (row-major) order.</param>
    /// <param name="quant">The component's quantization table in natural order.</param>
    /// <param name="output">Receives 8 rows of 8 samples, <paramref name="stride"/> apart.</param>
    /// <param name="stride">Distance between output rows.</param>
    /// <param name="work">64 ints of scratch space between the passes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transform(ReadOnlySpan<short> coefficients, ReadOnlySpan<ushort> quant, Span<byte> output, int stride, Span<int> work)
    {
        coefficients = coefficients[..64];
        quant = quant[..64];
        work = work[..64];
        if (coefficients[1..].IndexOfAnyExcept((short)0) < 0)
        {
            // Only DC: both passes reduce to one descaled value (libjpeg's zero-column and zero-row shortcuts).
            byte flat = RangeLimit(Descale((long)coefficients[0] * quant[0] << Pass1Bits, Pass1Bits + 3));
            for (int row = 0; row < 8; row++)
                output.Slice(row * stride, 8).Fill(flat);
            return;
        }

        for (int col = 0; col < 8; col++)
        {
            if (coefficients[8 + col] == 0 && coefficients[16 + col] == 0 && coefficients[24 + col] == 0 &&
                coefficients[32 + col] == 0 && coefficients[40 + col] == 0 && coefficients[48 + col] == 0 &&
                coefficients[56 + col] == 0)
            {
                int dc = coefficients[col] * quant[col] << Pass1Bits;
                for (int row = 0; row < 8; row++)
                    work[row * 8 + col] = dc;
                continue;
            }

            long z2 = coefficients[16 + col] * quant[16 + col], z3 = coefficients[48 + col] * quant[48 + col];
            long z1 = (z2 + z3) * Fix0541196100;
            long tmp2 = z1 - z3 * Fix1847759065, tmp3 = z1 + z2 * Fix0765366865;
            z2 = coefficients[col] * quant[col];
            z3 = coefficients[32 + col] * quant[32 + col];
            long tmp0 = (z2 + z3) << ConstBits, tmp1 = (z2 - z3) << ConstBits;
            long tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

            tmp0 = coefficients[56 + col] * quant[56 + col];
            tmp1 = coefficients[40 + col] * quant[40 + col];
            tmp2 = coefficients[24 + col] * quant[24 + col];
            tmp3 = coefficients[8 + col] * quant[8 + col];
            OddPart(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            const int shift = ConstBits - Pass1Bits;
            work[col] = Descale(tmp10 + tmp3, shift);
            work[56 + col] = Descale(tmp10 - tmp3, shift);
            work[8 + col] = Descale(tmp11 + tmp2, shift);
            work[48 + col] = Descale(tmp11 - tmp2, shift);
            work[16 + col] = Descale(tmp12 + tmp1, shift);
            work[40 + col] = Descale(tmp12 - tmp1, shift);
            work[24 + col] = Descale(tmp13 + tmp0, shift);
            work[32 + col] = Descale(tmp13 - tmp0, shift);
        }

        for (int row = 0; row < 8; row++)
        {
            var w = work.Slice(row * 8, 8);
            var outRow = output.Slice(row * stride, 8);
            long z2 = w[2], z3 = w[6];
            long z1 = (z2 + z3) * Fix0541196100;
            long tmp2 = z1 - z3 * Fix1847759065, tmp3 = z1 + z2 * Fix0765366865;
            long tmp0 = ((long)w[0] + w[4]) << ConstBits, tmp1 = ((long)w[0] - w[4]) << ConstBits;
            long tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

            tmp0 = w[7];
            tmp1 = w[5];
            tmp2 = w[3];
            tmp3 = w[1];
            OddPart(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            const int shift = ConstBits + Pass1Bits + 3;
            outRow[0] = RangeLimit(Descale(tmp10 + tmp3, shift));
            outRow[7] = RangeLimit(Descale(tmp10 - tmp3, shift));
            outRow[1] = RangeLimit(Descale(tmp11 + tmp2, shift));
            outRow[6] = RangeLimit(Descale(tmp11 - tmp2, shift));
            outRow[2] = RangeLimit(Descale(tmp12 + tmp1, shift));
            outRow[5] = RangeLimit(Descale(tmp12 - tmp1, shift));
            outRow[3] = RangeLimit(Descale(tmp13 + tmp0, shift));
            outRow[4] = RangeLimit(Descale(tmp13 - tmp0, shift));
        }
    }

    private static void OddPart(ref long tmp0, ref long tmp1, ref long tmp2, ref long tmp3)
    {
        long z1 = tmp0 + tmp3, z2 = tmp1 + tmp2, z3 = tmp0 + tmp2, z4 = tmp1 + tmp3;
        long z5 = (z3 + z4) * Fix1175875602;
        tmp0 *= Fix0298631336;
        tmp1 *= Fix2053119869;
        tmp2 *= Fix3072711026;
        tmp3 *= Fix1501321110;
        z1 *= -Fix0899976223;
        z2 *= -Fix2562915447;
        z3 = z3 * -Fix1961570560 + z5;
        z4 = z4 * -Fix0390180644 + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
    }

    private static int Descale(long x, int n) => (int)((x + (1L << (n - 1))) >> n);

    // libjpeg's post-IDCT range-limit table, indexed by the output masked to 10 bits (RANGE_MASK): clamps
    // -512..511 after adding CENTERJSAMPLE and wraps beyond, which only corrupt streams reach.
    private static byte RangeLimit(int value)
    {
        int masked = value & 1023;
        return masked switch
        {
            < 128 => (byte)(masked + 128),
            < 512 => 255,
            < 896 => 0,
            _ => (byte)(masked - 896),
        };
    }
}
