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
    public void Fused_inference_matches_the_recorded_separate_ops(string name)
    {
        var backbone = ModelRegistry.CreateBackbone(name);
        var module = backbone.Module;
        // Running statistics away from (0, 1), so that folding them in matters.
        var random = new Random(3);
        foreach (var (key, tensor) in module.StateDict())
        {
            if (key.EndsWith("running_mean", StringComparison.Ordinal)) Init.Uniform(tensor, -0.2, 0.2, random);
            if (key.EndsWith("running_var", StringComparison.Ordinal)) Init.Uniform(tensor, 0.5, 2, random);
        }
        module.Eval();
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
}
