using SharpSeg.Kernels;
using static SharpSeg.Tests.Kernels.SpatialTestData;

namespace SharpSeg.Tests.Kernels;

/// <summary>
/// Hand-computed values for both implementations, so a misreading of torch's semantics shared by
/// <see cref="CpuKernels"/> and <see cref="ReferenceKernels"/> cannot pass unnoticed.
/// </summary>
public class SpatialKernelExactTests
{
    private static IKernels Kernels(string name) => name == "cpu" ? CpuKernels.Instance : ReferenceKernels.Instance;

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void MaxPool4x4FindsKnownMaximaAndScattersBack(string implementation)
    {
        var k = Kernels(implementation);
        float[] x =
        [
            1, 2, 5, 3,
            4, 0, 1, 7,
            2, 9, 3, 3,
            8, 1, 6, 2,
        ];
        var g = new Pool2dGeometry(1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0);
        var y = new float[4];
        var argmax = new int[4];
        k.MaxPool2dForward(g, x, y, argmax);
        Assert.Equal([4f, 7f, 9f, 6f], y);
        Assert.Equal([4, 7, 9, 14], argmax);

        var dx = new float[16];
        k.MaxPool2dBackward(g, [1f, 2f, 3f, 4f], argmax, dx);
        Assert.Equal([0, 0, 0, 0, 1, 0, 0, 2, 0, 3, 0, 0, 0, 0, 4, 0], dx);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void MaxPoolBackwardRejectsArgmaxOutsideThePlane(string implementation)
    {
        var k = Kernels(implementation);
        var g = new Pool2dGeometry(1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => k.MaxPool2dBackward(g, new float[4], [0, 1, 16, 3], new float[16]));
        Assert.Contains("argmax[2] = 16", error.Message);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void MaxPoolPadsWithMinusInfinityAndKeepsFirstTie(string implementation)
    {
        var k = Kernels(implementation);
        // 3×3 all equal negative, kernel 3, stride 2, padding 1: padding must never win, ties keep the first in-window cell.
        var x = Enumerable.Repeat(-5f, 9).ToArray();
        var g = new Pool2dGeometry(1, 1, 3, 3, 2, 2, 3, 3, 2, 2, 1, 1);
        var y = new float[4];
        var argmax = new int[4];
        k.MaxPool2dForward(g, x, y, argmax);
        Assert.Equal([-5f, -5f, -5f, -5f], y);
        Assert.Equal([0, 1, 3, 4], argmax);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void MaxPoolDilatedWindowSkipsCells(string implementation)
    {
        var k = Kernels(implementation);
        // One row of 5, kernel 2 with dilation 3: windows {0, 3} and {1, 4}.
        float[] x = [1, 9, 8, 2, 3];
        var g = new Pool2dGeometry(1, 1, 1, 5, 1, 2, 1, 2, 1, 1, 0, 0, 1, 3);
        var y = new float[2];
        var argmax = new int[2];
        k.MaxPool2dForward(g, x, y, argmax);
        Assert.Equal([2f, 9f], y);
        Assert.Equal([3, 1], argmax);
    }

    [Theory]
    [InlineData("cpu", true, new[] { 1f, 3f, 2f })]
    [InlineData("cpu", false, new[] { 1.5f, 3f, 4f })]
    [InlineData("reference", true, new[] { 1f, 3f, 2f })]
    [InlineData("reference", false, new[] { 1.5f, 3f, 4f })]
    public void AvgPoolDivisorClipsCeilOverhangToPaddedExtent(string implementation, bool countIncludePad, float[] expected)
    {
        var k = Kernels(implementation);
        // Width 4, kernel 3, stride 2, padding 1, ceil mode: windows [−1, 2), [1, 4), [3, 6). The last is clipped to the
        // padded extent [−1, 5) for the divisor (2 cells: x[3] and one pad) and to the input [3, 4) for the sum.
        var g = new Pool2dGeometry(1, 1, 1, 4, 1, PoolShape.OutputSize(4, 3, 2, 1, 1, ceilMode: true), 1, 3, 1, 2, 0, 1);
        Assert.Equal(3, g.OutW);
        var y = new float[3];
        k.AvgPool2dForward(g, countIncludePad, [1f, 2f, 3f, 4f], y);
        Assert.Equal(expected, y);

        // Backward spreads dy / divisor over the summed cells: with dy = divisor-sized values the shares are whole.
        var dx = new float[4];
        float[] dy = countIncludePad ? [3f, 3f, 2f] : [2f, 3f, 1f];
        k.AvgPool2dBackward(g, countIncludePad, dy, dx);
        Assert.Equal([1f, 2f, 1f, 2f], dx);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void AdaptiveAvgPoolUsesOverlappingFloorCeilWindows(string implementation)
    {
        var k = Kernels(implementation);
        // 5 → 3: windows [0, 2), [1, 4), [3, 5).
        var y = new float[3];
        k.AdaptiveAvgPool2dForward(1, 1, 1, 5, 1, 3, [1f, 2f, 3f, 4f, 5f], y);
        Assert.Equal([1.5f, 3f, 4.5f], y);

        var dx = new float[5];
        k.AdaptiveAvgPool2dBackward(1, 1, 1, 5, 1, 3, [2f, 3f, 4f], dx);
        Assert.Equal([1f, 2f, 1f, 3f, 2f], dx);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void Bilinear2x2To4x4AlignCornersIsAffine(string implementation)
    {
        var k = Kernels(implementation);
        // x(h, w) = 2h + w sampled at h, w ∈ {0, 1/3, 2/3, 1}: y(i, j) = (2i + j) / 3.
        var y = new float[16];
        k.BilinearForward(1, 2, 2, 4, 4, true, 0, 0, [0f, 1f, 2f, 3f], y);
        var expected = new float[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                expected[i * 4 + j] = (2 * i + j) / 3f;
        AssertClose(expected, y, rtol: 1e-6f, atol: 1e-6f, what: "align_corners=True");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void Bilinear2x2To4x4HalfPixelClampsAtBorders(string implementation)
    {
        var k = Kernels(implementation);
        // Source coordinates (dst + 0.5)/2 − 0.5 = −0.25 → 0, 0.25, 0.75, 1.25 → last row/column: {0, 0.25, 0.75, 1}.
        float[] at = [0f, 0.25f, 0.75f, 1f];
        var y = new float[16];
        k.BilinearForward(1, 2, 2, 4, 4, false, 0, 0, [0f, 1f, 2f, 3f], y);
        var expected = new float[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                expected[i * 4 + j] = 2 * at[i] + at[j];
        AssertClose(expected, y, rtol: 1e-6f, atol: 1e-6f, what: "align_corners=False");

        // Backward of a one-hot dy at (0, 1) (coords 0, 0.25) puts 0.75 on x[0, 0] and 0.25 on x[0, 1].
        var dy = new float[16];
        dy[1] = 1f;
        var dx = new float[4];
        k.BilinearBackward(1, 2, 2, 4, 4, false, 0, 0, dy, dx);
        Assert.Equal([0.75f, 0.25f, 0f, 0f], dx);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void BilinearExplicitScaleOverridesSizeRatio(string implementation)
    {
        var k = Kernels(implementation);
        // scale_factor 2 given for 3 → 5 (torch floors the size): ratio 0.5, not 3/5. Coordinates: 0, 0.25, 0.75, 1.25, 1.75.
        var y = new float[5];
        k.BilinearForward(1, 1, 3, 1, 5, false, 1.0, 0.5, [0f, 10f, 20f], y);
        AssertClose([0f, 2.5f, 7.5f, 12.5f, 17.5f], y, rtol: 1e-6f, atol: 1e-5f, what: "explicit scale");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void NearestUsesFloorOfScaledIndex(string implementation)
    {
        var k = Kernels(implementation);
        // 2 → 5: ratio 0.4, sources ⌊0, 0.4, 0.8, 1.2, 1.6⌋ = 0, 0, 0, 1, 1.
        var y = new float[5];
        k.NearestForward(1, 1, 2, 1, 5, 0, 0, [7f, 8f], y);
        Assert.Equal([7f, 7f, 7f, 8f, 8f], y);

        // Explicit scale 0.5 on 3 → 5: sources 0, 0, 1, 1, 2.
        k.NearestForward(1, 1, 3, 1, 5, 0, 0.5, [1f, 2f, 3f], y);
        Assert.Equal([1f, 1f, 2f, 2f, 3f], y);

        var dx = new float[3];
        k.NearestBackward(1, 1, 3, 1, 5, 0, 0.5, [1f, 2f, 3f, 4f, 5f], dx);
        Assert.Equal([3f, 7f, 5f], dx);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void ChannelMeanVarIsBiasedAndExactFarFromZero(string implementation)
    {
        var k = Kernels(implementation);
        // Channel 0 = {1, 2, 3, 4} + 10000 over two samples, channel 1 = {−1, 1, −1, 1}: biased variances 1.25 and 1.
        float[] x = [10001, 10002, -1, 1, 10003, 10004, -1, 1];
        float[] mean = new float[2], variance = new float[2];
        k.ChannelMeanVar(2, 2, 2, x, mean, variance);
        Assert.Equal([10002.5f, 0f], mean);
        Assert.Equal([1.25f, 1f], variance);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void ChannelNormalizeAppliesAffineThenRelu(string implementation)
    {
        var k = Kernels(implementation);
        // (x − 2) · 0.5 · 3 + 1 for x = 0, 1, 2, 4 → −2, −0.5, 1, 4; ReLU zeroes the first two.
        var y = new float[4];
        k.ChannelNormalize(1, 1, 4, [0f, 1f, 2f, 4f], [2f], [0.5f], [3f], [1f], relu: true, y);
        Assert.Equal([0f, 0f, 1f, 4f], y);
        k.ChannelNormalize(1, 1, 4, [0f, 1f, 2f, 4f], [2f], [0.5f], [], [], relu: false, y);
        Assert.Equal([-1f, -0.5f, 0f, 1f], y);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void BatchNormBackwardMatchesFiniteDifferences(string implementation)
    {
        var k = Kernels(implementation);
        const int batch = 2, channels = 2, plane = 3;
        const double eps = 1e-5;
        var x = Random(batch * channels * plane, 30, 2f);
        var weights = Random(x.Length, 31);
        float[] gamma = [1.5f, -0.7f], beta = [0.2f, 0.3f];

        // L(x, γ, β) = Σ weights · batch_norm(x) in double, differentiated numerically.
        double Loss(double[] xs, double[] g, double[] b)
        {
            double loss = 0;
            for (int c = 0; c < channels; c++)
            {
                double sum = 0, squares = 0;
                for (int n = 0; n < batch; n++)
                    for (int i = 0; i < plane; i++) sum += xs[(n * channels + c) * plane + i];
                double mu = sum / (batch * plane);
                for (int n = 0; n < batch; n++)
                    for (int i = 0; i < plane; i++) squares += Math.Pow(xs[(n * channels + c) * plane + i] - mu, 2);
                double inv = 1 / Math.Sqrt(squares / (batch * plane) + eps);
                for (int n = 0; n < batch; n++)
                    for (int i = 0; i < plane; i++)
                    {
                        int at = (n * channels + c) * plane + i;
                        loss += weights[at] * ((xs[at] - mu) * inv * g[c] + b[c]);
                    }
            }
            return loss;
        }

        double[] xd = x.Select(v => (double)v).ToArray(), gd = gamma.Select(v => (double)v).ToArray(), bd = beta.Select(v => (double)v).ToArray();
        double Derivative(double[] values, int index)
        {
            const double h = 1e-5;
            double saved = values[index];
            values[index] = saved + h;
            double up = Loss(xd, gd, bd);
            values[index] = saved - h;
            double down = Loss(xd, gd, bd);
            values[index] = saved;
            return (up - down) / (2 * h);
        }

        float[] mean = new float[channels], variance = new float[channels];
        k.ChannelMeanVar(batch, channels, plane, x, mean, variance);
        var invStd = variance.Select(v => (float)(1 / Math.Sqrt(v + eps))).ToArray();
        float[] dx = new float[x.Length], dgamma = new float[channels], dbeta = new float[channels];
        k.BatchNormBackward(batch, channels, plane, weights, x, mean, invStd, gamma, dx, dgamma, dbeta);

        AssertClose(Enumerable.Range(0, x.Length).Select(i => (float)Derivative(xd, i)).ToArray(), dx, rtol: 1e-3f, atol: 1e-4f, what: "dx");
        AssertClose(Enumerable.Range(0, channels).Select(c => (float)Derivative(gd, c)).ToArray(), dgamma, rtol: 1e-3f, atol: 1e-4f, what: "dgamma");
        AssertClose(Enumerable.Range(0, channels).Select(c => (float)Derivative(bd, c)).ToArray(), dbeta, rtol: 1e-3f, atol: 1e-4f, what: "dbeta");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void SoftmaxOfKnownLogitsAndHugeOnes(string implementation)
    {
        var k = Kernels(implementation);
        // Rows [0, ln 3] → [1/4, 3/4]; [1000, 1000] → [1/2, 1/2] only if the max is subtracted first.
        float[] x = [0f, MathF.Log(3f), 1000f, 1000f];
        var y = new float[4];
        k.SoftmaxForward(2, 2, 1, false, x, y);
        AssertClose([0.25f, 0.75f, 0.5f, 0.5f], y, rtol: 1e-6f, atol: 1e-7f, what: "softmax");
        k.SoftmaxForward(2, 2, 1, true, x, y);
        AssertClose([MathF.Log(0.25f), MathF.Log(0.75f), MathF.Log(0.5f), MathF.Log(0.5f)], y, rtol: 1e-6f, atol: 1e-6f, what: "log_softmax");

        // Same logits down the middle axis of [1, 2, 2]: columns (0, ln 3) and (1000, 1000).
        k.SoftmaxForward(1, 2, 2, false, [0f, 1000f, MathF.Log(3f), 1000f], y);
        AssertClose([0.25f, 0.5f, 0.75f, 0.5f], y, rtol: 1e-6f, atol: 1e-7f, what: "softmax inner 2");

        // softmax backward at y = [1/4, 3/4], dy = [1, 0]: dx = y·(dy − y·dy) = [3/16, −3/16].
        var dx = new float[2];
        k.SoftmaxBackward(1, 2, 1, false, [0.25f, 0.75f], [1f, 0f], dx);
        AssertClose([0.1875f, -0.1875f], dx, rtol: 1e-6f, atol: 1e-7f, what: "softmax backward");
        // log-softmax backward at y = log[1/4, 3/4], dy = [1, 0]: dx = dy − softmax·Σdy = [3/4, −3/4].
        k.SoftmaxBackward(1, 2, 1, true, [MathF.Log(0.25f), MathF.Log(0.75f)], [1f, 0f], dx);
        AssertClose([0.75f, -0.75f], dx, rtol: 1e-6f, atol: 1e-6f, what: "log_softmax backward");
    }
}
