using System.Runtime.Intrinsics;
using SharpSeg.Kernels;
using static SharpSeg.Tests.Kernels.SpatialTestData;

namespace SharpSeg.Tests.Kernels;

/// <summary>
/// <see cref="CpuKernels"/> against <see cref="ReferenceKernels"/> on odd shapes for the pooling, resampling,
/// normalisation and softmax kernels. Shapes include one large enough per family to be split across threads.
/// </summary>
public class SpatialKernelParityTests
{
    private static readonly CpuKernels Fast = CpuKernels.Instance;
    private static readonly ReferenceKernels Slow = ReferenceKernels.Instance;

    private static Pool2dGeometry Pool(int batch, int channels, int inH, int inW, int kH, int kW, int sH, int sW, int pH, int pW, int dilation, bool ceil) =>
        new(batch, channels, inH, inW,
            PoolShape.OutputSize(inH, kH, sH, pH, dilation, ceil), PoolShape.OutputSize(inW, kW, sW, pW, dilation, ceil),
            kH, kW, sH, sW, pH, pW, dilation, dilation);

    public static TheoryData<int, int, int, int, int, int, int, int, int, bool> MaxPoolCases => new()
    {
        // inH, inW, kH, kW, sH, sW, pH, pW, dilation, ceil
        { 7, 9, 3, 3, 2, 2, 1, 1, 1, false },
        { 7, 9, 3, 3, 2, 2, 1, 1, 1, true },
        { 8, 5, 2, 2, 2, 2, 0, 0, 1, true },
        { 9, 10, 3, 3, 2, 2, 1, 1, 2, false },
        { 9, 10, 3, 3, 2, 2, 1, 1, 2, true },
        { 5, 5, 2, 2, 3, 3, 1, 1, 1, true },
        { 6, 7, 3, 2, 1, 2, 1, 1, 1, false },
        { 11, 6, 2, 3, 1, 1, 0, 1, 2, true },
        { 64, 80, 3, 3, 2, 2, 1, 1, 1, false },
        { 20, 70, 3, 3, 1, 1, 1, 1, 1, false },
        { 10, 100, 2, 3, 2, 3, 0, 1, 2, true },
        { 9, 75, 3, 2, 2, 2, 1, 0, 1, true },
    };

