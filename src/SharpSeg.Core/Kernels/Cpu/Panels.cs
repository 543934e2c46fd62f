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
            for (; r0 + 16 <= rows; r0 += 16)
            {
                int c0 = 0;
                for (; c0 + 16 <= cols; c0 += 16)
                    Transpose16x16(src + r0 * srcLd + c0, srcLd, dst + c0 * dstLd + r0, dstLd);
                for (; c0 < cols; c0++)
                    for (int r = r0; r < r0 + 16; r++) dst[c0 * dstLd + r] = src[r * srcLd + c0];
            }
        }
        for (; r0 < rows; r0++)
            for (int c = 0; c < cols; c++) dst[c * dstLd + r0] = src[r0 * srcLd + c];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16x16(float* src, long srcLd, float* dst, long dstLd)
    {
        var v0 = Vector512.Load(src + 0 * srcLd);
        var v1 = Vector512.Load(src + 1 * srcLd);
        var v2 = Vector512.Load(src + 2 * srcLd);
        var v3 = Vector512.Load(src + 3 * srcLd);
        var v4 = Vector512.Load(src + 4 * srcLd);
        var v5 = Vector512.Load(src + 5 * srcLd);
        var v6 = Vector512.Load(src + 6 * srcLd);
        var v7 = Vector512.Load(src + 7 * srcLd);
        var v8 = Vector512.Load(src + 8 * srcLd);
        var v9 = Vector512.Load(src + 9 * srcLd);
        var v10 = Vector512.Load(src + 10 * srcLd);
        var v11 = Vector512.Load(src + 11 * srcLd);
        var v12 = Vector512.Load(src + 12 * srcLd);
        var v13 = Vector512.Load(src + 13 * srcLd);
        var v14 = Vector512.Load(src + 14 * srcLd);
        var v15 = Vector512.Load(src + 15 * srcLd);
        (v0, v8) = (Avx512F.PermuteVar16x32x2(v0, Lo8, v8), Avx512F.PermuteVar16x32x2(v0, Hi8, v8));
        (v1, v9) = (Avx512F.PermuteVar16x32x2(v1, Lo8, v9), Avx512F.PermuteVar16x32x2(v1, Hi8, v9));
        (v2, v10) = (Avx512F.PermuteVar16x32x2(v2, Lo8, v10), Avx512F.PermuteVar16x32x2(v2, Hi8, v10));
        (v3, v11) = (Avx512F.PermuteVar16x32x2(v3, Lo8, v11), Avx512F.PermuteVar16x32x2(v3, Hi8, v11));
        (v4, v12) = (Avx512F.PermuteVar16x32x2(v4, Lo8, v12), Avx512F.PermuteVar16x32x2(v4, Hi8, v12));
        (v5, v13) = (Avx512F.PermuteVar16x32x2(v5, Lo8, v13), Avx512F.PermuteVar16x32x2(v5, Hi8, v13));
        (v6, v14) = (Avx512F.PermuteVar16x32x2(v6, Lo8, v14), Avx512F.PermuteVar16x32x2(v6, Hi8, v14));
        (v7, v15) = (Avx512F.PermuteVar16x32x2(v7, Lo8, v15), Avx512F.PermuteVar16x32x2(v7, Hi8, v15));
        (v0, v4) = (Avx512F.PermuteVar16x32x2(v0, Lo4, v4), Avx512F.PermuteVar16x32x2(v0, Hi4, v4));
        (v1, v5) = (Avx512F.PermuteVar16x32x2(v1, Lo4, v5), Avx512F.PermuteVar16x32x2(v1, Hi4, v5));
        (v2, v6) = (Avx512F.PermuteVar16x32x2(v2, Lo4, v6), Avx512F.PermuteVar16x32x2(v2, Hi4, v6));
        (v3, v7) = (Avx512F.PermuteVar16x32x2(v3, Lo4, v7), Avx512F.PermuteVar16x32x2(v3, Hi4, v7));
        (v8, v12) = (Avx512F.PermuteVar16x32x2(v8, Lo4, v12), Avx512F.PermuteVar16x32x2(v8, Hi4, v12));
        (v9, v13) = (Avx512F.PermuteVar16x32x2(v9, Lo4, v13), Avx512F.PermuteVar16x32x2(v9, Hi4, v13));
        (v10, v14) = (Avx512F.PermuteVar16x32x2(v10, Lo4, v14), Avx512F.PermuteVar16x32x2(v10, Hi4, v14));
        (v11, v15) = (Avx512F.PermuteVar16x32x2(v11, Lo4, v15), Avx512F.PermuteVar16x32x2(v11, Hi4, v15));
        (v0, v2) = (Avx512F.PermuteVar16x32x2(v0, Lo2, v2), Avx512F.PermuteVar16x32x2(v0, Hi2, v2));
        (v1, v3) = (Avx512F.PermuteVar16x32x2(v1, Lo2, v3), Avx512F.PermuteVar16x32x2(v1, Hi2, v3));
        (v4, v6) = (Avx512F.PermuteVar16x32x2(v4, Lo2, v6), Avx512F.PermuteVar16x32x2(v4, Hi2, v6));
        (v5, v7) = (Avx512F.PermuteVar16x32x2(v5, Lo2, v7), Avx512F.PermuteVar16x32x2(v5, Hi2, v7));
        (v8, v10) = (Avx512F.PermuteVar16x32x2(v8, Lo2, v10), Avx512F.PermuteVar16x32x2(v8, Hi2, v10));
        (v9, v11) = (Avx512F.PermuteVar16x32x2(v9, Lo2, v11), Avx512F.PermuteVar16x32x2(v9, Hi2, v11));
        (v12, v14) = (Avx512F.PermuteVar16x32x2(v12, Lo2, v14), Avx512F.PermuteVar16x32x2(v12, Hi2, v14));
        (v13, v15) = (Avx512F.PermuteVar16x32x2(v13, Lo2, v15), Avx512F.PermuteVar16x32x2(v13, Hi2, v15));
        (v0, v1) = (Avx512F.PermuteVar16x32x2(v0, Lo1, v1), Avx512F.PermuteVar16x32x2(v0, Hi1, v1));
        (v2, v3) = (Avx512F.PermuteVar16x32x2(v2, Lo1, v3), Avx512F.PermuteVar16x32x2(v2, Hi1, v3));
        (v4, v5) = (Avx512F.PermuteVar16x32x2(v4, Lo1, v5), Avx512F.PermuteVar16x32x2(v4, Hi1, v5));
        (v6, v7) = (Avx512F.PermuteVar16x32x2(v6, Lo1, v7), Avx512F.PermuteVar16x32x2(v6, Hi1, v7));
        (v8, v9) = (Avx512F.PermuteVar16x32x2(v8, Lo1, v9), Avx512F.PermuteVar16x32x2(v8, Hi1, v9));
        (v10, v11) = (Avx512F.PermuteVar16x32x2(v10, Lo1, v11), Avx512F.PermuteVar16x32x2(v10, Hi1, v11));
        (v12, v13) = (Avx512F.PermuteVar16x32x2(v12, Lo1, v13), Avx512F.PermuteVar16x32x2(v12, Hi1, v13));
        (v14, v15) = (Avx512F.PermuteVar16x32x2(v14, Lo1, v15), Avx512F.PermuteVar16x32x2(v14, Hi1, v15));
        v0.Store(dst + 0 * dstLd);
        v1.Store(dst + 1 * dstLd);
        v2.Store(dst + 2 * dstLd);
        v3.Store(dst + 3 * dstLd);
        v4.Store(dst + 4 * dstLd);
        v5.Store(dst + 5 * dstLd);
        v6.Store(dst + 6 * dstLd);
        v7.Store(dst + 7 * dstLd);
        v8.Store(dst + 8 * dstLd);
        v9.Store(dst + 9 * dstLd);
        v10.Store(dst + 10 * dstLd);
        v11.Store(dst + 11 * dstLd);
        v12.Store(dst + 12 * dstLd);
        v13.Store(dst + 13 * dstLd);
        v14.Store(dst + 14 * dstLd);
        v15.Store(dst + 15 * dstLd);
    }

    /// <summary>
    /// dst[j · dstLd + i] = (basePointer + rowOffsets[i])[j] for i &lt; 16, j &lt; 16: sixteen rows read in place and transposed
    /// in registers (sixteen named vectors, so the JIT keeps them out of memory); rows from <paramref name="validRows"/> on are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatherTransposed16(float* basePointer, long* rowOffsets, int validRows, float* dst, long dstLd)
    {
        var v0 = 0 < validRows ? Vector512.Load(basePointer + rowOffsets[0]) : Vector512<float>.Zero;
        var v1 = 1 < validRows ? Vector512.Load(basePointer + rowOffsets[1]) : Vector512<float>.Zero;
        var v2 = 2 < validRows ? Vector512.Load(basePointer + rowOffsets[2]) : Vector512<float>.Zero;
        var v3 = 3 < validRows ? Vector512.Load(basePointer + rowOffsets[3]) : Vector512<float>.Zero;
        var v4 = 4 < validRows ? Vector512.Load(basePointer + rowOffsets[4]) : Vector512<float>.Zero;
        var v5 = 5 < validRows ? Vector512.Load(basePointer + rowOffsets[5]) : Vector512<float>.Zero;
        var v6 = 6 < validRows ? Vector512.Load(basePointer + rowOffsets[6]) : Vector512<float>.Zero;
        var v7 = 7 < validRows ? Vector512.Load(basePointer + rowOffsets[7]) : Vector512<float>.Zero;
        var v8 = 8 < validRows ? Vector512.Load(basePointer + rowOffsets[8]) : Vector512<float>.Zero;
        var v9 = 9 < validRows ? Vector512.Load(basePointer + rowOffsets[9]) : Vector512<float>.Zero;
        var v10 = 10 < validRows ? Vector512.Load(basePointer + rowOffsets[10]) : Vector512<float>.Zero;
        var v11 = 11 < validRows ? Vector512.Load(basePointer + rowOffsets[11]) : Vector512<float>.Zero;
        var v12 = 12 < validRows ? Vector512.Load(basePointer + rowOffsets[12]) : Vector512<float>.Zero;
        var v13 = 13 < validRows ? Vector512.Load(basePointer + rowOffsets[13]) : Vector512<float>.Zero;
        var v14 = 14 < validRows ? Vector512.Load(basePointer + rowOffsets[14]) : Vector512<float>.Zero;
        var v15 = 15 < validRows ? Vector512.Load(basePointer + rowOffsets[15]) : Vector512<float>.Zero;
        (v0, v8) = (Avx512F.PermuteVar16x32x2(v0, Lo8, v8), Avx512F.PermuteVar16x32x2(v0, Hi8, v8));
        (v1, v9) = (Avx512F.PermuteVar16x32x2(v1, Lo8, v9), Avx512F.PermuteVar16x32x2(v1, Hi8, v9));
        (v2, v10) = (Avx512F.PermuteVar16x32x2(v2, Lo8, v10), Avx512F.PermuteVar16x32x2(v2, Hi8, v10));
        (v3, v11) = (Avx512F.PermuteVar16x32x2(v3, Lo8, v11), Avx512F.PermuteVar16x32x2(v3, Hi8, v11));
        (v4, v12) = (Avx512F.PermuteVar16x32x2(v4, Lo8, v12), Avx512F.PermuteVar16x32x2(v4, Hi8, v12));
        (v5, v13) = (Avx512F.PermuteVar16x32x2(v5, Lo8, v13), Avx512F.PermuteVar16x32x2(v5, Hi8, v13));
        (v6, v14) = (Avx512F.PermuteVar16x32x2(v6, Lo8, v14), Avx512F.PermuteVar16x32x2(v6, Hi8, v14));
        (v7, v15) = (Avx512F.PermuteVar16x32x2(v7, Lo8, v15), Avx512F.PermuteVar16x32x2(v7, Hi8, v15));
        (v0, v4) = (Avx512F.PermuteVar16x32x2(v0, Lo4, v4), Avx512F.PermuteVar16x32x2(v0, Hi4, v4));
        (v1, v5) = (Avx512F.PermuteVar16x32x2(v1, Lo4, v5), Avx512F.PermuteVar16x32x2(v1, Hi4, v5));
        (v2, v6) = (Avx512F.PermuteVar16x32x2(v2, Lo4, v6), Avx512F.PermuteVar16x32x2(v2, Hi4, v6));
        (v3, v7) = (Avx512F.PermuteVar16x32x2(v3, Lo4, v7), Avx512F.PermuteVar16x32x2(v3, Hi4, v7));
        (v8, v12) = (Avx512F.PermuteVar16x32x2(v8, Lo4, v12), Avx512F.PermuteVar16x32x2(v8, Hi4, v12));
        (v9, v13) = (Avx512F.PermuteVar16x32x2(v9, Lo4, v13), Avx512F.PermuteVar16x32x2(v9, Hi4, v13));
        (v10, v14) = (Avx512F.PermuteVar16x32x2(v10, Lo4, v14), Avx512F.PermuteVar16x32x2(v10, Hi4, v14));
        (v11, v15) = (Avx512F.PermuteVar16x32x2(v11, Lo4, v15), Avx512F.PermuteVar16x32x2(v11, Hi4, v15));
        (v0, v2) = (Avx512F.PermuteVar16x32x2(v0, Lo2, v2), Avx512F.PermuteVar16x32x2(v0, Hi2, v2));
        (v1, v3) = (Avx512F.PermuteVar16x32x2(v1, Lo2, v3), Avx512F.PermuteVar16x32x2(v1, Hi2, v3));
        (v4, v6) = (Avx512F.PermuteVar16x32x2(v4, Lo2, v6), Avx512F.PermuteVar16x32x2(v4, Hi2, v6));
        (v5, v7) = (Avx512F.PermuteVar16x32x2(v5, Lo2, v7), Avx512F.PermuteVar16x32x2(v5, Hi2, v7));
        (v8, v10) = (Avx512F.PermuteVar16x32x2(v8, Lo2, v10), Avx512F.PermuteVar16x32x2(v8, Hi2, v10));
        (v9, v11) = (Avx512F.PermuteVar16x32x2(v9, Lo2, v11), Avx512F.PermuteVar16x32x2(v9, Hi2, v11));
        (v12, v14) = (Avx512F.PermuteVar16x32x2(v12, Lo2, v14), Avx512F.PermuteVar16x32x2(v12, Hi2, v14));
        (v13, v15) = (Avx512F.PermuteVar16x32x2(v13, Lo2, v15), Avx512F.PermuteVar16x32x2(v13, Hi2, v15));
        (v0, v1) = (Avx512F.PermuteVar16x32x2(v0, Lo1, v1), Avx512F.PermuteVar16x32x2(v0, Hi1, v1));
        (v2, v3) = (Avx512F.PermuteVar16x32x2(v2, Lo1, v3), Avx512F.PermuteVar16x32x2(v2, Hi1, v3));
        (v4, v5) = (Avx512F.PermuteVar16x32x2(v4, Lo1, v5), Avx512F.PermuteVar16x32x2(v4, Hi1, v5));
        (v6, v7) = (Avx512F.PermuteVar16x32x2(v6, Lo1, v7), Avx512F.PermuteVar16x32x2(v6, Hi1, v7));
        (v8, v9) = (Avx512F.PermuteVar16x32x2(v8, Lo1, v9), Avx512F.PermuteVar16x32x2(v8, Hi1, v9));
        (v10, v11) = (Avx512F.PermuteVar16x32x2(v10, Lo1, v11), Avx512F.PermuteVar16x32x2(v10, Hi1, v11));
        (v12, v13) = (Avx512F.PermuteVar16x32x2(v12, Lo1, v13), Avx512F.PermuteVar16x32x2(v12, Hi1, v13));
        (v14, v15) = (Avx512F.PermuteVar16x32x2(v14, Lo1, v15), Avx512F.PermuteVar16x32x2(v14, Hi1, v15));
        v0.Store(dst + 0 * dstLd);
        v1.Store(dst + 1 * dstLd);
        v2.Store(dst + 2 * dstLd);
        v3.Store(dst + 3 * dstLd);
        v4.Store(dst + 4 * dstLd);
        v5.Store(dst + 5 * dstLd);
        v6.Store(dst + 6 * dstLd);
        v7.Store(dst + 7 * dstLd);
        v8.Store(dst + 8 * dstLd);
        v9.Store(dst + 9 * dstLd);
        v10.Store(dst + 10 * dstLd);
        v11.Store(dst + 11 * dstLd);
        v12.Store(dst + 12 * dstLd);
        v13.Store(dst + 13 * dstLd);
        v14.Store(dst + 14 * dstLd);
        v15.Store(dst + 15 * dstLd);
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
