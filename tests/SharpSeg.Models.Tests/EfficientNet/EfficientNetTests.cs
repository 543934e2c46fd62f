using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.VggEfficientNet;

/// <summary>
/// torchvision's EfficientNet B0–B7 against tools/gen_models_golden_vgg_efficientnet.py (torchvision 0.14): keys,
/// parameter counts, outputs of formula-filled models (timm's dilation rule at output stride 8/16 applied to
/// torchvision's modules), BatchNorm settings, stochastic depth and loading torchvision checkpoints.
/// </summary>
public class EfficientNetTests
{
    private static readonly string[] Names = [.. Enum.GetValues<EfficientNetArch>().Select(a => $"efficientnet_{a.ToString().ToLowerInvariant()}")];

    [Fact]
    public void RegistryBuildsEveryVariantHeadlessWithoutStochasticDepth()
    {
        var b0 = Assert.IsType<EfficientNet>(ModelRegistry.CreateBackbone("efficientnet_b0"));
        Assert.Equal(0, b0.NumClasses);
        Assert.All(b0.Modules().OfType<MBConv>(), block => Assert.Equal(0, block.StochasticDepthProbability));
        Assert.All(Names, name => Assert.Contains(name, ModelRegistry.Names(RegistryKind.Backbone)));
    }

    [Fact]
    public void PublishedParameterCountsMatchTheReferenceFiles()
    {
        // torchvision 0.14's model cards (classifier with 1000 classes); the registry tests check the headless keys and
        // parameters against the same files.
        var published = new Dictionary<string, long>
        {
            ["efficientnet_b0"] = 5_288_548, ["efficientnet_b1"] = 7_794_184, ["efficientnet_b2"] = 9_109_994,
            ["efficientnet_b3"] = 12_233_232, ["efficientnet_b4"] = 19_341_616, ["efficientnet_b5"] = 30_389_784,
            ["efficientnet_b6"] = 43_040_704, ["efficientnet_b7"] = 66_347_960,
        };
        foreach (var (name, count) in published)
        {
            var file = KeyFile.Read(name);
            Assert.Equal(count, file.ParameterCount);
            Assert.Equal(["features.8.", "classifier."], file.ClassifierPrefixes);
        }
    }

    [Fact]
    public void B0ClassifierHasTorchvisionsKeysAndPublishedParameterCountAndItsOutputsMatchTorchvision()
    {
        var model = new EfficientNet(EfficientNetArch.B0, initializeWeights: false);
        Assert.Equal(KeyFile.Describe(KeyFile.Read("efficientnet_b0").Entries), KeyFile.Describe(model));
        Assert.Equal(5_288_548, model.ParameterCount);
        // B0–B4 keep PyTorch's BatchNorm defaults in torchvision 0.14.
        Assert.All(model.Modules().OfType<BatchNorm2d>(), bn => Assert.Equal((1e-5, 0.1), (bn.Eps, bn.Momentum!.Value)));

        FormulaWeights.Fill(model);
        model.Eval();
        var x = FormulaWeights.Input(1, 3, 33, 31);
        using (GradMode.NoGrad())
        {
            GoldenAssert.Close(TorchvisionGolden.Read("EfficientNet/efficientnet_b0_logits")["logits"], model.Forward(x), "efficientnet_b0 logits");
            TorchvisionGolden.AssertFeatures("EfficientNet/efficientnet_b0_features", model.ForwardFeatures(x));
        }
    }

