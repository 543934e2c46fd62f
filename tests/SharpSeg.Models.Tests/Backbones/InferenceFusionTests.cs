using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// Whole backbones in evaluation mode: the inference path (no graph: BatchNorm folded into the convolutions, residual
/// add and ReLU in their epilogue, packed weights cached) gives the features the separate ops give when a graph is
/// recorded, and records nothing.
/// </summary>
public sealed class InferenceFusionTests
{
    [Theory]
    [InlineData("resnet18")]           // torchvision BasicBlock, 7×7 stem, conv+BN shortcut
    [InlineData("resnet50_vd")]        // Bottleneck, three-conv stem, pool+conv+BN shortcut
    [InlineData("hrnet_w18_small_v1")] // HRNet's own blocks with the residual fused into the second convolution
    [InlineData("mobilenetv2_x0.5")]   // ConvBnAct with ReLU6, depthwise, linear projection plus residual
    [InlineData("mobilenet_v3_large")] // torchvision's conv-BN-act Sequentials: hardswish in the epilogue, squeeze-excite
    public void Fused_inference_matches_the_recorded_separate_ops(string name)
    {
        var backbone = Randomized(name);
        // Running statistics away from (0, 1), so that folding them in matters.
        var x = Tensor.Randn(new Shape(1, 3, 64, 64), new Random(4));

        var recorded = backbone.ForwardFeatures(x);
        Assert.All(recorded, f => Assert.True(f.RequiresGrad));
        IReadOnlyList<Tensor> fused;
        using (GradMode.NoGrad()) fused = backbone.ForwardFeatures(x);

        Assert.Equal(recorded.Count, fused.Count);
        for (int i = 0; i < fused.Count; i++)
        {
            Assert.False(fused[i].RequiresGrad);
            Assert.True(fused[i].IsLeaf);
            var expected = recorded[i].ToArray();
            var actual = fused[i].ToArray();
            double scale = expected.Max(v => Math.Abs(v));
            Assert.True(scale > 0);
            for (int j = 0; j < expected.Length; j++)
                Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-4 * scale, $"{name} feature {i}[{j}]: {expected[j]} vs {actual[j]} (scale {scale})");
        }
    }

    /// <summary>
    /// Blocks write their intermediate results into per-thread buffers reused by the next block and the next call: the
    /// features a call returned must survive later calls (no buffer escapes a block), and a later call on other data,
    /// from another thread, or in training mode must not change what an inference call computes.
    /// </summary>
    [Theory]
    [InlineData("resnet50_vd")]
    [InlineData("resnet18")]
    [InlineData("hrnet_w18_small_v1")]
    [InlineData("mobilenetv2_x0.5")]
    [InlineData("mobilenet_v3_large")]
    public void Reused_block_buffers_never_change_returned_features(string name)
    {
        var backbone = Randomized(name);
        var first = Tensor.Randn(new Shape(1, 3, 64, 64), new Random(5));
        var second = Tensor.Randn(new Shape(2, 3, 96, 64), new Random(6));
        // A training-mode call with a graph first: its results must never become buffers (backward may read them).
        backbone.Module.Train();
        var trained = backbone.ForwardFeatures(second);
        var trainedValues = trained.Select(f => f.ToArray()).ToArray();
        backbone.Module.Eval();

        IReadOnlyList<Tensor> firstFeatures, secondFeatures, again;
        using (GradMode.NoGrad()) firstFeatures = backbone.ForwardFeatures(first);
        var firstValues = firstFeatures.Select(f => f.ToArray()).ToArray();
        using (GradMode.NoGrad()) secondFeatures = backbone.ForwardFeatures(second);
        var secondValues = secondFeatures.Select(f => f.ToArray()).ToArray();
        // Another thread has its own buffers.
        float[][] onOtherThread = [];
        var thread = new Thread(() =>
        {
            using var _ = GradMode.NoGrad();
            onOtherThread = backbone.ForwardFeatures(first).Select(f => f.ToArray()).ToArray();
        });
        thread.Start();
        thread.Join();
        using (GradMode.NoGrad()) again = backbone.ForwardFeatures(first);

        for (int i = 0; i < firstFeatures.Count; i++)
        {
            Assert.Equal(trainedValues[i], trained[i].ToArray());
            Assert.Equal(firstValues[i], firstFeatures[i].ToArray());
            Assert.Equal(secondValues[i], secondFeatures[i].ToArray());
            Assert.Equal(firstValues[i], onOtherThread[i]);
            Assert.Equal(firstValues[i], again[i].ToArray());
        }
    }

    /// <summary>A backbone in evaluation mode with running statistics away from (0, 1), so that folding them in matters.</summary>
    private static IBackbone Randomized(string name)
    {
        var backbone = ModelRegistry.CreateBackbone(name);
        var random = new Random(3);
        foreach (var (key, tensor) in backbone.Module.StateDict())
        {
            if (key.EndsWith("running_mean", StringComparison.Ordinal)) Init.Uniform(tensor, -0.2, 0.2, random);
            if (key.EndsWith("running_var", StringComparison.Ordinal)) Init.Uniform(tensor, 0.5, 2, random);
        }
        backbone.Module.Eval();
        return backbone;
    }
}
