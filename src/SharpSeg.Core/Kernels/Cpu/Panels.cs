using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Building blocks of B panels: transposes, and the rows of the im2col matrix of one tile of a convolution
/// (contiguous row copies for stride 1, so no scalar transpose on the forward and input-gradient paths).
/// </summary>
internal static unsafe class Panels
{
    // Index vectors of the 16 × 16 in-register transpose: stage b swaps bit b of the row index with bit b of the lane index.
    private static readonly Vector512<int> Lo8 = Stage(8, false), Hi8 = Stage(8, true);
    private static readonly Vector512<int> Lo4 = Stage(4, false), Hi4 = Stage(4, true);
    private static readonly Vector512<int> Lo2 = Stage(2, false), Hi2 = Stage(2, true);
    private static readonly Vector512<int> Lo1 = Stage(1, false), Hi1 = Stage(1, true);

    private static Vector512<int> Stage(int b, bool high)
    {
        var lanes = new int[16];
        for (int j = 0; j < 16; j++)
            lanes[j] = (j & b) == 0 ? (high ? j + b : j) : (high ? 16 + j : 16 + j - b);
        return Vector512.Create(lanes);
    }

    /// <summary>dst[c · dstLd + r] = src[r · srcLd + c] for r &lt; rows, c &lt; cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(SimdLevel level, float* src, long srcLd, int rows, int cols, float* dst, long dstLd)
    {
        int r0 = 0;
        if (level == SimdLevel.Vector512)
        {
            Vector512<float>* v = stackalloc Vector512<float>[16];
            for (; r0 + 16 <= rows; r0 += 16)
            {
                int c0 = 0;
                for (; c0 + 16 <= cols; c0 += 16)
                    Transpose16x16(src + r0 * srcLd + c0, srcLd, dst + c0 * dstLd + r0, dstLd, v);
                for (; c0 < cols; c0++)
                    for (int r = r0; r < r0 + 16; r++) dst[c0 * dstLd + r] = src[r * srcLd + c0];
            }
        }
        for (; r0 < rows; r0++)
            for (int c = 0; c < cols; c++) dst[c * dstLd + r0] = src[r0 * srcLd + c];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16x16(float* src, long srcLd, float* dst, long dstLd, Vector512<float>* v)
    {
        for (int i = 0; i < 16; i++) v[i] = Vector512.Load(src + i * srcLd);
        TransposeStage(v, 8, Lo8, Hi8);
        TransposeStage(v, 4, Lo4, Hi4);
        TransposeStage(v, 2, Lo2, Hi2);
        TransposeStage(v, 1, Lo1, Hi1);
        for (int i = 0; i < 16; i++) v[i].Store(dst + i * dstLd);
    }

    /// <summary>
    /// dst[j · dstLd + i] = (basePointer + rowOffsets[i])[j] for i &lt; 16, j &lt; 16: sixteen rows read in place and transposed
    /// in registers; rows from <paramref name="validRows"/> on are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GatherTransposed16(float* basePointer, long* rowOffsets, int validRows, float* dst, long dstLd, Vector512<float>* v)
    {
        for (int i = 0; i < 16; i++) v[i] = i < validRows ? Vector512.Load(basePointer + rowOffsets[i]) : Vector512<float>.Zero;
        TransposeStage(v, 8, Lo8, Hi8);
        TransposeStage(v, 4, Lo4, Hi4);
        TransposeStage(v, 2, Lo2, Hi2);
        TransposeStage(v, 1, Lo1, Hi1);
        for (int i = 0; i < 16; i++) v[i].Store(dst + i * dstLd);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeStage(Vector512<float>* v, int b, Vector512<int> lo, Vector512<int> hi)
    {
        for (int i = 0; i < 16; i++)
        {
            if ((i & b) != 0) continue;
            var x = v[i];
            var y = v[i + b];
            v[i] = Avx512F.PermuteVar16x32x2(x, lo, y);
            v[i + b] = Avx512F.PermuteVar16x32x2(x, hi, y);
        }
    }

    /// <summary>
    /// Rows [k0, k0 + kc) of the im2col matrix of one image: row k = (ci, ky, kx) over the channels of one group
    /// starting at <paramref name="xGroup"/>, columns = output pixels [p0, p0 + np) in row-major order.
    /// Row r goes to dst + r · ld.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardRows(SimdLevel level, in Conv2dGeometry g, float* xGroup, int k0, int kc, int p0, int np, float* dst, int ld)
    {
        int outW = g.OutW, inH = g.InH, inW = g.InW, kernelW = g.KernelW, taps = g.KernelH * kernelW;
        int strideH = g.StrideH, strideW = g.StrideW, dilH = g.DilationH, dilW = g.DilationW;
        long plane = (long)inH * inW;
        int ci = k0 / taps, t = k0 % taps, ky = t / kernelW, kx = t % kernelW;
        int oyStart = p0 / outW, oxStart = p0 % outW;
        for (int r = 0; r < kc; r++)
        {
            float* d = dst + (long)r * ld;
            float* xc = xGroup + ci * plane;
            int oy = oyStart, ox = oxStart, done = 0;
            int rowOffset = ky * dilH - g.PadH, colOffset = kx * dilW - g.PadW;
            while (done < np)
            {
                int len = Math.Min(outW - ox, np - done);
                int iy = oy * strideH + rowOffset;
                if ((uint)iy >= (uint)inH)
                    Zero(d + done, len);
                else
                    GatherRow(level, xc + (long)iy * inW, inW, ox * strideW + colOffset, strideW, d + done, len);
                done += len;
                ox = 0;
                oy++;
            }
            if (++kx == kernelW)
            {
                kx = 0;
                if (++ky == g.KernelH)
                {
                    ky = 0;
                    ci++;
                }
            }
        }
    }

    /// <summary>
    /// Rows [k0, k0 + kc) of the transposed-convolution matrix of one image (the input gradient as a GEMM over
    /// dy): row k = (co, ky, kx) over the output channels of one group starting at <paramref name="dyGroup"/>, columns =
    /// input pixels [p0, p0 + np); entry = dy[co, (iy + padH − ky·dilH) / strideH, …] where that divides exactly, else 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInputRows(in Conv2dGeometry g, float* dyGroup, int k0, int kc, int p0, int np, float* dst, int ld)
    {
        int outH = g.OutH, outW = g.OutW, inW = g.InW, kernelW = g.KernelW, taps = g.KernelH * kernelW;
        int strideH = g.StrideH, strideW = g.StrideW;
        long plane = (long)outH * outW;
        int co = k0 / taps, t = k0 % taps, ky = t / kernelW, kx = t % kernelW;
        int iyStart = p0 / inW, ixStart = p0 % inW;
        for (int r = 0; r < kc; r++)
        {
            float* d = dst + (long)r * ld;
            float* dyc = dyGroup + co * plane;
            int iy = iyStart, ix = ixStart, done = 0;
            int rowOffset = g.PadH - ky * g.DilationH, colOffset = g.PadW - kx * g.DilationW;
            while (done < np)
            {
                int len = Math.Min(inW - ix, np - done);
                int oyScaled = iy + rowOffset;
                int oy = oyScaled / strideH;
                if (oyScaled < 0 || oy * strideH != oyScaled || oy >= outH)
                    Zero(d + done, len);
                else if (strideW == 1)
                    GatherRow(SimdLevel.Scalar, dyc + (long)oy * outW, outW, ix + colOffset, 1, d + done, len);
                else
                    ScatterStridedRow(dyc + (long)oy * outW, outW, ix + colOffset, strideW, d + done, len);
                done += len;
                ix = 0;
                iy++;
            }
            if (++kx == kernelW)
            {
                kx = 0;
                if (++ky == g.KernelH)
                {
                    ky = 0;
                    co++;
                }
            }
        }
    }

    /// <summary>Copies an h × w plane into the interior of a zero-bordered (h + 2·padH) × (w + 2·padW) plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PadPlane(float* plane, int h, int w, int padH, int padW, float* padded)
    {
        int pitch = w + 2 * padW;
        Panels.Zero(padded, padH * pitch);
        for (int iy = 0; iy < h; iy++)
        {
            float* row = padded + (long)(iy + padH) * pitch;
            float* src = plane + (long)iy * w;
            for (int i = 0; i < padW; i++) row[i] = 0f;
            row += padW;
            int j = 0;
            for (; j + 8 <= w; j += 8) Vector256.Store(Vector256.Load(src + j), row + j);
            for (; j < w; j++) row[j] = src[j];
            for (int i = 0; i < padW; i++) row[w + i] = 0f;
        }
        Panels.Zero(padded + (long)(h + padH) * pitch, padH * pitch);
    }

    /// <summary>d[j] = row[start + j·stride] where that index is inside [0, width), else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherRow(SimdLevel level, float* row, int width, int start, int stride, float* d, int len)
    {
        if (stride == 1)
        {
            int lo = Math.Clamp(-start, 0, len), hi = Math.Clamp(width - start, lo, len);
            Zero(d, lo);
            Copy(row + start + lo, d + lo, hi - lo);
            Zero(d + hi, len - hi);
            return;
        }
        int j = 0;
        if (stride == 2 && level == SimdLevel.Vector512)
        {
            // Even lanes of two vectors: 16 outputs per permute while all 32 source floats are inside the row.
            while (j < len && start + j * 2 < 0)
            {
                d[j] = 0f;
                j++;
            }
            for (; j + 16 <= len && start + j * 2 + 32 <= width; j += 16)
            {
                float* s = row + start + j * 2;
                Avx512F.PermuteVar16x32x2(Vector512.Load(s), EvenLanes, Vector512.Load(s + 16)).Store(d + j);
            }
        }
        for (; j < len; j++)
        {
            int i = start + j * stride;
            d[j] = (uint)i < (uint)width ? row[i] : 0f;
        }
    }

    private static readonly Vector512<int> EvenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);

    /// <summary>d[j] = row[(start + j) / stride] where start + j is a non-negative multiple of stride inside the row, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScatterStridedRow(float* row, int width, int start, int stride, float* d, int len)
    {
        for (int j = 0; j < len; j++)
        {
            int scaled = start + j;
            int i = scaled / stride;
            d[j] = scaled >= 0 && i * stride == scaled && i < width ? row[i] : 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero(float* d, int n)
    {
        if (n > 16)
        {
            new Span<float>(d, n).Clear();
            return;
        }
        for (int i = 0; i < n; i++) d[i] = 0f;
    }

    /// <summary>Copies n floats; short runs (panel rows) inline with vector moves instead of calling memmove.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* d, int n)
    {
        if (n > 64)
        {
            Buffer.MemoryCopy(src, d, (long)n * sizeof(float), (long)n * sizeof(float));
            return;
        }
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), d + i);
        for (; i < n; i++) d[i] = src[i];
    }
}
