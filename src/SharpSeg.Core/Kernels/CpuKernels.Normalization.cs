using System.Runtime.CompilerServices;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    // Statistics are summed per chunk of a plane, then the chunks of a channel in a fixed order: the split depends
    // only on the shape, so results are bit-identical for any thread count.
    private const int StatisticsChunk = 1 << 14;

    // Planes of streaming work handed to one thread should hold at least this many elements.
    private const int StreamingGrain = 1 << 16;

    public unsafe void ChannelMeanVar(int batch, int channels, int plane, ReadOnlySpan<float> x, Span<float> mean, Span<float> variance)
    {
        if ((long)batch * plane == 0)
        {
            // torch's mean of nothing.
            mean[..channels].Fill(float.NaN);
            variance[..channels].Fill(float.NaN);
            return;
        }
        int chunks = ChunksPerPlane(plane);
        var sums = new double[channels * batch * chunks];
        var squares = new double[sums.Length];
        var shifts = new float[channels];
        fixed (float* px = x)
        {
            // A sample of each channel as the shift keeps Σ(x − shift)² well conditioned even when |mean| ≫ std.
            for (int c = 0; c < channels; c++) shifts[c] = px[(long)c * plane];
            nint xp = (nint)px;
            Parallelism.ForRange(sums.Length, Math.Max(1, StreamingGrain / Math.Min(plane, StatisticsChunk)), (s, e) =>
            {
                for (long item = s; item < e; item++)
                {
                    var (c, n, offset, length) = StatisticsItem(item, batch, chunks, plane);
                    float* start = (float*)xp + ((long)n * channels + c) * plane + offset;
                    (sums[item], squares[item]) = VectorLoops.ShiftedSums(start, length, shifts[c]);
                }
            });
        }

        double count = (double)batch * plane;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0, square = 0;
            for (int k = c * batch * chunks; k < (c + 1) * batch * chunks; k++)
            {
                sum += sums[k];
                square += squares[k];
            }
            double meanOffset = sum / count;
            mean[c] = (float)(shifts[c] + meanOffset);
            variance[c] = (float)Math.Max(square / count - meanOffset * meanOffset, 0.0);
        }
    }

    public void ChannelNormalize(int batch, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool relu, Span<float> y) =>
        ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, relu, y, y.Length >= StreamingStoreThreshold);

    /// <summary>
    /// <see cref="ChannelNormalize(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, bool, Span{float})"/>
    /// with the store kind chosen by the caller (tests).
    /// </summary>
    internal unsafe void ChannelNormalize(int batch, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool relu, Span<float> y, bool streaming)
    {
        if (y.IsEmpty) return;
        // torch's form: y = x·α + β with α = invStd·γ and β = beta − mean·α (batch_norm_cpu_collect_linear_and_constant_terms).
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = invStd[c] * (gamma.IsEmpty ? 1f : gamma[c]);
            shift[c] = (beta.IsEmpty ? 0f : beta[c]) - mean[c] * scale[c];
        }
        fixed (float* px = x, py = y)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange((long)batch * channels, Math.Max(1, StreamingGrain / plane), (s, e) =>
            {
                for (long p = s; p < e; p++)
                {
                    int c = (int)(p % channels);
                    if (streaming) VectorLoops.ScaleShiftStreaming((float*)xp + p * plane, (float*)yp + p * plane, plane, scale[c], shift[c], relu);
                    else VectorLoops.ScaleShift((float*)xp + p * plane, (float*)yp + p * plane, plane, scale[c], shift[c], relu);
                }
                if (streaming) VectorLoops.FenceStreamingStores();
            });
        }
    }

    public void BatchNormBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta) =>
        BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dx, dgamma, dbeta, dx.Length >= StreamingStoreThreshold);

    public void BatchNormReluBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        if (reluOutput.Length != dy.Length)
            throw new ArgumentException($"BatchNormReluBackward: the ReLU output has {reluOutput.Length} elements, the gradient {dy.Length}.", nameof(reluOutput));
        BatchNormReluBackward(batch, channels, plane, dy, reluOutput, x, mean, invStd, gamma, dx, dgamma, dbeta, dx.Length >= StreamingStoreThreshold);
    }

    /// <summary>
    /// <see cref="BatchNormBackward(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>
    /// with the store kind chosen by the caller (tests).
    /// </summary>
    internal void BatchNormBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta, bool streaming) =>
        BatchNormReluBackward(batch, channels, plane, dy, default, x, mean, invStd, gamma, dx, dgamma, dbeta, streaming);

    /// <summary>
    /// <see cref="BatchNormReluBackward(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>
    /// with the store kind chosen by the caller (tests). A non-empty <paramref name="reluOutput"/> is the output of a ReLU
    /// applied to this normalisation's output, <paramref name="dy"/> that ReLU's upstream gradient, and the gradient used
    /// is its masked form (see <see cref="ReluMaskedLoops"/>); an empty one means no ReLU (plain batch-norm backward).
    /// </summary>
    internal unsafe void BatchNormReluBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta, bool streaming)
    {
        if ((long)batch * plane == 0)
        {
            if (!dgamma.IsEmpty) dgamma[..channels].Clear();
            if (!dbeta.IsEmpty) dbeta[..channels].Clear();
            return;
        }
        int chunks = ChunksPerPlane(plane);
        var sumDy = new double[channels * batch * chunks];
        var sumDyCentered = new double[sumDy.Length];
        var center = mean.ToArray();
        bool masked = !reluOutput.IsEmpty;
        fixed (float* pdy = dy, pr = reluOutput, px = x, pdx = dx)
        {
            nint dyp = (nint)pdy, rp = (nint)pr, xp = (nint)px, dxp = (nint)pdx;
            Parallelism.ForRange(sumDy.Length, Math.Max(1, StreamingGrain / Math.Min(plane, StatisticsChunk)), (s, e) =>
            {
                for (long item = s; item < e; item++)
                {
                    var (c, n, offset, length) = StatisticsItem(item, batch, chunks, plane);
                    long at = ((long)n * channels + c) * plane + offset;
                    (sumDy[item], sumDyCentered[item]) = masked
                        ? ReluMaskedLoops.GradientSums((float*)dyp + at, (float*)rp + at, (float*)xp + at, length, center[c])
                        : VectorLoops.GradientSums((float*)dyp + at, (float*)xp + at, length, center[c]);
                }
            });

            double count = (double)batch * plane;
            var dyWeight = new float[channels];
            var xWeight = new float[channels];
            var constant = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                double sum = 0, dot = 0;
                for (int item = c * batch * chunks; item < (c + 1) * batch * chunks; item++)
                {
                    sum += sumDy[item];
                    dot += sumDyCentered[item];
                }
                double inv = invStd[c];
                if (!dgamma.IsEmpty) dgamma[c] = (float)(dot * inv);
                if (!dbeta.IsEmpty) dbeta[c] = (float)sum;

                // dx = k·(dy − Σdy/N − (x − mean)·invStd²·Σdy(x − mean)/N) with k = γ·invStd, expanded to a·dy + b·x + c.
                double slope = (gamma.IsEmpty ? 1.0 : gamma[c]) * inv;
                double projection = dot * inv * inv / count;
                dyWeight[c] = (float)slope;
                xWeight[c] = (float)(-slope * projection);
                constant[c] = (float)(slope * (projection * center[c] - sum / count));
            }
            if (dx.IsEmpty) return;

            Parallelism.ForRange((long)batch * channels, Math.Max(1, StreamingGrain / plane), (s, e) =>
            {
                for (long p = s; p < e; p++)
                {
                    int c = (int)(p % channels);
                    float* g = (float*)dyp + p * plane, input = (float*)xp + p * plane, grad = (float*)dxp + p * plane;
                    if (masked)
                    {
                        float* r = (float*)rp + p * plane;
                        if (streaming) ReluMaskedLoops.AffineOfTwoStreaming(g, r, input, grad, plane, dyWeight[c], xWeight[c], constant[c]);
                        else ReluMaskedLoops.AffineOfTwo(g, r, input, grad, plane, dyWeight[c], xWeight[c], constant[c]);
                    }
                    else if (streaming) VectorLoops.AffineOfTwoStreaming(g, input, grad, plane, dyWeight[c], xWeight[c], constant[c]);
                    else VectorLoops.AffineOfTwo(g, input, grad, plane, dyWeight[c], xWeight[c], constant[c]);
                }
                if (streaming) VectorLoops.FenceStreamingStores();
            });
        }
    }

    private static int ChunksPerPlane(int plane) => Math.Max(1, (plane + StatisticsChunk - 1) / StatisticsChunk);

    /// <summary>Statistics work items run channel-major, so each channel's partial sums sit together in batch, chunk order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Channel, int Sample, int Offset, int Length) StatisticsItem(long item, int batch, int chunks, int plane)
    {
        int chunk = (int)(item % chunks);
        long rest = item / chunks;
        int offset = chunk * StatisticsChunk;
        return ((int)(rest / batch), (int)(rest % batch), offset, Math.Min(StatisticsChunk, plane - offset));
    }
}
