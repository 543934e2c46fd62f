using SharpSeg.Core.Tests.Support;
using SharpSeg.Tracing;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// <see cref="Functional.Conv2dFused"/>, the inference convolution: its tile epilogue equals the separate ops bit for bit,
/// its BatchNorm folding is close to them, its cached (packed, folded) weights are remade after every kind of write, and
/// without a graph it records none.
/// </summary>
public sealed class FusedConvTests
{
    private sealed record Case(int Batch, int InChannels, int H, int W, int OutChannels, int Kernel, int Stride, int Padding, int Dilation, int Groups);

    private static readonly Case[] Cases =
    [
        new(1, 16, 7, 7, 40, 1, 1, 0, 1, 1),      // one 49-pixel panel: output rows split over threads, edge tiles
        new(2, 8, 9, 64, 13, 3, 1, 1, 1, 1),      // 64-pixel rows read in place on AVX-512, one GEMM per image
        new(1, 12, 14, 14, 30, 3, 2, 1, 1, 1),    // strided
        new(1, 12, 10, 11, 18, 3, 1, 2, 2, 3),    // dilated and grouped
        new(2, 10, 9, 9, 10, 3, 1, 1, 1, 10),     // depthwise: the epilogue runs on each output plane as soon as it is done
        new(1, 300, 5, 5, 7, 1, 1, 0, 1, 1),      // reduction over two k blocks: the epilogue waits for the last one
    ];

    public static TheoryData<int, FusedActivation> CasesAndActivations()
    {
        var data = new TheoryData<int, FusedActivation>();
        for (int i = 0; i < Cases.Length; i++)
            foreach (var activation in Enum.GetValues<FusedActivation>()) data.Add(i, activation);
        return data;
    }

    private sealed record Operands(Tensor X, Tensor Weight, Tensor Bias, Tensor Residual, BatchNormStatistics Bn, Case Case)
    {
        public Size2 Stride => Case.Stride;
        public Size2 Padding => Case.Padding;
        public Size2 Dilation => Case.Dilation;
    }

    private static Operands Make(Case c, int seed)
    {
        int outH = (c.H + 2 * c.Padding - c.Dilation * (c.Kernel - 1) - 1) / c.Stride + 1;
        int outW = (c.W + 2 * c.Padding - c.Dilation * (c.Kernel - 1) - 1) / c.Stride + 1;
        // Scaled so that outputs reach past 6 and below 0: ReLU6 clips on both sides.
        var x = GradCheck.Uniform(seed, -3, 3, c.Batch, c.InChannels, c.H, c.W);
        var w = GradCheck.Uniform(seed + 1, -1, 1, c.OutChannels, c.InChannels / c.Groups, c.Kernel, c.Kernel);
        var bias = GradCheck.Uniform(seed + 2, -1, 1, c.OutChannels);
        var residual = GradCheck.Uniform(seed + 3, -4, 4, c.Batch, c.OutChannels, outH, outW);
        var bn = new BatchNormStatistics(GradCheck.Uniform(seed + 4, -1, 1, c.OutChannels), GradCheck.Uniform(seed + 5, 0.2f, 3, c.OutChannels),
            GradCheck.Uniform(seed + 6, 0.5f, 1.5f, c.OutChannels), GradCheck.Uniform(seed + 7, -1, 1, c.OutChannels), 1e-5);
        return new Operands(x, w, bias, residual, bn, c);
    }

    private static Tensor Fused(Operands o, bool batchNorm, FusedActivation activation, bool residual = true)
    {
        using var _ = GradMode.NoGrad();
        return Functional.Conv2dFused(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, o.Case.Groups,
            batchNorm ? o.Bn : null, residual ? o.Residual : null, activation);
    }

    /// <summary>conv2d, batch_norm (eval), add and the activation as the separate ops every training step runs.</summary>
    private static Tensor Separate(Operands o, bool batchNorm, FusedActivation activation, bool residual = true)
    {
        using var _ = GradMode.NoGrad();
        var y = Functional.Conv2d(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, o.Case.Groups);
        if (batchNorm) y = Functional.BatchNorm(y, o.Bn.RunningMean, o.Bn.RunningVar, o.Bn.Weight, o.Bn.Bias, training: false, eps: o.Bn.Eps);
        if (residual) y += o.Residual;
        return activation switch
        {
            FusedActivation.Relu => y.Relu(),
            FusedActivation.Relu6 => y.Relu6(),
            FusedActivation.Hardswish => y.Hardswish(),
            _ => y,
        };
    }

