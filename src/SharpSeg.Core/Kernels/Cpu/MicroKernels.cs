using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeg.Kernels.Cpu;

/// <summary>How a micro-kernel initialises its accumulator tile before the k loop.</summary>
internal enum TileStart
{
    /// <summary>Start from zero (overwrite C).</summary>
    Zero,

    /// <summary>Start from the current C (accumulate, or a later k block).</summary>
    Accumulate,

    /// <summary>Start every row r from rowInit[r] (the bias of an output channel).</summary>
    RowValues,
}

/// <summary>
/// GEMM micro-kernels: C[6 × width] (=|+=) Σ_k Apanel[k][0..6) ⊗ Bpanel[k][0..width). A panels hold 6 values per k
/// (one per row), B panels <c>width</c> values per k; both were packed by <see cref="GemmDriver"/>. Each kernel keeps the
/// whole C tile in registers: no calls inside the k loop, so the JIT never spills the accumulators.
/// </summary>
internal static unsafe class MicroKernels
{
    /// <summary>Rows of A broadcast per k step (MR).</summary>
    public const int Rows = 6;

    /// <summary>6 × 64 tile: 24 Vector512 accumulators (AVX-512F).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x64Avx512(int kc, float* a, float* b, float* c, int ldc, TileStart start, float* rowInit)
    {
        Vector512<float> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (start == TileStart.Accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0); c01 = Vector512.Load(c + 0 * ldc + 16); c02 = Vector512.Load(c + 0 * ldc + 32); c03 = Vector512.Load(c + 0 * ldc + 48);
            c10 = Vector512.Load(c + 1 * ldc + 0); c11 = Vector512.Load(c + 1 * ldc + 16); c12 = Vector512.Load(c + 1 * ldc + 32); c13 = Vector512.Load(c + 1 * ldc + 48);
            c20 = Vector512.Load(c + 2 * ldc + 0); c21 = Vector512.Load(c + 2 * ldc + 16); c22 = Vector512.Load(c + 2 * ldc + 32); c23 = Vector512.Load(c + 2 * ldc + 48);
            c30 = Vector512.Load(c + 3 * ldc + 0); c31 = Vector512.Load(c + 3 * ldc + 16); c32 = Vector512.Load(c + 3 * ldc + 32); c33 = Vector512.Load(c + 3 * ldc + 48);
            c40 = Vector512.Load(c + 4 * ldc + 0); c41 = Vector512.Load(c + 4 * ldc + 16); c42 = Vector512.Load(c + 4 * ldc + 32); c43 = Vector512.Load(c + 4 * ldc + 48);
            c50 = Vector512.Load(c + 5 * ldc + 0); c51 = Vector512.Load(c + 5 * ldc + 16); c52 = Vector512.Load(c + 5 * ldc + 32); c53 = Vector512.Load(c + 5 * ldc + 48);
        }
        else if (start == TileStart.RowValues)
        {
            c00 = Vector512.Create(rowInit[0]); c01 = c00; c02 = c00; c03 = c00;
            c10 = Vector512.Create(rowInit[1]); c11 = c10; c12 = c10; c13 = c10;
            c20 = Vector512.Create(rowInit[2]); c21 = c20; c22 = c20; c23 = c20;
            c30 = Vector512.Create(rowInit[3]); c31 = c30; c32 = c30; c33 = c30;
            c40 = Vector512.Create(rowInit[4]); c41 = c40; c42 = c40; c43 = c40;
            c50 = Vector512.Create(rowInit[5]); c51 = c50; c52 = c50; c53 = c50;
        }
        else
        {
            c00 = Vector512<float>.Zero; c01 = Vector512<float>.Zero; c02 = Vector512<float>.Zero; c03 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero; c11 = Vector512<float>.Zero; c12 = Vector512<float>.Zero; c13 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero; c21 = Vector512<float>.Zero; c22 = Vector512<float>.Zero; c23 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero; c31 = Vector512<float>.Zero; c32 = Vector512<float>.Zero; c33 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero; c41 = Vector512<float>.Zero; c42 = Vector512<float>.Zero; c43 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero; c51 = Vector512<float>.Zero; c52 = Vector512<float>.Zero; c53 = Vector512<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var b3 = Vector512.Load(b + 48);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01); c02 = Avx512F.FusedMultiplyAdd(a0, b2, c02); c03 = Avx512F.FusedMultiplyAdd(a0, b3, c03);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11); c12 = Avx512F.FusedMultiplyAdd(a1, b2, c12); c13 = Avx512F.FusedMultiplyAdd(a1, b3, c13);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21); c22 = Avx512F.FusedMultiplyAdd(a2, b2, c22); c23 = Avx512F.FusedMultiplyAdd(a2, b3, c23);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31); c32 = Avx512F.FusedMultiplyAdd(a3, b2, c32); c33 = Avx512F.FusedMultiplyAdd(a3, b3, c33);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41); c42 = Avx512F.FusedMultiplyAdd(a4, b2, c42); c43 = Avx512F.FusedMultiplyAdd(a4, b3, c43);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51); c52 = Avx512F.FusedMultiplyAdd(a5, b2, c52); c53 = Avx512F.FusedMultiplyAdd(a5, b3, c53);
            a += Rows;
            b += 64;
        }

        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 16); c02.Store(c + 0 * ldc + 32); c03.Store(c + 0 * ldc + 48);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 16); c12.Store(c + 1 * ldc + 32); c13.Store(c + 1 * ldc + 48);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 16); c22.Store(c + 2 * ldc + 32); c23.Store(c + 2 * ldc + 48);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 16); c32.Store(c + 3 * ldc + 32); c33.Store(c + 3 * ldc + 48);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 16); c42.Store(c + 4 * ldc + 32); c43.Store(c + 4 * ldc + 48);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 16); c52.Store(c + 5 * ldc + 32); c53.Store(c + 5 * ldc + 48);
    }

    /// <summary>6 × 64 tile reading B in place: row k of the panel is the 64 floats at bBase + bOffsets[k] (an activation row of a zero-padded input), so no panel is packed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x64Avx512Rows(int kc, float* a, float* bBase, long* bOffsets, float* c, int ldc, TileStart start, float* rowInit)
    {
        Vector512<float> c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (start == TileStart.Accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0); c01 = Vector512.Load(c + 0 * ldc + 16); c02 = Vector512.Load(c + 0 * ldc + 32); c03 = Vector512.Load(c + 0 * ldc + 48);
            c10 = Vector512.Load(c + 1 * ldc + 0); c11 = Vector512.Load(c + 1 * ldc + 16); c12 = Vector512.Load(c + 1 * ldc + 32); c13 = Vector512.Load(c + 1 * ldc + 48);
            c20 = Vector512.Load(c + 2 * ldc + 0); c21 = Vector512.Load(c + 2 * ldc + 16); c22 = Vector512.Load(c + 2 * ldc + 32); c23 = Vector512.Load(c + 2 * ldc + 48);
            c30 = Vector512.Load(c + 3 * ldc + 0); c31 = Vector512.Load(c + 3 * ldc + 16); c32 = Vector512.Load(c + 3 * ldc + 32); c33 = Vector512.Load(c + 3 * ldc + 48);
            c40 = Vector512.Load(c + 4 * ldc + 0); c41 = Vector512.Load(c + 4 * ldc + 16); c42 = Vector512.Load(c + 4 * ldc + 32); c43 = Vector512.Load(c + 4 * ldc + 48);
            c50 = Vector512.Load(c + 5 * ldc + 0); c51 = Vector512.Load(c + 5 * ldc + 16); c52 = Vector512.Load(c + 5 * ldc + 32); c53 = Vector512.Load(c + 5 * ldc + 48);
        }
        else if (start == TileStart.RowValues)
        {
            c00 = Vector512.Create(rowInit[0]); c01 = c00; c02 = c00; c03 = c00;
            c10 = Vector512.Create(rowInit[1]); c11 = c10; c12 = c10; c13 = c10;
            c20 = Vector512.Create(rowInit[2]); c21 = c20; c22 = c20; c23 = c20;
            c30 = Vector512.Create(rowInit[3]); c31 = c30; c32 = c30; c33 = c30;
            c40 = Vector512.Create(rowInit[4]); c41 = c40; c42 = c40; c43 = c40;
            c50 = Vector512.Create(rowInit[5]); c51 = c50; c52 = c50; c53 = c50;
        }
        else
        {
            c00 = Vector512<float>.Zero; c01 = Vector512<float>.Zero; c02 = Vector512<float>.Zero; c03 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero; c11 = Vector512<float>.Zero; c12 = Vector512<float>.Zero; c13 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero; c21 = Vector512<float>.Zero; c22 = Vector512<float>.Zero; c23 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero; c31 = Vector512<float>.Zero; c32 = Vector512<float>.Zero; c33 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero; c41 = Vector512<float>.Zero; c42 = Vector512<float>.Zero; c43 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero; c51 = Vector512<float>.Zero; c52 = Vector512<float>.Zero; c53 = Vector512<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            float* b = bBase + bOffsets[k];
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var b3 = Vector512.Load(b + 48);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01); c02 = Avx512F.FusedMultiplyAdd(a0, b2, c02); c03 = Avx512F.FusedMultiplyAdd(a0, b3, c03);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11); c12 = Avx512F.FusedMultiplyAdd(a1, b2, c12); c13 = Avx512F.FusedMultiplyAdd(a1, b3, c13);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21); c22 = Avx512F.FusedMultiplyAdd(a2, b2, c22); c23 = Avx512F.FusedMultiplyAdd(a2, b3, c23);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31); c32 = Avx512F.FusedMultiplyAdd(a3, b2, c32); c33 = Avx512F.FusedMultiplyAdd(a3, b3, c33);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41); c42 = Avx512F.FusedMultiplyAdd(a4, b2, c42); c43 = Avx512F.FusedMultiplyAdd(a4, b3, c43);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51); c52 = Avx512F.FusedMultiplyAdd(a5, b2, c52); c53 = Avx512F.FusedMultiplyAdd(a5, b3, c53);
            a += Rows;
        }

        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 16); c02.Store(c + 0 * ldc + 32); c03.Store(c + 0 * ldc + 48);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 16); c12.Store(c + 1 * ldc + 32); c13.Store(c + 1 * ldc + 48);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 16); c22.Store(c + 2 * ldc + 32); c23.Store(c + 2 * ldc + 48);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 16); c32.Store(c + 3 * ldc + 32); c33.Store(c + 3 * ldc + 48);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 16); c42.Store(c + 4 * ldc + 32); c43.Store(c + 4 * ldc + 48);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 16); c52.Store(c + 5 * ldc + 32); c53.Store(c + 5 * ldc + 48);
    }

    /// <summary>
    /// 6 × 32 tile over a B panel 64 floats wide (the packed layout of the 6 × 64 kernel), for the last, narrow panel of
    /// a row (e.g. 4 of 196 pixels at 14×14): the same FMAs in the same k order as <see cref="Tile6x64Avx512"/>, so
    /// its columns come out bit-identical, at a fraction of the work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x32Avx512(int kc, float* a, float* b, float* c, int ldc, TileStart start, float* rowInit)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (start == TileStart.Accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0); c01 = Vector512.Load(c + 0 * ldc + 16);
            c10 = Vector512.Load(c + 1 * ldc + 0); c11 = Vector512.Load(c + 1 * ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc + 0); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc + 0); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc + 0); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc + 0); c51 = Vector512.Load(c + 5 * ldc + 16);
        }
        else if (start == TileStart.RowValues)
        {
            c00 = Vector512.Create(rowInit[0]); c01 = c00;
            c10 = Vector512.Create(rowInit[1]); c11 = c10;
            c20 = Vector512.Create(rowInit[2]); c21 = c20;
            c30 = Vector512.Create(rowInit[3]); c31 = c30;
            c40 = Vector512.Create(rowInit[4]); c41 = c40;
            c50 = Vector512.Create(rowInit[5]); c51 = c50;
        }
        else
        {
            c00 = Vector512<float>.Zero; c01 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero; c11 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero; c21 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero; c31 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero; c41 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero; c51 = Vector512<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            a += Rows;
            b += 64;
        }

        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 16);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 16);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 16);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 16);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 16);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 16);
    }

    /// <summary>
    /// 6 × 16 tile over a B panel 64 floats wide (the packed layout of the 6 × 64 kernel), for the last, narrow panel of
    /// a row (e.g. 4 of 196 pixels at 14×14): the same FMAs in the same k order as <see cref="Tile6x64Avx512"/>, so
    /// its columns come out bit-identical, at a fraction of the work.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x16Avx512(int kc, float* a, float* b, float* c, int ldc, TileStart start, float* rowInit)
    {
        Vector512<float> c00, c10, c20, c30, c40, c50;
        if (start == TileStart.Accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0);
            c10 = Vector512.Load(c + 1 * ldc + 0);
            c20 = Vector512.Load(c + 2 * ldc + 0);
            c30 = Vector512.Load(c + 3 * ldc + 0);
            c40 = Vector512.Load(c + 4 * ldc + 0);
            c50 = Vector512.Load(c + 5 * ldc + 0);
        }
        else if (start == TileStart.RowValues)
        {
            c00 = Vector512.Create(rowInit[0]);
            c10 = Vector512.Create(rowInit[1]);
            c20 = Vector512.Create(rowInit[2]);
            c30 = Vector512.Create(rowInit[3]);
            c40 = Vector512.Create(rowInit[4]);
            c50 = Vector512.Create(rowInit[5]);
        }
        else
        {
            c00 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            a += Rows;
            b += 64;
        }

        c00.Store(c + 0 * ldc + 0);
        c10.Store(c + 1 * ldc + 0);
        c20.Store(c + 2 * ldc + 0);
        c30.Store(c + 3 * ldc + 0);
        c40.Store(c + 4 * ldc + 0);
        c50.Store(c + 5 * ldc + 0);
    }

    /// <summary>6 × 16 tile: 12 Vector256 accumulators (AVX2 + FMA; AVX2 has only 16 vector registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x16Avx2(int kc, float* a, float* b, float* c, int ldc, TileStart start, float* rowInit)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (start == TileStart.Accumulate)
        {
            c00 = Vector256.Load(c + 0 * ldc + 0); c01 = Vector256.Load(c + 0 * ldc + 8);
            c10 = Vector256.Load(c + 1 * ldc + 0); c11 = Vector256.Load(c + 1 * ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc + 0); c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc + 0); c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc + 0); c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc + 0); c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else if (start == TileStart.RowValues)
        {
            c00 = Vector256.Create(rowInit[0]); c01 = c00;
            c10 = Vector256.Create(rowInit[1]); c11 = c10;
            c20 = Vector256.Create(rowInit[2]); c21 = c20;
            c30 = Vector256.Create(rowInit[3]); c31 = c30;
            c40 = Vector256.Create(rowInit[4]); c41 = c40;
            c50 = Vector256.Create(rowInit[5]); c51 = c50;
        }
        else
        {
            c00 = Vector256<float>.Zero; c01 = Vector256<float>.Zero;
            c10 = Vector256<float>.Zero; c11 = Vector256<float>.Zero;
            c20 = Vector256<float>.Zero; c21 = Vector256<float>.Zero;
            c30 = Vector256<float>.Zero; c31 = Vector256<float>.Zero;
            c40 = Vector256<float>.Zero; c41 = Vector256<float>.Zero;
            c50 = Vector256<float>.Zero; c51 = Vector256<float>.Zero;
        }

        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00); c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10); c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20); c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30); c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40); c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50); c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += Rows;
            b += 16;
        }

        c00.Store(c + 0 * ldc + 0); c01.Store(c + 0 * ldc + 8);
        c10.Store(c + 1 * ldc + 0); c11.Store(c + 1 * ldc + 8);
        c20.Store(c + 2 * ldc + 0); c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc + 0); c31.Store(c + 3 * ldc + 8);
        c40.Store(c + 4 * ldc + 0); c41.Store(c + 4 * ldc + 8);
        c50.Store(c + 5 * ldc + 0); c51.Store(c + 5 * ldc + 8);
    }

    /// <summary>6 × 16 tile in plain scalar code, for CPUs without AVX2 + FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x16Scalar(int kc, float* a, float* b, float* c, int ldc, TileStart start, float* rowInit)
    {
        const int width = 16;
        float* acc = stackalloc float[Rows * width];
        for (int r = 0; r < Rows; r++)
        {
            for (int j = 0; j < width; j++)
            {
                acc[r * width + j] = start switch
                {
                    TileStart.Accumulate => c[r * ldc + j],
                    TileStart.RowValues => rowInit[r],
                    _ => 0f,
                };
            }
        }
        for (int k = 0; k < kc; k++)
        {
            for (int r = 0; r < Rows; r++)
            {
                float av = a[r];
                float* accRow = acc + r * width;
                for (int j = 0; j < width; j++) accRow[j] += av * b[j];
            }
            a += Rows;
            b += width;
        }
        for (int r = 0; r < Rows; r++)
            for (int j = 0; j < width; j++) c[r * ldc + j] = acc[r * width + j];
    }
}
