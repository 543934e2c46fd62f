using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.MobileNetV3Family;

/// <summary>Layer settings of both flavours against torchvision 0.14's and PaddleSeg 2.6+'s sources, and the option contract.</summary>
public class MobileNetV3StructureTests
{
    [Theory]
    [InlineData(MobileNetV3Arch.Large, MobileNetV3Flavour.PaddleSeg, new[] { 24, 40, 112, 160 }, new[] { "features.3", "features.6", "features.12", "features.15" })]
    [InlineData(MobileNetV3Arch.Small, MobileNetV3Flavour.PaddleSeg, new[] { 16, 24, 48, 96 }, new[] { "features.1", "features.3", "features.8", "features.11" })]
    [InlineData(MobileNetV3Arch.Large, MobileNetV3Flavour.Torchvision, new[] { 24, 40, 112, 960 }, new[] { "features.3", "features.6", "features.12", "features.16" })]
    [InlineData(MobileNetV3Arch.Small, MobileNetV3Flavour.Torchvision, new[] { 16, 24, 48, 576 }, new[] { "features.1", "features.3", "features.8", "features.12" })]
    public void FeaturesAreTheOutIndexBlocksAndForTorchvisionTheLastConvolution(MobileNetV3Arch arch, MobileNetV3Flavour flavour, int[] channels, string[] modules)
    {
        var model = new MobileNetV3(arch, flavour, initializeWeights: false);
        Assert.Equal(channels, model.FeatureInfo.Select(f => f.Channels));
        Assert.Equal(modules, model.FeatureInfo.Select(f => f.Module));
        Assert.Equal([4, 8, 16, 32], model.FeatureInfo.Select(f => f.Reduction));
    }

