using SharpSeg.Core.Tests.Support;
using SharpSeg.Kernels;
using SharpSeg.Tracing;
using static SharpSeg.Tests.Kernels.SpatialTestData;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// The training-mode batch norm with a fused ReLU (<see cref="Functional.BatchNormRelu"/>) against the two separate
/// ops, which the golden tests check against PyTorch: the same output, running statistics and gradients bit for bit,
/// and its kernel (<see cref="IKernels.BatchNormReluBackward"/>) equal to the ReLU backward followed by the batch-norm
/// backward, at shapes with vector tails, several statistics chunks per plane and more than one thread's work.
/// </summary>
public sealed class BatchNormReluTests
{
    private static readonly CpuKernels Fast = CpuKernels.Instance;
    private static readonly ReferenceKernels Slow = ReferenceKernels.Instance;

    [Theory]
    [InlineData(2, 3, 37, true, false)]
    [InlineData(2, 3, 37, false, true)]
    [InlineData(1, 2, 40_000, true, true)]   // three statistics chunks per plane
    [InlineData(3, 16, 1_031, true, false)]  // work split over threads
    [InlineData(2, 5, 1_001, true, true)]
    public void KernelEqualsReluBackwardThenBatchNormBackward(int batch, int channels, int plane, bool affine, bool streaming)
    {
        var x = Random(batch * channels * plane, 31, 2f, 0.5f);
        var g = Random(x.Length, 32);
        // The ReLU's output: about half exact zeros, where the upstream gradient must not reach the batch norm.
        var relu = Random(x.Length, 33).Select(v => Math.Max(v, 0f)).ToArray();
        float[] mean = new float[channels], variance = new float[channels];
        Slow.ChannelMeanVar(batch, channels, plane, x, mean, variance);
        var invStd = variance.Select(v => 1f / MathF.Sqrt(v + 1e-5f)).ToArray();
        var gamma = affine ? Random(channels, 34, 2f) : [];

        var masked = new float[x.Length];
        Fast.UnaryBackward(UnaryOp.Relu, relu, relu, g, masked);
        float[] dxTwo = new float[x.Length], dgTwo = new float[channels], dbTwo = new float[channels];
        Fast.BatchNormBackward(batch, channels, plane, masked, x, mean, invStd, gamma, dxTwo, dgTwo, dbTwo, streaming);

        float[] dxFused = new float[x.Length], dgFused = new float[channels], dbFused = new float[channels];
        Fast.BatchNormReluBackward(batch, channels, plane, g, relu, x, mean, invStd, gamma, dxFused, dgFused, dbFused, streaming);
        Assert.Equal(dxTwo, dxFused);
        Assert.Equal(dgTwo, dgFused);
        Assert.Equal(dbTwo, dbFused);

        // The public entry (store kind by size) and the reference kernel agree too.
        float[] dxPublic = new float[x.Length], dgPublic = new float[channels], dbPublic = new float[channels];
        Fast.BatchNormReluBackward(batch, channels, plane, g, relu, x, mean, invStd, gamma, dxPublic, dgPublic, dbPublic);
        Assert.Equal(dxTwo, dxPublic);
        Assert.Equal(dgTwo, dgPublic);
        float[] dxSlow = new float[x.Length], dgSlow = new float[channels], dbSlow = new float[channels];
        Slow.BatchNormReluBackward(batch, channels, plane, g, relu, x, mean, invStd, gamma, dxSlow, dgSlow, dbSlow);
        AssertClose(dgSlow, dgFused, rtol: 1e-5f, atol: 1e-4f, what: "dgamma");
        AssertClose(dbSlow, dbFused, rtol: 1e-5f, atol: 1e-4f, what: "dbeta");
        AssertClose(dxSlow, dxFused, rtol: 1e-4f, atol: 1e-5f, what: "dx");
    }

