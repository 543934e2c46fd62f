using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>timm-style contract tests over every registered backbone: a new registry entry is tested automatically.</summary>
public class BackboneRegistryTests
{
    public static TheoryData<string> AllBackbones() =>
        [.. ModelRegistry.List().Where(e => e.Kind == RegistryKind.Backbone).Select(e => e.Name)];

    /// <summary>
    /// Every backbone but the largest (whose random initialisation alone takes seconds); those stack exactly the blocks
    /// of their smaller siblings, which these cover.
    /// </summary>
    public static TheoryData<string> TrainableBackbones() =>
        [.. ModelRegistry.List().Where(e => e.Kind == RegistryKind.Backbone && !BackboneCache.Large.Contains(e.Name)).Select(e => e.Name)];

    [Fact]
    public void RegistryListsEveryResNetVariant()
    {
        string[] expected =
        [
            "resnet18_vd", "resnet34_vd", "resnet50_vd", "resnet101_vd", "resnet152_vd", "resnet200_vd",
            "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
            "wide_resnet50_2", "wide_resnet101_2",
        ];
        var names = ModelRegistry.List().Where(e => e.Kind == RegistryKind.Backbone).Select(e => e.Name).ToHashSet();
        Assert.All(expected, name => Assert.Contains(name, names));
        Assert.IsType<ResNetVd>(ModelRegistry.CreateBackbone("resnet18_vd"));
        var resnet18 = Assert.IsType<TorchvisionResNet>(ModelRegistry.CreateBackbone("resnet18"));
        Assert.Equal(0, resnet18.NumClasses);
    }

    [Theory]
    [MemberData(nameof(AllBackbones))]
    public void FeatureInfoNamesRealModulesWithGrowingReductions(string name)
    {
        var backbone = BackboneCache.Get(name);
        Assert.Same(backbone, backbone.Module);
        Assert.Equal(32, backbone.OutputStride);
        Assert.Equal(3, backbone.InChannels);
        var modules = backbone.Module.NamedModules().Select(m => m.Name).ToHashSet();
        Assert.All(backbone.FeatureInfo, f => Assert.Contains(f.Module, modules));
        Assert.Equal([4, 8, 16, 32], backbone.FeatureInfo.Select(f => f.Reduction));
        Assert.Equal(backbone.OutputStride, backbone.FeatureInfo[^1].Reduction);
        Assert.Equal(0, backbone.FeatureIndex(4));
    }

    [Theory]
    [MemberData(nameof(AllBackbones))]
    public void ForwardGivesTheFeatureInfoShapesAtTwoSizes(string name)
    {
        var backbone = BackboneCache.Get(name);
        backbone.Module.Eval();
        // The largest entries run at the smallest sizes that still exercise every stride (odd sizes round up at each one).
        bool large = BackboneCache.Large.Contains(name);
        using (GradMode.NoGrad())
        {
            AssertFeatureShapes(backbone, 1, large ? 32 : 64, large ? 32 : 64);
            AssertFeatureShapes(backbone, 1, large ? 33 : 65, large ? 31 : 47);
        }
    }

    [Theory]
    [InlineData("resnet18_vd", 8)]
    [InlineData("resnet18_vd", 16)]
    [InlineData("resnet50_vd", 8)]
    [InlineData("resnet18", 8)]
    [InlineData("resnet18", 16)]
    [InlineData("resnext50_32x4d", 16)]
    public void DilatedOutputStridesKeepTheDeepFeaturesAtTheStride(string name, int outputStride)
    {
        var backbone = ModelRegistry.CreateBackbone(name, new BackboneOptions(OutputStride: outputStride));
        Assert.Equal(outputStride, backbone.OutputStride);
        Assert.Equal(new[] { 4, 8, 16, 32 }.Select(r => Math.Min(r, outputStride)), backbone.FeatureInfo.Select(f => f.Reduction));
        backbone.Module.Eval();
        using (GradMode.NoGrad()) AssertFeatureShapes(backbone, 1, 33, 31);
    }

    [Theory]
    [MemberData(nameof(TrainableBackbones))]
    public void BackwardReachesEveryParameterWithFiniteGradients(string name)
    {
        var backbone = ModelRegistry.CreateBackbone(name);
        var features = backbone.ForwardFeatures(FormulaInput(2, 3, 33, 29));
        var loss = features.Select(f => (f * f).Sum()).Aggregate((a, b) => a + b);
        loss.Backward();
        foreach (var (key, parameter) in backbone.Module.NamedParameters())
        {
            Assert.True(parameter.Grad is not null, $"{name}: no gradient reached {key}");
            var grad = parameter.Grad!.ToArray();
            Assert.True(grad.All(float.IsFinite), $"{name}: non-finite gradient in {key}");
            Assert.True(grad.Any(g => g != 0), $"{name}: all-zero gradient in {key}");
        }
    }

    private static Tensor FormulaInput(params int[] shape) => FormulaWeights.Input(shape);

    private static void AssertFeatureShapes(IBackbone backbone, int n, int h, int w)
    {
        var features = backbone.ForwardFeatures(FormulaInput(n, backbone.InChannels, h, w));
        Assert.Equal(backbone.FeatureInfo.Count, features.Count);
        for (int i = 0; i < features.Count; i++)
        {
            var info = backbone.FeatureInfo[i];
            // Every downsampling (3×3/2 pad 1, 7×7/2 pad 3, max pool 3/2 pad 1, ceil-mode 2×2 average pool) maps n to ⌈n/2⌉.
            var expected = new Shape(n, info.Channels, (h + info.Reduction - 1) / info.Reduction, (w + info.Reduction - 1) / info.Reduction);
            Assert.True(expected == features[i].Shape, $"feature {i} ({info.Module}) at {h}×{w}: expected {expected}, got {features[i].Shape}");
            Assert.True(features[i].ToArray().All(float.IsFinite), $"feature {i} ({info.Module}) has non-finite values");
        }
    }
}
