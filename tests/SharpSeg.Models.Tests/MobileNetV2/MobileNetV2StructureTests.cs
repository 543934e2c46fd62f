using System.Reflection;
using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>MobileNetV2's channel rounding, feature contract, output strides and registration.</summary>
public class MobileNetV2StructureTests
{
    [Theory]
    // torchvision _make_divisible(c · width, 8) for c = 32, 16, 24, 32, 64, 96, 160, 320 (PaddleX 1.x's int(c · width)
    // differs at ×0.25 (16 → 4, 24 → 6), ×0.5 (24 → 12) and ×1.5 (24 → 36)).
    [InlineData(0.25, new[] { 8, 8, 8, 8, 16, 24, 40, 80 })]
    [InlineData(0.5, new[] { 16, 8, 16, 16, 32, 48, 80, 160 })]
    [InlineData(1.0, new[] { 32, 16, 24, 32, 64, 96, 160, 320 })]
    [InlineData(1.5, new[] { 48, 24, 40, 48, 96, 144, 240, 480 })]
    [InlineData(2.0, new[] { 64, 32, 48, 64, 128, 192, 320, 640 })]
    public void ChannelsAreRoundedAsTorchvisionDoes(double width, int[] expected)
    {
        int[] baseChannels = [32, 16, 24, 32, 64, 96, 160, 320];
        Assert.Equal(expected, baseChannels.Select(c => ChannelRounding.MakeDivisible(c * width)));
        Assert.Equal(width > 1 ? (int)(1280 * width) : 1280, ChannelRounding.MakeDivisible(1280 * Math.Max(1, width)));
    }

    [Theory]
    [InlineData(32, new[] { 4, 8, 16, 32 })]
    [InlineData(16, new[] { 4, 8, 16, 16 })]
    [InlineData(8, new[] { 4, 8, 8, 8 })]
    public void FeaturesAreTheLastBlockAtEachResolution(int outputStride, int[] reductions)
    {
        var model = new MobileNetV2(1.0, 0, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        Assert.Equal(outputStride, model.OutputStride);
        Assert.Equal([24, 32, 96, 320], model.FeatureInfo.Select(f => f.Channels));
        Assert.Equal(reductions, model.FeatureInfo.Select(f => f.Reduction));
        Assert.Equal(["features.3", "features.6", "features.13", "features.17"], model.FeatureInfo.Select(f => f.Module));
        var modules = model.NamedModules().Select(m => m.Name).ToHashSet();
        Assert.All(model.FeatureInfo, f => Assert.Contains(f.Module, modules));
        Assert.DoesNotContain("features.18", modules);
    }

    [Theory]
    [InlineData(32, 33, 31)]
    [InlineData(16, 33, 31)]
    [InlineData(8, 17, 9)]
    public void AnyInputSizeGivesCeilingSizedFeatures(int outputStride, int h, int w)
    {
        var model = new MobileNetV2(0.25, 0, new BackboneOptions(InChannels: 1, OutputStride: outputStride), initializeWeights: false);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var features = model.ForwardFeatures(FormulaWeights.Input(2, 1, h, w));
            for (int i = 0; i < features.Count; i++)
            {
                int r = model.FeatureInfo[i].Reduction;
                Assert.Equal(new Shape(2, model.FeatureInfo[i].Channels, (h + r - 1) / r, (w + r - 1) / r), features[i].Shape);
            }
        }
    }

    [Fact]
    public void ClassifierGivesOneLogitPerClassAndTheHeadlessBackboneRefusesToClassify()
    {
        var model = new MobileNetV2(0.25, 7, new BackboneOptions(OutputStride: 16), initializeWeights: false);
        model.Eval();
        using (GradMode.NoGrad()) Assert.Equal(new Shape(2, 7), model.Forward(FormulaWeights.Input(2, 3, 21, 19)).Shape);
        var headless = new MobileNetV2(0.25, 0, initializeWeights: false);
        Assert.Throws<InvalidOperationException>(() => headless.Forward(FormulaWeights.Input(1, 3, 32, 32)));
    }

    [Fact]
    public void TorchvisionInitialisationDrawsFanOutKaimingConvolutionsAndSmallLinearWeights()
    {
        Engine.ManualSeed(1);
        var model = new MobileNetV2(1.0, 1000);
        var state = model.StateDict();
        // features.18.0: 1280 × 320 × 1 × 1, fan_out 1280 → std √(2 / 1280) ≈ 0.0395; classifier.1: std 0.01, bias 0.
        Assert.InRange(StandardDeviation(state["features.18.0.weight"].ToArray()), 0.0375, 0.0415);
        Assert.InRange(StandardDeviation(state["classifier.1.weight"].ToArray()), 0.0095, 0.0105);
        Assert.All(state["classifier.1.bias"].ToArray(), b => Assert.Equal(0f, b));
        Assert.All(state["features.5.conv.1.1.weight"].ToArray(), g => Assert.Equal(1f, g));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(64)]
    public void UnsupportedOutputStridesAreRefusedNamingTheAllowedOnes(int outputStride)
    {
        var error = Assert.Throws<ArgumentException>(() => new MobileNetV2(1.0, 0, new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("MobileNetV2", error.Message);
        Assert.Contains("8, 16 or 32", error.Message);
    }

    [Fact]
    public void OptionsThatDoNotApplyAndBadWidthsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new MobileNetV2(1.0, 0, new BackboneOptions(MultiGrid: [1, 2, 4])));
        Assert.Throws<ArgumentException>(() => new MobileNetV2(1.0, 0, new BackboneOptions(LrMultList: [1, 1, 1, 1])));
        Assert.Throws<ArgumentException>(() => new MobileNetV2(0, 0));
        Assert.Throws<ArgumentException>(() => new MobileNetV2(double.NaN, 0));
    }

    [Fact]
    public void EveryWidthIsRegisteredWithADescriptionAndTheDefaultWidthAnswersToMobileNetV2()
    {
        string[] names = ["mobilenetv2_x0.25", "mobilenetv2_x0.5", "mobilenetv2_x1.0", "mobilenetv2_x1.5", "mobilenetv2_x2.0"];
        var entries = ModelRegistry.List().Where(e => e.Kind == RegistryKind.Backbone).ToDictionary(e => e.Name);
        foreach (string name in names)
        {
            var attribute = entries[name].Factory.GetCustomAttributes<RegisterBackboneAttribute>().Single();
            Assert.False(string.IsNullOrWhiteSpace(attribute.Description));
        }
        Assert.Equal(["mobilenet_v2"], entries["mobilenetv2_x1.0"].Factory.GetCustomAttribute<RegisterBackboneAttribute>()!.Aliases);
        var backbone = Assert.IsType<MobileNetV2>(ModelRegistry.CreateBackbone("mobilenetv2_x0.5", new BackboneOptions(OutputStride: 8)));
        Assert.Equal(8, backbone.OutputStride);
        Assert.Equal(0, backbone.NumClasses);
    }

    private static double StandardDeviation(float[] values)
    {
        double mean = values.Average(v => (double)v);
        return Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
    }
}