    [Theory]
    [InlineData(16, new[] { 2, 4, 8, 16, 16 })]
    [InlineData(8, new[] { 2, 4, 8, 8, 8 })]
    public void DilatedB0FeaturesMatchTimmsRuleOnTorchvisionsModules(int outputStride, int[] reductions)
    {
        var backbone = new EfficientNet(EfficientNetArch.B0, numClasses: 0, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        Assert.Equal(outputStride, backbone.OutputStride);
        Assert.Equal(reductions, backbone.FeatureInfo.Select(f => f.Reduction));
        FormulaWeights.Fill(backbone);
        backbone.Eval();
        using (GradMode.NoGrad())
            TorchvisionGolden.AssertFeatures($"EfficientNet/efficientnet_b0_os{outputStride}_features", backbone.ForwardFeatures(FormulaWeights.Input(1, 3, 33, 31)));
    }

    [Fact]
    public void B5FeaturesMatchTorchvisionWithItsBatchNormEps()
    {
        var backbone = new EfficientNet(EfficientNetArch.B5, numClasses: 0, initializeWeights: false);
        Assert.All(backbone.Modules().OfType<BatchNorm2d>(), bn => Assert.Equal((1e-3, 0.01), (bn.Eps, bn.Momentum!.Value)));
        FormulaWeights.Fill(backbone);
        backbone.Eval();
        using (GradMode.NoGrad())
            TorchvisionGolden.AssertFeatures("EfficientNet/efficientnet_b5_features", backbone.ForwardFeatures(FormulaWeights.Input(1, 3, 17, 15)));
    }

    [Fact]
    public void FeatureInfoIsTheLastBlockOfEachResolution()
    {
        var backbone = new EfficientNet(EfficientNetArch.B0, numClasses: 0, initializeWeights: false);
        Assert.Equal(
            new FeatureInfo[] { new(16, 2, "features.1"), new(24, 4, "features.2"), new(40, 8, "features.3"), new(112, 16, "features.5"), new(320, 32, "features.7") },
            backbone.FeatureInfo);
        Assert.Equal(32, backbone.OutputStride);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(64)]
    public void UnsupportedOutputStridesAreRefusedByName(int outputStride)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.CreateBackbone("efficientnet_b0", new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("EfficientNet", error.Message);
        Assert.Contains("8, 16 or 32", error.Message);
        Assert.Contains(outputStride.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void StochasticDepthFollowsTorchvisionsScheduleAndOnlyDropsResidualBranches()
    {
        var model = new EfficientNet(EfficientNetArch.B0, initializeWeights: false);
        var blocks = model.Modules().OfType<MBConv>().ToArray();
        Assert.Equal(16, blocks.Length);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => 0.2 * i / 16), blocks.Select(b => b.StochasticDepthProbability));
        Assert.Equal([2, 4, 6, 7, 9, 10, 12, 13, 14], Enumerable.Range(0, 16).Where(i => blocks[i].HasResidual));
    }

    [Fact]
    public void StochasticDepthDropsWholeSamplesWhileTrainingAndIsTheIdentityInEvaluation()
    {
        var x = Tensor.Ones(new Shape(200, 2, 1, 1));
        var drop = new StochasticDepth(0.25);
        Engine.ManualSeed(3);
        var y = drop.Forward(x).ToArray();
        for (int n = 0; n < 200; n++)
        {
            Assert.Equal(y[2 * n], y[2 * n + 1]);
            Assert.True(y[2 * n] == 0f || MathF.Abs(y[2 * n] - 4f / 3f) < 1e-6f, $"sample {n} scaled by {y[2 * n]}");
        }
        int dropped = Enumerable.Range(0, 200).Count(n => y[2 * n] == 0f);
        Assert.InRange(dropped, 25, 75);

        drop.Eval();
        Assert.Same(x, drop.Forward(x));
        drop.Train();
        Assert.All(new StochasticDepth(1).Forward(x).ToArray(), v => Assert.Equal(0f, v));
        Assert.Same(x, new StochasticDepth(0).Forward(x));
    }

    [Fact]
    public void HeadlessBackboneLoadsATorchvisionCheckpointIgnoringTheHead()
    {
        var tensors = KeyFile.Read("efficientnet_b0").FormulaTensors();
        using var file = TemporaryCheckpoint.Save(tensors);
        var backbone = new EfficientNet(EfficientNetArch.B0, numClasses: 0, new BackboneOptions(InChannels: 4), initializeWeights: false);
        var report = ((IPretrainedBackbone)backbone).LoadPretrained(file.Path);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(backbone.StateDict().Count, report.LoadedCount);
        var state = backbone.StateDict();
        Assert.Equal(tensors["features.6.3.block.2.fc1.weight"].ToArray(), state["features.6.3.block.2.fc1.weight"].ToArray());
        Assert.Equal(tensors["features.7.0.block.3.1.running_var"].ToArray(), state["features.7.0.block.3.1.running_var"].ToArray());
        Assert.Equal(new Shape(32, 4, 3, 3), state["features.0.0.weight"].Shape);

        var classifier = new EfficientNet(EfficientNetArch.B0, numClasses: 5, initializeWeights: false);
        Assert.Throws<StateDictMismatchException>(() => classifier.LoadPretrained(file.Path));
        classifier.LoadPretrained(file.Path, allowNewHead: true);
        Assert.Equal(tensors["features.8.1.weight"].ToArray(), classifier.StateDict()["features.8.1.weight"].ToArray());
    }

    [Fact]
    public void TorchvisionInitialisationDrawsFanOutKaimingConvolutionsAndUniformLinearLayers()
    {
        Engine.ManualSeed(5);
        var model = new EfficientNet(EfficientNetArch.B0, numClasses: 100);
        var state = model.StateDict();
        var weight = state["features.6.0.block.0.0.weight"].ToArray();
        double std = Math.Sqrt(weight.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.9 * Math.Sqrt(2.0 / 672), 1.1 * Math.Sqrt(2.0 / 672));
        Assert.All(state["features.6.0.block.2.fc1.bias"].ToArray(), b => Assert.Equal(0f, b));
        Assert.All(state["classifier.1.weight"].ToArray(), w => Assert.InRange(w, -0.1f, 0.1f));
        Assert.Contains(state["classifier.1.weight"].ToArray(), w => MathF.Abs(w) > 0.09f);
    }
}