    [Fact]
    public void KernelRefusesAReluOutputOfAnotherSize()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Fast.BatchNormReluBackward(1, 1, 4, new float[4], new float[3], new float[4], [0f], [1f], [], new float[4], new float[1], new float[1]));
        Assert.Contains("ReLU output has 3 elements, the gradient 4", error.Message);
    }

    [Theory]
    [InlineData(2, 3, 5, 7, true, false)]
    [InlineData(2, 4, 33, 70, true, false)]   // planes past the vector width with tails, split over threads
    [InlineData(3, 2, 9, 9, false, false)]
    [InlineData(2, 3, 5, 7, true, true)]
    [InlineData(2, 4, 33, 70, true, true)]
    [InlineData(3, 2, 9, 9, false, true)]
    public void TrainingOpEqualsBatchNormThenAddThenRelu(int batch, int channels, int h, int w, bool affine, bool residual)
    {
        var (fusedY, fusedGrads, fusedStats) = Run(fused: true, batch, channels, h, w, affine, residual);
        var (twoY, twoGrads, twoStats) = Run(fused: false, batch, channels, h, w, affine, residual);
        Assert.Equal(twoY, fusedY);
        Assert.Contains(0f, fusedY);
        Assert.Equal(twoGrads.Length, fusedGrads.Length);
        for (int i = 0; i < twoGrads.Length; i++) Assert.Equal(twoGrads[i], fusedGrads[i]);
        Assert.Equal(twoStats, fusedStats);
    }

    private static (float[] Y, float[][] Grads, float[] RunningStats) Run(bool fused, int batch, int channels, int h, int w, bool affine, bool withResidual)
    {
        var residual = withResidual ? GradCheck.Uniform(47, -2, 2, batch, channels, h, w) : null;
        if (residual is not null) residual.RequiresGrad = true;
        var x = GradCheck.Uniform(41, -2, 3, batch, channels, h, w);
        x.RequiresGrad = true;
        var weight = affine ? GradCheck.Uniform(42, -1.5f, 1.5f, channels) : null;
        var bias = affine ? GradCheck.Uniform(43, -1, 1, channels) : null;
        if (weight is not null) weight.RequiresGrad = true;
        if (bias is not null) bias.RequiresGrad = true;
        var runningMean = GradCheck.Uniform(44, -1, 1, channels);
        var runningVar = GradCheck.Uniform(45, 0.5f, 2, channels);

        Tensor y;
        if (fused)
        {
            y = Functional.BatchNormRelu(x, runningMean, runningVar, weight, bias, training: true, momentum: 0.3, residual: residual);
        }
        else
        {
            y = Functional.BatchNorm(x, runningMean, runningVar, weight, bias, training: true, momentum: 0.3);
            if (residual is not null) y += residual;
            y = y.Relu();
        }
        Assert.Equal(fused ? withResidual ? "BatchNormAddRelu" : "BatchNormRelu" : "Relu", y.GradFn!.Name);
        // A non-uniform upstream gradient, so every masked position and every weight of the sums matters.
        var upstream = GradCheck.Uniform(46, -1, 1, batch, channels, h, w);
        (y * upstream).Sum().Backward();
        var grads = new List<float[]> { x.Grad!.ToArray<float>() };
        if (affine) grads.AddRange([weight!.Grad!.ToArray<float>(), bias!.Grad!.ToArray<float>()]);
        if (residual is not null) grads.Add(residual.Grad!.ToArray<float>());
        return (y.ToArray<float>(), [.. grads], [.. runningMean.ToArray<float>(), .. runningVar.ToArray<float>()]);
    }

    [Fact]
    public void EvaluationAndRecordingRunTheTwoOps()
    {
        var x = GradCheck.Uniform(51, -2, 2, 2, 3, 4, 5);
        x.RequiresGrad = true;
        var mean = GradCheck.Uniform(52, -1, 1, 3);
        var variance = GradCheck.Uniform(53, 0.5f, 2, 3);
        var eval = Functional.BatchNormRelu(x, mean, variance, training: false);
        Assert.Equal("Relu", eval.GradFn!.Name);
        Assert.Equal(Functional.BatchNorm(x, mean, variance).Relu().ToArray<float>(), eval.ToArray<float>());

        // An ONNX trace must see the ops it exports.
        using (var recorder = OpRecorder.Start())
        {
            Functional.BatchNormRelu(x, mean.Clone(), variance.Clone(), training: true, residual: x);
            Assert.Equal(["BatchNorm", "Add", "Relu"], recorder.Ops.Select(o => o.Op));
        }

        // A residual that broadcasts takes the general add.
        var row = GradCheck.Uniform(54, -1, 1, 1, 3, 1, 5);
        var broadcast = Functional.BatchNormRelu(x, mean.Clone(), variance.Clone(), training: true, residual: row);
        Assert.Equal("Relu", broadcast.GradFn!.Name);
        Assert.Equal((Functional.BatchNorm(x, mean.Clone(), variance.Clone(), training: true) + row).Relu().ToArray<float>(), broadcast.ToArray<float>());
    }

    [Fact]
    public void KernelAddReluEqualsAddThenRelu()
    {
        // Past one thread's grain, with a tail, and with exact cancellations (y + r = 0, including −0 + 0).
        int n = (1 << 17) + 13;
        var y = Random(n, 61, 2f);
        var residual = Random(n, 62, 2f);
        for (int i = 0; i < n; i += 97) residual[i] = -y[i];
        y[5] = -0f;
        residual[5] = -0f;
        var sum = new float[n];
        Fast.Binary(BinaryOp.Add, y, false, residual, false, sum);
        var expected = new float[n];
        Fast.Unary(UnaryOp.Relu, sum, expected);
        var fused = (float[])y.Clone();
        Fast.AddReluInPlace(fused, residual);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), fused.Select(BitConverter.SingleToInt32Bits));
        var reference = (float[])y.Clone();
        Slow.AddReluInPlace(reference, residual);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), reference.Select(BitConverter.SingleToInt32Bits));
    }
}