    [Theory]
    // PaddleSeg's NET_CONFIG["large_os8"] / ["small_os8"] dilations; OS 16 by the same rule.
    [InlineData(MobileNetV3Arch.Large, MobileNetV3Flavour.PaddleSeg, 8, new[] { 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 4, 4 })]
    [InlineData(MobileNetV3Arch.Small, MobileNetV3Flavour.PaddleSeg, 8, new[] { 1, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4 })]
    [InlineData(MobileNetV3Arch.Large, MobileNetV3Flavour.PaddleSeg, 16, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2 })]
    // torchvision's _mobilenet_v3_conf(dilated=True): the last stage, its first block included, at dilation 2.
    [InlineData(MobileNetV3Arch.Large, MobileNetV3Flavour.Torchvision, 16, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2 })]
    [InlineData(MobileNetV3Arch.Small, MobileNetV3Flavour.Torchvision, 16, new[] { 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2 })]
    [InlineData(MobileNetV3Arch.Small, MobileNetV3Flavour.Torchvision, 8, new[] { 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4 })]
    public void OutputStrideTurnsStridesIntoEachFlavoursDilations(MobileNetV3Arch arch, MobileNetV3Flavour flavour, int outputStride, int[] dilations)
    {
        var model = new MobileNetV3(arch, flavour, options: new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        var depthwise = DepthwiseConvolutions(model);
        Assert.Equal(dilations, depthwise.Select(c => c.Options.Dilation.H));
        Assert.Equal(outputStride, 2 * depthwise.Aggregate(1, (product, c) => product * c.Options.Stride.H));
        Assert.All(depthwise, c => Assert.Equal(c.Options.Dilation.H * (c.Options.KernelSize.H - 1) / 2, c.Options.Padding.H));
    }

    [Theory]
    [InlineData(MobileNetV3Flavour.PaddleSeg, 2)]
    [InlineData(MobileNetV3Flavour.PaddleSeg, 4)]
    [InlineData(MobileNetV3Flavour.PaddleSeg, 16)]
    [InlineData(MobileNetV3Flavour.Torchvision, 4)]
    [InlineData(MobileNetV3Flavour.Torchvision, 8)]
    [InlineData(MobileNetV3Flavour.Torchvision, 16)]
    public void EveryOutputStrideGivesFeaturesAtTheClampedReductionsForOddSizes(MobileNetV3Flavour flavour, int outputStride)
    {
        var model = new MobileNetV3(MobileNetV3Arch.Small, flavour, 0.35, 0, new BackboneOptions(OutputStride: outputStride));
        Assert.Equal(outputStride, model.OutputStride);
        Assert.Equal(new[] { 4, 8, 16, 32 }.Select(r => Math.Min(r, outputStride)), model.FeatureInfo.Select(f => f.Reduction));
        model.Eval();
        IReadOnlyList<Tensor> features;
        using (GradMode.NoGrad()) features = model.ForwardFeatures(FormulaWeights.Input(1, 3, 33, 19));
        for (int i = 0; i < 4; i++)
        {
            int r = model.FeatureInfo[i].Reduction;
            Assert.Equal(new Shape(1, model.FeatureInfo[i].Channels, (33 + r - 1) / r, (19 + r - 1) / r), features[i].Shape);
        }
    }

    [Fact]
    public void DefaultsAreTorchvisionAtOutputStride32WithoutClassifier()
    {
        var model = new MobileNetV3(MobileNetV3Arch.Large, initializeWeights: false);
        Assert.Equal(MobileNetV3Flavour.Torchvision, model.Flavour);
        Assert.Equal(32, model.OutputStride);
        Assert.Equal(0, model.NumClasses);
        Assert.DoesNotContain(model.StateDict().Keys, k => k.StartsWith("classifier", StringComparison.Ordinal));
        Assert.Throws<InvalidOperationException>(() => model.Forward(FormulaWeights.Input(1, 3, 32, 32)));
    }

    [Theory]
    [InlineData(12)]
    [InlineData(1)]
    [InlineData(64)]
    public void UnsupportedOutputStridesAreRefusedNamingTheAllowedOnes(int outputStride)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelRegistry.CreateBackbone("mobilenetv3_small_x0_35", new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("MobileNetV3", e.Message, StringComparison.Ordinal);
        Assert.Contains("2, 4, 8, 16 or 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PaddleSegFlavourRefusesAClassifier()
    {
        var e = Assert.Throws<ArgumentException>(() => new MobileNetV3(MobileNetV3Arch.Small, MobileNetV3Flavour.PaddleSeg, numClasses: 10));
        Assert.Contains("PaddleSeg", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MobileNetV3Flavour.Torchvision, 0.001, 0.01, 24, false)] // _make_divisible(72 // 4, 8); no expansion in block 0
    [InlineData(MobileNetV3Flavour.PaddleSeg, 1e-5, 0.1, 18, true)] // 72 // 4; Paddle BatchNorm momentum 0.9
    public void FlavoursDifferInNormalisationSqueezeWidthAndBlockZeroExpansion(MobileNetV3Flavour flavour, double eps, double momentum, int squeeze,
        bool blockZeroExpands)
    {
        var model = new MobileNetV3(MobileNetV3Arch.Large, flavour, initializeWeights: false);
        Assert.All(model.Modules().OfType<BatchNorm2d>(), bn => Assert.Equal((eps, momentum), (bn.Eps, bn.Momentum!.Value)));
        var state = model.StateDict();
        Assert.Equal(new Shape(squeeze, 72, 1, 1), state["features.4.block.2.fc1.weight"].Shape); // block 3: 24 → 72 expanded, SE
        Assert.Equal(blockZeroExpands ? new Shape(16, 16, 1, 1) : new Shape(16, 1, 3, 3), state["features.1.block.0.0.weight"].Shape);
    }

    [Theory]
    [InlineData(MobileNetV3Flavour.PaddleSeg, 0.7f)] // Paddle's hardsigmoid(x, slope=0.2, offset=0.5) at x = 1
    [InlineData(MobileNetV3Flavour.Torchvision, 4f / 6)] // torch's hardsigmoid: relu6(x + 3) / 6 at x = 1
    public void SqueezeExciteGateIsEachFlavoursHardSigmoid(MobileNetV3Flavour flavour, float gate)
    {
        // Small's block 0 squeezes 16 channels; with fc1 averaging them, fc2 averaging those and no biases, an input of ones
        // gives the score 1 everywhere, and the block returns the gate itself.
        var model = new MobileNetV3(MobileNetV3Arch.Small, flavour, initializeWeights: false);
        var se = (TensorModule)model.NamedModules().First(m => m.Module.NamedChildren().Any(c => c.Name == "fc1")).Module;
        foreach (var (key, tensor) in se.StateDict())
            tensor.CopyFrom(key.EndsWith("bias", StringComparison.Ordinal) ? Tensor.Zeros(tensor.Shape) : Tensor.Full(tensor.Shape, 1f / tensor.Shape[1]));
        Assert.All(se.Forward(Tensor.Ones(1, 16, 2, 3)).ToArray(), v => Assert.Equal(gate, v, 6));
    }

    [Fact]
    public void PaddleSegInitialisationDrawsConvolutionsWithPaddlesFullInputChannelFan()
    {
        // Paddle's Conv2D default: normal(0, √(2 / (k·k·in_channels))) with the whole input width even for depthwise layers.
        var model = new MobileNetV3(MobileNetV3Arch.Large, MobileNetV3Flavour.PaddleSeg);
        var depthwise = model.StateDict()["features.14.block.1.0.weight"]; // 960 × 1 × 5 × 5
        var values = depthwise.ToArray();
        double std = Math.Sqrt(values.Select(v => (double)v * v).Average());
        Assert.InRange(std / Math.Sqrt(2.0 / (25 * 960)), 0.95, 1.05);
        Assert.All(model.StateDict().Where(p => p.Key.Contains(".fc", StringComparison.Ordinal) && p.Key.EndsWith("bias", StringComparison.Ordinal)),
            p => Assert.All(p.Value.ToArray(), v => Assert.Equal(0f, v)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void AnyInputChannelCountWorks(int inChannels)
    {
        var backbone = ModelRegistry.CreateBackbone("mobilenetv3_small_x0_35", new BackboneOptions(InChannels: inChannels));
        Assert.Equal(inChannels, backbone.InChannels);
        backbone.Module.Eval();
        using (GradMode.NoGrad())
            Assert.Equal(new Shape(2, 32, 1, 1), backbone.ForwardFeatures(FormulaWeights.Input(2, inChannels, 17, 23))[^1].Shape);
        Assert.Throws<ShapeMismatchException>(() => backbone.ForwardFeatures(FormulaWeights.Input(1, inChannels + 1, 17, 23)));
    }

    [Theory]
    [InlineData(0.35, 8, 8, 16, 32)]
    [InlineData(0.5, 8, 16, 24, 48)]
    [InlineData(0.75, 16, 24, 40, 72)]
    [InlineData(1.25, 24, 32, 64, 120)]
    public void WidthsRoundLikePaddleSegsMakeDivisible(double scale, int c0, int c1, int c2, int c3)
    {
        var model = new MobileNetV3(MobileNetV3Arch.Small, MobileNetV3Flavour.PaddleSeg, scale, initializeWeights: false);
        Assert.Equal([c0, c1, c2, c3], model.FeatureInfo.Select(f => f.Channels));
    }

    [Theory]
    [InlineData("mobilenetv3_small_x0_35")]
    [InlineData("mobilenetv3_small_x0_5")]
    [InlineData("mobilenetv3_small_x1_0")]
    [InlineData("mobilenetv3_large_x0_35")]
    [InlineData("mobilenet_v3_small")]
    public void BackwardReachesEveryParameterUnderFormulaWeights(string name)
    {
        // Under random initialisation PaddleSeg's narrowest squeeze-excite layers (8 // 4 = 2 ReLU units with zero bias, Small
        // x0.35 and x0.5) are dead for a quarter of the draws, as they are in Paddle; deterministic weights show the wiring.
        var backbone = ModelRegistry.CreateBackbone(name);
        FormulaWeights.Fill(backbone.Module);
        var loss = backbone.ForwardFeatures(FormulaWeights.Input(2, 3, 33, 29)).Select(f => (f * f).Sum()).Aggregate((a, b) => a + b);
        loss.Backward();
        foreach (var (key, parameter) in backbone.Module.NamedParameters())
        {
            var grad = Assert.IsType<Tensor>(parameter.Grad).ToArray();
            Assert.True(grad.All(float.IsFinite) && grad.Any(g => g != 0), $"{name}: zero or non-finite gradient in {key}");
        }
    }

    private static Conv2d[] DepthwiseConvolutions(MobileNetV3 model) =>
        [.. model.Modules().OfType<Conv2d>().Where(c => c.Options.Groups > 1)];
}