    [Theory]
    [MemberData(nameof(MaxPoolCases))]
    public void MaxPoolMatchesReference(int inH, int inW, int kH, int kW, int sH, int sW, int pH, int pW, int dilation, bool ceil)
    {
        var g = Pool(2, 3, inH, inW, kH, kW, sH, sW, pH, pW, dilation, ceil);
        var x = Random(g.Batch * g.Channels * inH * inW, 1);
        int outLength = g.Batch * g.Channels * g.OutH * g.OutW;
        float[] yFast = new float[outLength], ySlow = new float[outLength];
        int[] argFast = new int[outLength], argSlow = new int[outLength];
        Fast.MaxPool2dForward(g, x, yFast, argFast);
        Slow.MaxPool2dForward(g, x, ySlow, argSlow);
        Assert.Equal(ySlow, yFast);
        Assert.Equal(argSlow, argFast);

        var yNoIndex = new float[outLength];
        Fast.MaxPool2dForward(g, x, yNoIndex, Span<int>.Empty);
        Assert.Equal(ySlow, yNoIndex);

        var dy = Random(outLength, 2);
        float[] dxFast = Random(x.Length, 3), dxSlow = new float[x.Length];
        Fast.MaxPool2dBackward(g, dy, argSlow, dxFast);
        Slow.MaxPool2dBackward(g, dy, argSlow, dxSlow);
        AssertClose(dxSlow, dxFast, what: "max_pool2d backward");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void MaxPoolTiesAndNaNMatchReference(int stride)
    {
        // Three levels make most windows tie; a few NaNs must win wherever they fall.
        var g = Pool(1, 2, 6, 90, 3, 3, stride, stride, 1, 1, 1, false);
        var random = new Random(40);
        var x = new float[g.Batch * g.Channels * g.InH * g.InW];
        for (int i = 0; i < x.Length; i++) x[i] = random.Next(100) == 0 ? float.NaN : random.Next(3);
        int outLength = g.Batch * g.Channels * g.OutH * g.OutW;
        float[] yFast = new float[outLength], ySlow = new float[outLength];
        int[] argFast = new int[outLength], argSlow = new int[outLength];
        Fast.MaxPool2dForward(g, x, yFast, argFast);
        Slow.MaxPool2dForward(g, x, ySlow, argSlow);
        Assert.Contains(ySlow, float.IsNaN);
        Assert.Equal(ySlow, yFast);
        Assert.Equal(argSlow, argFast);
    }

    public static TheoryData<int, int, int, int, int, int, int, int, bool, bool> AvgPoolCases => new()
    {
        // inH, inW, kH, kW, sH, sW, pH, pW, ceil, countIncludePad
        { 7, 9, 3, 3, 2, 2, 1, 1, false, true },
        { 7, 9, 3, 3, 2, 2, 1, 1, false, false },
        { 7, 9, 3, 3, 2, 2, 1, 1, true, true },
        { 7, 9, 3, 3, 2, 2, 1, 1, true, false },
        { 8, 5, 2, 2, 2, 2, 0, 0, true, true },
        { 5, 4, 3, 3, 2, 2, 1, 1, true, true },
        { 5, 4, 3, 3, 2, 2, 1, 1, true, false },
        { 6, 7, 3, 2, 1, 2, 1, 1, false, true },
        { 10, 11, 4, 5, 3, 2, 2, 2, true, true },
        { 10, 11, 4, 5, 3, 2, 2, 2, true, false },
        { 64, 80, 2, 2, 2, 2, 0, 0, false, true },
        { 7, 70, 3, 3, 1, 1, 1, 1, false, false },
        { 7, 100, 3, 4, 2, 3, 1, 2, true, false },
        { 7, 100, 3, 4, 2, 3, 1, 2, true, true },
    };

    [Theory]
    [MemberData(nameof(AvgPoolCases))]
    public void AvgPoolMatchesReference(int inH, int inW, int kH, int kW, int sH, int sW, int pH, int pW, bool ceil, bool countIncludePad)
    {
        var g = Pool(2, 3, inH, inW, kH, kW, sH, sW, pH, pW, 1, ceil);
        var x = Random(g.Batch * g.Channels * inH * inW, 4);
        int outLength = g.Batch * g.Channels * g.OutH * g.OutW;
        float[] yFast = new float[outLength], ySlow = new float[outLength];
        Fast.AvgPool2dForward(g, countIncludePad, x, yFast);
        Slow.AvgPool2dForward(g, countIncludePad, x, ySlow);
        AssertClose(ySlow, yFast, what: "avg_pool2d");

        var dy = Random(outLength, 5);
        float[] dxFast = Random(x.Length, 6), dxSlow = new float[x.Length];
        Fast.AvgPool2dBackward(g, countIncludePad, dy, dxFast);
        Slow.AvgPool2dBackward(g, countIncludePad, dy, dxSlow);
        AssertClose(dxSlow, dxFast, what: "avg_pool2d backward");
    }

    [Fact]
    public void AvgPoolRejectsDilation()
    {
        var g = new Pool2dGeometry(1, 1, 5, 5, 2, 2, 2, 2, 2, 2, 0, 0, 2, 2);
        var error = Assert.Throws<ArgumentException>(() => Fast.AvgPool2dForward(g, true, new float[25], new float[4]));
        Assert.Contains("dilation", error.Message);
    }

    [Theory]
    [InlineData(7, 7, 3, 3)]
    [InlineData(5, 7, 4, 3)]
    [InlineData(3, 4, 5, 7)]
    [InlineData(6, 5, 1, 1)]
    [InlineData(9, 9, 9, 9)]
    [InlineData(65, 70, 6, 1)]
    [InlineData(130, 129, 1, 1)]
    public void AdaptiveAvgPoolMatchesReference(int inH, int inW, int outH, int outW)
    {
        const int batch = 2, channels = 3;
        var x = Random(batch * channels * inH * inW, 7);
        int outLength = batch * channels * outH * outW;
        float[] yFast = new float[outLength], ySlow = new float[outLength];
        Fast.AdaptiveAvgPool2dForward(batch, channels, inH, inW, outH, outW, x, yFast);
        Slow.AdaptiveAvgPool2dForward(batch, channels, inH, inW, outH, outW, x, ySlow);
        AssertClose(ySlow, yFast, rtol: 1e-4f, atol: 1e-5f, what: "adaptive_avg_pool2d");

        var dy = Random(outLength, 8);
        float[] dxFast = Random(x.Length, 9), dxSlow = new float[x.Length];
        Fast.AdaptiveAvgPool2dBackward(batch, channels, inH, inW, outH, outW, dy, dxFast);
        Slow.AdaptiveAvgPool2dBackward(batch, channels, inH, inW, outH, outW, dy, dxSlow);
        AssertClose(dxSlow, dxFast, what: "adaptive_avg_pool2d backward");
    }

    public static TheoryData<int, int, int, int, bool, double, double> BilinearCases => new()
    {
        // inH, inW, outH, outW, alignCorners, scaleH, scaleW (0 = derived from sizes)
        { 5, 7, 11, 13, false, 0, 0 },
        { 5, 7, 11, 13, true, 0, 0 },
        { 11, 13, 5, 6, false, 0, 0 },
        { 11, 13, 5, 6, true, 0, 0 },
        { 4, 6, 10, 15, false, 1 / 2.5, 1 / 2.5 },
        { 4, 6, 10, 15, true, 1 / 2.5, 1 / 2.5 },
        { 9, 10, 4, 3, false, 1 / 0.45, 1 / 0.35 },
        { 5, 5, 1, 3, true, 0, 0 },
        { 1, 4, 3, 9, false, 0, 0 },
        { 16, 16, 64, 64, false, 0, 0 },
        { 40, 37, 128, 131, true, 0, 0 },
        // Wide rows through the gather path: 4× up, exact 2× down, slightly down, 5× down.
        { 8, 64, 5, 256, false, 0, 0 },
        { 8, 64, 5, 32, false, 0, 0 },
        { 6, 40, 6, 35, false, 0, 0 },
        { 6, 100, 3, 20, true, 0, 0 },
        // Over 8× up, an input column is read by more outputs than one 16-wide band of the backward pass holds.
        { 3, 4, 7, 60, false, 0, 0 },
        { 2, 3, 5, 70, true, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(BilinearCases))]
    public void BilinearMatchesReference(int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW)
    {
        const int planes = 6;
        var x = Random(planes * inH * inW, 10);
        float[] yFast = new float[planes * outH * outW], ySlow = new float[yFast.Length];
        Fast.BilinearForward(planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, x, yFast);
        Slow.BilinearForward(planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, x, ySlow);
        AssertClose(ySlow, yFast, what: "bilinear");

        var dy = Random(yFast.Length, 11);
        float[] dxFast = Random(x.Length, 12), dxSlow = new float[x.Length];
        Fast.BilinearBackward(planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, dy, dxFast);
        Slow.BilinearBackward(planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, dy, dxSlow);
        AssertClose(dxSlow, dxFast, rtol: 1e-4f, atol: 1e-5f, what: "bilinear backward");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BilinearWithStreamingStoresMatchesReference(bool alignCorners)
    {
        // Large outputs are written with non-temporal stores; forced here on a small one whose odd width misaligns most rows.
        const int planes = 2, inH = 20, inW = 37, outH = 61, outW = 203;
        var x = Random(planes * inH * inW, 41);
        float[] yFast = new float[planes * outH * outW], ySlow = new float[yFast.Length];
        Fast.BilinearForward(planes, inH, inW, outH, outW, alignCorners, 0, 0, x, yFast, streaming: true);
        Slow.BilinearForward(planes, inH, inW, outH, outW, alignCorners, 0, 0, x, ySlow);
        AssertClose(ySlow, yFast, what: "bilinear, streaming stores");
    }

    public static TheoryData<int, int, int, int, double, double> NearestCases => new()
    {
        { 5, 7, 10, 21, 0, 0 },
        { 9, 10, 4, 3, 0, 0 },
        { 4, 6, 10, 15, 0.4, 0.4 },
        { 6, 6, 6, 6, 0, 0 },
        { 7, 5, 7, 9, 0, 1 / 1.9 },
        { 32, 40, 96, 120, 0, 0 },
        { 4, 64, 4, 128, 0, 0 },
        { 4, 100, 4, 21, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(NearestCases))]
    public void NearestMatchesReference(int inH, int inW, int outH, int outW, double scaleH, double scaleW)
    {
        const int planes = 5;
        var x = Random(planes * inH * inW, 13);
        float[] yFast = new float[planes * outH * outW], ySlow = new float[yFast.Length];
        Fast.NearestForward(planes, inH, inW, outH, outW, scaleH, scaleW, x, yFast);
        Slow.NearestForward(planes, inH, inW, outH, outW, scaleH, scaleW, x, ySlow);
        Assert.Equal(ySlow, yFast);

        var dy = Random(yFast.Length, 14);
        float[] dxFast = Random(x.Length, 15), dxSlow = new float[x.Length];
        Fast.NearestBackward(planes, inH, inW, outH, outW, scaleH, scaleW, dy, dxFast);
        Slow.NearestBackward(planes, inH, inW, outH, outW, scaleH, scaleW, dy, dxSlow);
        AssertClose(dxSlow, dxFast, what: "nearest backward");
    }

    [Theory]
    [InlineData(2, 3, 37)]
    [InlineData(1, 4, 40000)]
    [InlineData(3, 2, 1)]
    [InlineData(4, 16, 1024)]
    public void ChannelMeanVarMatchesReferenceEvenFarFromZero(int batch, int channels, int plane)
    {
        foreach (var (scale, offset) in new[] { (1f, 0f), (0.01f, 100f) })
        {
            var x = Random(batch * channels * plane, 16, scale, offset);
            float[] meanFast = new float[channels], varFast = new float[channels], meanSlow = new float[channels], varSlow = new float[channels];
            Fast.ChannelMeanVar(batch, channels, plane, x, meanFast, varFast);
            Slow.ChannelMeanVar(batch, channels, plane, x, meanSlow, varSlow);
            AssertClose(meanSlow, meanFast, rtol: 1e-6f, atol: 1e-7f, what: $"mean (offset {offset})");
            AssertClose(varSlow, varFast, rtol: 1e-5f, atol: 1e-9f, what: $"variance (offset {offset})");
        }
    }

    [Theory]
    [InlineData(2, 3, 37, true, true)]
    [InlineData(2, 3, 37, false, false)]
    [InlineData(1, 5, 1, true, false)]
    [InlineData(4, 16, 1024, false, true)]
    public void ChannelNormalizeMatchesReference(int batch, int channels, int plane, bool affine, bool relu)
    {
        var x = Random(batch * channels * plane, 17, 3f);
        var mean = Random(channels, 18);
        var invStd = Random(channels, 19, 0.5f, 1f);
        var gamma = affine ? Random(channels, 20, 2f) : [];
        var beta = affine ? Random(channels, 21) : [];
        float[] yFast = new float[x.Length], ySlow = new float[x.Length];
        Fast.ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, relu, yFast);
        Slow.ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, relu, ySlow);
        AssertClose(ySlow, yFast, rtol: 1e-5f, atol: 1e-5f, what: "channel normalize");
        if (relu) Assert.All(yFast, v => Assert.True(v >= 0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ChannelNormalizeWithStreamingStoresMatchesReference(bool relu)
    {
        // Large outputs are written with non-temporal stores; forced here on a small one whose odd plane misaligns the planes.
        const int batch = 2, channels = 3, plane = 1001;
        var x = Random(batch * channels * plane, 42, 3f);
        float[] mean = [0.1f, -0.2f, 0.3f], invStd = [1.5f, 0.5f, 2f], gamma = [1f, -2f, 0.5f], beta = [0f, 0.1f, -0.1f];
        float[] yFast = new float[x.Length], ySlow = new float[x.Length];
        Fast.ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, relu, yFast, streaming: true);
        Slow.ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, relu, ySlow);
        AssertClose(ySlow, yFast, rtol: 1e-5f, atol: 1e-5f, what: "channel normalize, streaming stores");
    }

    [Theory]
    [InlineData(2, 3, 37, true)]
    [InlineData(2, 3, 37, false)]
    [InlineData(1, 2, 40000, true)]
    [InlineData(4, 16, 1024, false)]
    public void BatchNormBackwardMatchesReference(int batch, int channels, int plane, bool affine)
    {
        var x = Random(batch * channels * plane, 22, 2f, 0.5f);
        var dy = Random(x.Length, 23);
        float[] mean = new float[channels], variance = new float[channels];
        Slow.ChannelMeanVar(batch, channels, plane, x, mean, variance);
        var invStd = variance.Select(v => 1f / MathF.Sqrt(v + 1e-5f)).ToArray();
        var gamma = affine ? Random(channels, 24, 2f) : [];

        float[] dxFast = new float[x.Length], dgFast = new float[channels], dbFast = new float[channels];
        float[] dxSlow = new float[x.Length], dgSlow = new float[channels], dbSlow = new float[channels];
        Fast.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxFast, dgFast, dbFast);
        Slow.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxSlow, dgSlow, dbSlow);
        AssertClose(dgSlow, dgFast, rtol: 1e-5f, atol: 1e-4f, what: "dgamma");
        AssertClose(dbSlow, dbFast, rtol: 1e-5f, atol: 1e-4f, what: "dbeta");
        AssertClose(dxSlow, dxFast, rtol: 1e-4f, atol: 1e-5f, what: "dx");