    [Theory]
    [MemberData(nameof(CasesAndActivations))]
    public void Bias_residual_and_activation_in_the_epilogue_equal_the_separate_ops_exactly(int index, FusedActivation activation)
    {
        var o = Make(Cases[index], 10 * index);
        var expected = Separate(o, batchNorm: false, activation).ToArray();
        Assert.Equal(expected, Fused(o, batchNorm: false, activation).ToArray());
        Assert.Equal(Separate(o, false, activation, residual: false).ToArray(), Fused(o, false, activation, residual: false).ToArray());
        if (activation == FusedActivation.Relu6)
        {
            Assert.Contains(expected, v => v == 6f);
            Assert.Contains(expected, v => v == 0f);
        }
        if (activation == FusedActivation.Hardswish)
        {
            // All three pieces of hardswish: zero below −3, the curve, identity above 3.
            var before = Separate(o, batchNorm: false, FusedActivation.None).ToArray();
            Assert.Contains(before, v => v < -3f);
            Assert.Contains(before, v => v is > -3f and < 3f and not 0f);
            Assert.Contains(before, v => v > 3f);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void An_output_buffer_with_room_receives_the_result(int index)
    {
        var o = Make(Cases[index], 10 * index + 5);
        var expected = Fused(o, batchNorm: true, FusedActivation.Relu).ToArray();
        var buffer = Tensor.Full(new Shape(expected.Length + 7), float.NaN);
        Tensor y;
        using (GradMode.NoGrad())
            y = Functional.Conv2dFused(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, o.Case.Groups, o.Bn, o.Residual,
                FusedActivation.Relu, outputBuffer: buffer);
        Assert.Same(buffer.Storage, y.Storage);
        Assert.Equal(o.Residual.Shape, y.Shape);
        Assert.Equal(expected, y.ToArray());
        // The result is the buffer's first elements; the rest is untouched.
        Assert.Equal(expected, buffer.ToArray().Take(expected.Length));
        Assert.All(buffer.ToArray().Skip(expected.Length), v => Assert.True(float.IsNaN(v)));

        // A second call into the same buffer overwrites it completely.
        var other = Make(Cases[index], 10 * index + 6);
        using (GradMode.NoGrad())
            y = Functional.Conv2dFused(other.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, o.Case.Groups, o.Bn, null,
                FusedActivation.None, outputBuffer: buffer);
        Assert.Same(buffer.Storage, y.Storage);
        Assert.Equal(Fused(other with { Weight = o.Weight, Bias = o.Bias, Bn = o.Bn }, batchNorm: true, FusedActivation.None, residual: false).ToArray(),
            y.ToArray());
    }

    [Fact]
    public void An_output_buffer_that_is_too_small_aliases_an_operand_or_is_in_a_graph_is_not_used()
    {
        var o = Make(Cases[0], 7);
        int length = (int)o.Residual.Numel;
        var expected = Fused(o, batchNorm: false, FusedActivation.Relu).ToArray();
        var residualCopy = o.Residual.ToArray();
        var small = Tensor.Zeros(length - 1);
        var strided = Tensor.Zeros(49, length / 49).Transpose(0, 1);
        Assert.False(strided.IsContiguous);
        var inGraph = Tensor.Zeros(length);
        inGraph.RequiresGrad = true;
        Tensor?[] rejected = [small, strided, inGraph, o.Residual, Tensor.Zeros(new Shape(length), DType.Int32)];
        foreach (var buffer in rejected)
        {
            Tensor y;
            using (GradMode.NoGrad())
                y = Functional.Conv2dFused(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, 1, null, o.Residual, FusedActivation.Relu,
                    outputBuffer: buffer);
            Assert.True(!ReferenceEquals(buffer!.Storage, y.Storage), $"buffer {buffer} was used");
            Assert.Equal(expected, y.ToArray());
        }
        Assert.Equal(residualCopy, o.Residual.ToArray());

        // With a graph recorded the separate ops run and return their own tensor.
        var buffered = Tensor.Zeros(length);
        var w = o.Weight.Detach();
        w.RequiresGrad = true;
        var recorded = Functional.Conv2dFused(o.X, w, o.Bias, o.Stride, o.Padding, o.Dilation, 1, null, o.Residual, FusedActivation.Relu,
            outputBuffer: buffered);
        Assert.NotSame(buffered.Storage, recorded.Storage);
        Assert.All(buffered.ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(expected, recorded.ToArray());
    }

    [Theory]
    [MemberData(nameof(CasesAndActivations))]
    public void Folded_batch_norm_is_close_to_the_separate_ops(int index, FusedActivation activation)
    {
        var o = Make(Cases[index], 10 * index + 3);
        // Folding rounds the scaled weights once: a few float ulps of each product, not an exact match.
        TensorAssert.Close(Separate(o, batchNorm: true, activation).ToArray(), Fused(o, batchNorm: true, activation), 2e-5, "folded");
    }

    [Fact]
    public void Cached_weights_are_remade_after_any_source_is_written()
    {
        var o = Make(Cases[0], 99);
        var first = Fused(o, true, FusedActivation.Relu);

        // Each write changes the result; a stale packed or folded weight would still give the previous one.
        var writes = new (string What, Action Write)[]
        {
            ("conv weight (in place through its span)", () => o.Weight.AsSpan()[5] += 0.5f),
            ("conv weight (CopyFrom)", () => o.Weight.CopyFrom(GradCheck.Uniform(7, -1, 1, o.Weight.Shape.ToArray()))),
            ("conv bias", () => o.Bias.AsSpan()[0] -= 2f),
            ("running mean", () => o.Bn.RunningMean.CopyFrom(GradCheck.Uniform(8, -1, 1, o.Case.OutChannels))),
            ("running var", () => o.Bn.RunningVar.AsSpan()[1] *= 4f),
            ("BN weight", () => o.Bn.Weight!.AsSpan()[2] = -1f),
            ("BN bias", () => o.Bn.Bias!.AsSpan()[3] += 1f),
        };
        var previous = first.ToArray();
        foreach (var (what, write) in writes)
        {
            write();
            var fused = Fused(o, true, FusedActivation.Relu);
            Assert.NotEqual(previous, fused.ToArray());
            TensorAssert.Close(Separate(o, true, FusedActivation.Relu).ToArray(), fused, 2e-5, what);
            previous = fused.ToArray();
        }

        // A different eps or a different set of statistics is a different fold too.
        var otherEps = o with { Bn = o.Bn with { Eps = 0.5 } };
        TensorAssert.Close(Separate(otherEps, true, FusedActivation.None).ToArray(), Fused(otherEps, true, FusedActivation.None), 2e-5, "eps");
        TensorAssert.Close(Separate(o, false, FusedActivation.None).ToArray(), Fused(o, false, FusedActivation.None), 0, "unfolded after folded");
    }

    /// <summary>
    /// Once prepared, the packed (and folded) weight is reused: a second call reads none of its sources (every read of a
    /// storage's data moves its version, so an unchanged version means no repacking) and gives the same bits.
    /// </summary>
    [Fact]
    public void A_second_call_reads_no_source_and_reuses_the_prepared_weight()
    {
        var o = Make(Cases[0], 17);
        var first = Fused(o, true, FusedActivation.Relu).ToArray();
        Tensor[] sources = [o.Weight, o.Bias, o.Bn.RunningMean, o.Bn.RunningVar, o.Bn.Weight!, o.Bn.Bias!];
        var versions = sources.Select(t => t.Storage.Version).ToArray();
        var second = Fused(o, true, FusedActivation.Relu).ToArray();
        Assert.Equal(versions, sources.Select(t => t.Storage.Version).ToArray());
        Assert.Equal(first, second);
    }

    [Fact]
    public void Without_a_graph_nothing_is_recorded_and_with_one_it_runs_the_differentiable_ops()
    {
        var o = Make(Cases[2], 5);
        o.X.RequiresGrad = true;
        o.Weight.RequiresGrad = true;
        o.Bn.Weight!.RequiresGrad = true;

        var inference = Fused(o, true, FusedActivation.Relu);
        Assert.Null(inference.GradFn);
        Assert.False(inference.RequiresGrad);

        var trained = Functional.Conv2dFused(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, 1, o.Bn, o.Residual, FusedActivation.Relu);
        Assert.True(trained.RequiresGrad);
        trained.Sum().Backward();
        Assert.NotNull(o.X.Grad);
        Assert.NotNull(o.Bn.Weight.Grad);
        TensorAssert.Close(inference.ToArray(), trained, 2e-5, "graph path");

        // A trace (ONNX export) sees the separate ops even without a graph.
        using var _ = GradMode.NoGrad();
        using var recorder = OpRecorder.Start();
        Functional.Conv2dFused(o.X, o.Weight, o.Bias, o.Stride, o.Padding, o.Dilation, 1, o.Bn, o.Residual, FusedActivation.Relu);
        Assert.Equal(["Conv2d", "BatchNorm", "Add", "Relu"], recorder.Ops.Select(op => op.Op));
    }

    [Fact]
    public void Bad_operands_are_named()
    {
        var o = Make(Cases[0], 1);
        using var _ = GradMode.NoGrad();
        var wrongResidual = Assert.ThrowsAny<Exception>(() => Functional.Conv2dFused(o.X, o.Weight, o.Bias, 1, 0, 1, 1,
            residual: Tensor.Zeros(1, 40, 7, 6)));
        Assert.Contains("residual", wrongResidual.Message);
        var wrongMean = Assert.ThrowsAny<Exception>(() => Functional.Conv2dFused(o.X, o.Weight, o.Bias, 1, 0, 1, 1,
            o.Bn with { RunningMean = Tensor.Zeros(39) }));
        Assert.Contains("running_mean", wrongMean.Message);
    }
}
