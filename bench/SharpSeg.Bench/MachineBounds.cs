using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpSeg.Kernels.Cpu;

namespace SharpSeg.Bench;

/// <summary>
/// The rooflines every op is reported against, measured on this machine: peak FP32 FLOP/s (independent FMAs on
/// registers only, one loop per thread, all threads at once) and stream bandwidth (a large parallel copy, read + write bytes).
/// </summary>
internal sealed record MachineBounds(int Threads, double PeakGflops, double StreamGbps)
{
    private const int Trials = 10;

    public static MachineBounds Measure(int threads) => new(threads, MeasurePeak(threads), MeasureBandwidth(threads));

    public string ToJson() => new JsonLine()
        .Add("machine", Environment.MachineName)
        .Add("threads", Threads)
        .Add("simd", SimdLevels.Best.ToString())
        .Add("peak_gflops", PeakGflops, 1)
        .Add("stream_gbps", StreamGbps, 1)
        .Add("load_average", LoadAverage(), 2)
        .ToString();

    /// <summary>The 1-minute load average (other processes compete for the cores), or NaN off Linux.</summary>
    public static double LoadAverage()
    {
        try
        {
            string first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
        catch (UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }

    private static double MeasurePeak(int threads)
    {
        // Many short trials (a few ms each): on a shared machine the best one is the least disturbed.
        const int trials = 30;
        const long iterations = 1_000_000;
        double flopsPerIteration = SimdLevels.Best switch
        {
            SimdLevel.Vector512 => 24 * 16 * 2,
            SimdLevel.Vector256 => 12 * 8 * 2,
            _ => 8 * 2,
        };
        FmaLoop(1000);
        double best = double.MaxValue;
        for (int trial = 0; trial < trials; trial++)
            best = Math.Min(best, OnAllThreads(threads, () => FmaLoop(iterations)));
        return threads * iterations * flopsPerIteration / best / 1e9;
    }

    private static double MeasureBandwidth(int threads)
    {
        const int floats = 64 << 20;
        var source = new float[floats];
        var destination = new float[floats];
        Array.Fill(source, 1f);
        Array.Fill(destination, 0f);
        double best = double.MaxValue;
        for (int trial = 0; trial < Trials; trial++)
        {
            best = Math.Min(best, OnAllThreadsIndexed(threads, t =>
            {
                int start = (int)((long)floats * t / threads), end = (int)((long)floats * (t + 1) / threads);
                source.AsSpan(start, end - start).CopyTo(destination.AsSpan(start, end - start));
            }));
        }
        return 2.0 * floats * sizeof(float) / best / 1e9;
    }

    /// <summary>
    /// Runs the body on <paramref name="threads"/> dedicated threads released together; returns the seconds from the first
    /// thread's start to the last thread's end, each read on the worker itself (the releasing thread may be descheduled).
    /// </summary>
    private static double OnAllThreads(int threads, Action body) => OnAllThreadsIndexed(threads, _ => body());

    private static double OnAllThreadsIndexed(int threads, Action<int> body)
    {
        using var start = new Barrier(threads);
        var starts = new long[threads];
        var ends = new long[threads];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                starts[index] = Stopwatch.GetTimestamp();
                body(index);
                ends[index] = Stopwatch.GetTimestamp();
            });
            workers[t].Start();
        }
        foreach (var worker in workers) worker.Join();
        return (ends.Max() - starts.Min()) / (double)Stopwatch.Frequency;
    }

    /// <summary>Independent FMA chains on registers only; the result is returned so the JIT keeps the work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop(long iterations)
    {
        if (SimdLevels.Best == SimdLevel.Vector512)
        {
            var m = Vector512.Create(0.999999f);
            var add = Vector512.Create(1e-7f);
            Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
                c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0,
                c16 = c0, c17 = c0, c18 = c0, c19 = c0, c20 = c0, c21 = c0, c22 = c0, c23 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Avx512F.FusedMultiplyAdd(c0, m, add); c1 = Avx512F.FusedMultiplyAdd(c1, m, add);
                c2 = Avx512F.FusedMultiplyAdd(c2, m, add); c3 = Avx512F.FusedMultiplyAdd(c3, m, add);
                c4 = Avx512F.FusedMultiplyAdd(c4, m, add); c5 = Avx512F.FusedMultiplyAdd(c5, m, add);
                c6 = Avx512F.FusedMultiplyAdd(c6, m, add); c7 = Avx512F.FusedMultiplyAdd(c7, m, add);
                c8 = Avx512F.FusedMultiplyAdd(c8, m, add); c9 = Avx512F.FusedMultiplyAdd(c9, m, add);
                c10 = Avx512F.FusedMultiplyAdd(c10, m, add); c11 = Avx512F.FusedMultiplyAdd(c11, m, add);
                c12 = Avx512F.FusedMultiplyAdd(c12, m, add); c13 = Avx512F.FusedMultiplyAdd(c13, m, add);
                c14 = Avx512F.FusedMultiplyAdd(c14, m, add); c15 = Avx512F.FusedMultiplyAdd(c15, m, add);
                c16 = Avx512F.FusedMultiplyAdd(c16, m, add); c17 = Avx512F.FusedMultiplyAdd(c17, m, add);
                c18 = Avx512F.FusedMultiplyAdd(c18, m, add); c19 = Avx512F.FusedMultiplyAdd(c19, m, add);
                c20 = Avx512F.FusedMultiplyAdd(c20, m, add); c21 = Avx512F.FusedMultiplyAdd(c21, m, add);
                c22 = Avx512F.FusedMultiplyAdd(c22, m, add); c23 = Avx512F.FusedMultiplyAdd(c23, m, add);
            }
            var sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
                + ((c12 + c13) + (c14 + c15)) + ((c16 + c17) + (c18 + c19)) + ((c20 + c21) + (c22 + c23));
            return Vector512.Sum(sum);
        }
        if (SimdLevels.Best == SimdLevel.Vector256)
        {
            var m = Vector256.Create(0.999999f);
            var add = Vector256.Create(1e-7f);
            Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
                c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Fma.MultiplyAdd(c0, m, add); c1 = Fma.MultiplyAdd(c1, m, add); c2 = Fma.MultiplyAdd(c2, m, add);
                c3 = Fma.MultiplyAdd(c3, m, add); c4 = Fma.MultiplyAdd(c4, m, add); c5 = Fma.MultiplyAdd(c5, m, add);
                c6 = Fma.MultiplyAdd(c6, m, add); c7 = Fma.MultiplyAdd(c7, m, add); c8 = Fma.MultiplyAdd(c8, m, add);
                c9 = Fma.MultiplyAdd(c9, m, add); c10 = Fma.MultiplyAdd(c10, m, add); c11 = Fma.MultiplyAdd(c11, m, add);
            }
            return Vector256.Sum(((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11)));
        }
        float s0 = 1f, s1 = 1f, s2 = 1f, s3 = 1f, s4 = 1f, s5 = 1f, s6 = 1f, s7 = 1f;
        for (long i = 0; i < iterations; i++)
        {
            s0 = s0 * 0.999999f + 1e-7f; s1 = s1 * 0.999999f + 1e-7f; s2 = s2 * 0.999999f + 1e-7f; s3 = s3 * 0.999999f + 1e-7f;
            s4 = s4 * 0.999999f + 1e-7f; s5 = s5 * 0.999999f + 1e-7f; s6 = s6 * 0.999999f + 1e-7f; s7 = s7 * 0.999999f + 1e-7f;
        }
        return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    }
}