        var dxOnly = new float[x.Length];
        Fast.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxOnly, [], []);
        Assert.Equal(dxFast, dxOnly);
        float[] dgOnly = new float[channels], dbOnly = new float[channels];
        Fast.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, [], dgOnly, dbOnly);
        Assert.Equal(dgFast, dgOnly);
        Assert.Equal(dbFast, dbOnly);
    }

    [Fact]
    public void BatchNormBackwardWithStreamingStoresMatchesCachedStores()
    {
        const int batch = 2, channels = 3, plane = 1001;
        var x = Random(batch * channels * plane, 43, 2f);
        var dy = Random(x.Length, 44);
        float[] mean = [0.1f, -0.2f, 0.3f], invStd = [1.5f, 0.5f, 2f], gamma = [1f, -2f, 0.5f];
        float[] dxCached = new float[x.Length], dxStreamed = new float[x.Length], dxSlow = new float[x.Length];
        Fast.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxCached, [], [], streaming: false);
        Fast.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxStreamed, [], [], streaming: true);
        Slow.BatchNormBackward(batch, channels, plane, dy, x, mean, invStd, gamma, dxSlow, [], []);
        Assert.Equal(dxCached, dxStreamed);
        AssertClose(dxSlow, dxStreamed, rtol: 1e-4f, atol: 1e-5f, what: "dx, streaming stores");
    }

    [Fact]
    public void EmptyShapesWriteNothingAndReduceToTorchValues()
    {
        float[] mean = new float[2], variance = new float[2];
        Fast.ChannelMeanVar(3, 2, 0, [], mean, variance);
        Assert.All(mean, v => Assert.True(float.IsNaN(v)));
        Assert.All(variance, v => Assert.True(float.IsNaN(v)));

        float[] dgamma = [5f, 5f], dbeta = [5f, 5f];
        Fast.BatchNormBackward(0, 2, 4, [], [], [0f, 0f], [1f, 1f], [], [], dgamma, dbeta);
        Assert.Equal([0f, 0f], dgamma);
        Assert.Equal([0f, 0f], dbeta);

        Fast.ChannelNormalize(0, 2, 4, [], [0f, 0f], [1f, 1f], [], [], true, []);
        Fast.SoftmaxForward(3, 0, 5, false, [], []);
        Fast.SoftmaxBackward(3, 0, 5, true, [], [], []);
        Fast.BilinearForward(0, 4, 4, 8, 8, false, 0, 0, [], []);
        Fast.NearestForward(2, 4, 4, 0, 8, 0, 0, new float[32], []);
        Fast.MaxPool2dForward(new Pool2dGeometry(0, 3, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0), [], [], []);
    }

    [Theory]
    [InlineData(3, 7, 1, false)]
    [InlineData(3, 7, 1, true)]
    [InlineData(2, 5, 13, false)]
    [InlineData(2, 5, 13, true)]
    [InlineData(2, 19, 1100, false)]
    [InlineData(2, 19, 1100, true)]
    [InlineData(4, 1, 3, false)]
    [InlineData(4, 1, 3, true)]
    [InlineData(3000, 21, 1, true)]
    [InlineData(1, 600, 1, false)]
    public void SoftmaxMatchesReference(int outer, int dim, int inner, bool log)
    {
        // Logits up to ±40 would overflow exp without the max subtraction.
        var x = Random(outer * dim * inner, 25, 40f);
        float[] yFast = new float[x.Length], ySlow = new float[x.Length];
        Fast.SoftmaxForward(outer, dim, inner, log, x, yFast);
        Slow.SoftmaxForward(outer, dim, inner, log, x, ySlow);
        AssertClose(ySlow, yFast, rtol: 1e-5f, atol: 1e-6f, what: log ? "log_softmax" : "softmax");

        var dy = Random(x.Length, 26);
        float[] dxFast = new float[x.Length], dxSlow = new float[x.Length];
        Fast.SoftmaxBackward(outer, dim, inner, log, ySlow, dy, dxFast);
        Slow.SoftmaxBackward(outer, dim, inner, log, ySlow, dy, dxSlow);
        AssertClose(dxSlow, dxFast, rtol: 1e-4f, atol: 1e-5f, what: log ? "log_softmax backward" : "softmax backward");
    }

    [Fact]
    public void VectorExpAndLogStayWithinAFewUlp()
    {
        // The fused softmax kernels use these instead of TensorPrimitives; check them against double precision.
        if (!Vector512.IsHardwareAccelerated) return;
        var exp = new float[16];
        for (float start = -87f; start < 88f; start += 0.37f)
        {
            var x = Vector512.Create(start) + Vector512.Create(0f, 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f, 0.08f, 0.09f, 0.1f, 0.11f, 0.12f, 0.13f, 0.14f, 0.15f);
            VectorMathF.Exp(x).CopyTo(exp);
            for (int i = 0; i < 16; i++)
            {
                double expected = Math.Exp(x[i]);
                Assert.True(Math.Abs(exp[i] - expected) <= 4e-7 * expected, $"exp({x[i]:R}) = {exp[i]:R}, expected {expected:R}");
            }
        }
        Assert.Equal(0f, VectorMathF.Exp(Vector512.Create(-200f))[0]);

        var log = new float[16];
        for (double start = 1; start < 1e7; start *= 1.7)
        {
            var x = Vector512.Create((float)start) * Vector512.Create(1f, 1.03f, 1.07f, 1.1f, 1.13f, 1.17f, 1.2f, 1.23f, 1.27f, 1.3f, 1.33f, 1.37f, 1.4f, 1.43f, 1.47f, 1.5f);
            VectorMathF.LogOfPositive(x).CopyTo(log);
            for (int i = 0; i < 16; i++)
            {
                double expected = Math.Log(x[i]);
                Assert.True(Math.Abs(log[i] - expected) <= 2e-7 * Math.Max(1, Math.Abs(expected)), $"log({x[i]:R}) = {log[i]:R}, expected {expected:R}");
            }
        }
    }

    [Fact]
    public void SoftmaxMayWriteOverItsInput()
    {
        const int outer = 2, dim = 5, inner = 13;
        foreach (bool log in new[] { false, true })
        {
            var x = Random(outer * dim * inner, 27, 5f);
            var expected = new float[x.Length];
            Slow.SoftmaxForward(outer, dim, inner, log, x, expected);
            Fast.SoftmaxForward(outer, dim, inner, log, x, x);
            AssertClose(expected, x, what: "in-place softmax");
        }
    }
}
