using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.VggEfficientNet;

/// <summary>
/// torchvision's VGG family against tools/gen_models_golden_vgg_efficientnet.py (torchvision 0.14): keys, parameter
/// counts, outputs of formula-filled models, the feature contract and loading torchvision checkpoints.
/// </summary>
public class VggTests
{
    private static readonly string[] Names = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"];

    [Fact]
    public void RegistryBuildsEveryVariantHeadless()
    {
        var vgg = Assert.IsType<Vgg>(ModelRegistry.CreateBackbone("vgg11_bn"));
        Assert.Equal(0, vgg.NumClasses);
        Assert.True(vgg.BatchNorm);
        Assert.All(Names, name => Assert.Contains(name, ModelRegistry.Names(RegistryKind.Backbone)));
    }

    [Fact]
    public void PublishedParameterCountsMatchTheReferenceFiles()
    {
        // torchvision 0.14's model cards (classifier with 1000 classes). The classifiers are too large to build here (vgg16:
        // 138M parameters, seconds of initialisation), so the count dumped from torchvision stands for them; the registry
        // tests check the headless keys and parameters against the same files.
        var published = new Dictionary<string, long>
        {
            ["vgg11"] = 132_863_336, ["vgg11_bn"] = 132_868_840, ["vgg13"] = 133_047_848, ["vgg13_bn"] = 133_053_736,
            ["vgg16"] = 138_357_544, ["vgg16_bn"] = 138_365_992, ["vgg19"] = 143_667_240, ["vgg19_bn"] = 143_678_248,
        };
        foreach (var (name, count) in published)
        {
            var file = KeyFile.Read(name);
            Assert.Equal(count, file.ParameterCount);
            Assert.Equal(["classifier."], file.ClassifierPrefixes);
        }
    }

    [Fact]
    public void ClassifierHasTorchvisionsKeysAndItsLogitsMatchTorchvision()
    {
        // Torchvision's 4096-wide hidden layers hold 120M parameters; this classifier is 64 wide (and predicts 10 classes),
        // its keys and layer order torchvision's. 79×47 leaves a 2×1 map after five floor-mode pools (ceil mode would leave
        // 3×2); the adaptive pool spreads it to 7×7.
        var model = new Vgg(11, batchNorm: true, numClasses: 10, initializeWeights: false, classifierWidth: 64);
        var narrowClassifier = new Dictionary<string, string>
        {
            ["classifier.0.weight"] = "64x25088", ["classifier.0.bias"] = "64", ["classifier.3.weight"] = "64x64", ["classifier.3.bias"] = "64",
            ["classifier.6.weight"] = "10x64", ["classifier.6.bias"] = "10",
        };
        var expected = KeyFile.Read("vgg11_bn").Entries.Select(e => $"{e.Key} {narrowClassifier.GetValueOrDefault(e.Key, e.Shape)}");
        Assert.Equal(expected, KeyFile.Describe(model));

        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
            GoldenAssert.Close(TorchvisionGolden.Read("Vgg/vgg11_bn_logits")["logits"], model.Forward(FormulaWeights.Input(1, 3, 79, 47)), "vgg11_bn logits");
    }

    [Fact]
    public void BackboneFeaturesMatchTorchvisionWithCeilModePools()
    {
        // 13×11 is under 32 pixels: the ceil-mode pools still reach a 1×1 reduction-32 map.
        var backbone = new Vgg(11, batchNorm: true, numClasses: 0, initializeWeights: false);
        FormulaWeights.Fill(backbone);
        backbone.Eval();
        using (GradMode.NoGrad())
            TorchvisionGolden.AssertFeatures("Vgg/vgg11_bn_features", backbone.ForwardFeatures(FormulaWeights.Input(1, 3, 13, 11)));
    }

    [Fact]
    public void FeatureInfoIsTimmsPrePoolActivationsAndTheLastPool()
    {
        var backbone = new Vgg(11, batchNorm: true, numClasses: 0, new BackboneOptions(OutputStride: 32), initializeWeights: false);
        Assert.Equal(
            [new(64, 1, "features.2"), new(128, 2, "features.6"), new(256, 4, "features.13"), new(512, 8, "features.20"),
             new(512, 16, "features.27"), new FeatureInfo(512, 32, "features.28")],
            backbone.FeatureInfo);
        Assert.Equal(32, backbone.OutputStride);
        var modules = backbone.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.All(backbone.FeatureInfo.SkipLast(1), f => Assert.IsType<Relu>(modules[f.Module]));
        Assert.IsType<MaxPool2d>(modules[backbone.FeatureInfo[^1].Module]);

        var vgg16 = new Vgg(16, batchNorm: false, numClasses: 0, initializeWeights: false);
        Assert.Equal(["features.3", "features.8", "features.15", "features.22", "features.29", "features.30"], vgg16.FeatureInfo.Select(f => f.Module));
    }

    [Fact]
    public void BackboneMapsRoundUpForAnyInputSizeAndChannelCount()
    {
        var backbone = new Vgg(11, batchNorm: false, numClasses: 0, options: new BackboneOptions(InChannels: 4), initializeWeights: false);
        backbone.Eval();
        using (GradMode.NoGrad())
        {
            Assert.Equal([(37, 21), (19, 11), (10, 6), (5, 3), (3, 2), (2, 1)],
                backbone.ForwardFeatures(FormulaWeights.Input(1, 4, 37, 21)).Select(f => (f.Shape[2], f.Shape[3])));
            Assert.Equal([(1, 2), (1, 1), (1, 1), (1, 1), (1, 1), (1, 1)],
                backbone.ForwardFeatures(FormulaWeights.Input(1, 4, 1, 2)).Select(f => (f.Shape[2], f.Shape[3])));
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void OtherOutputStridesAreRefusedByName(int outputStride)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.CreateBackbone("vgg11", new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("VGG", error.Message);
        Assert.Contains("32", error.Message);
        Assert.Contains(outputStride.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void HeadlessBackboneLoadsATorchvisionCheckpointIgnoringTheClassifier()
    {
        // The real classifier.0 has 25088×4096 weights; a short last layer stands for the classifier in the file.
        var entries = KeyFile.Read("vgg11_bn").HeadlessEntries.Append(("classifier.6.weight", "10x4096")).Append(("classifier.6.bias", "10"));
        var tensors = KeyFile.FormulaTensors(entries);
        using var file = TemporaryCheckpoint.Save(tensors);
        var backbone = (IPretrainedBackbone)new Vgg(11, batchNorm: true, numClasses: 0, initializeWeights: false);
        var report = backbone.LoadPretrained(file.Path);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(tensors.Count - 2, report.LoadedCount);
        var state = backbone.Module.StateDict();
        Assert.Equal(tensors["features.26.running_var"].ToArray(), state["features.26.running_var"].ToArray());

        var grey = new Vgg(11, batchNorm: true, numClasses: 0, options: new BackboneOptions(InChannels: 1), initializeWeights: false);
        ((IPretrainedBackbone)grey).LoadPretrained(file.Path);
        Assert.Equal(tensors["features.0.weight"].Sum(1, keepDim: true).ToArray(), grey.StateDict()["features.0.weight"].ToArray());
    }

    [Fact]
    public void TorchvisionInitialisationDrawsFanOutKaimingConvolutionsAndZeroBiases()
    {
        Engine.ManualSeed(4);
        var backbone = new Vgg(11, batchNorm: true, numClasses: 0);
        var state = backbone.StateDict();
        var weight = state["features.22.weight"].ToArray();
        double std = Math.Sqrt(weight.Select(v => (double)v * v).Average());
        Assert.InRange(std, 0.9 * Math.Sqrt(2.0 / (512 * 9)), 1.1 * Math.Sqrt(2.0 / (512 * 9)));
        Assert.All(state["features.22.bias"].ToArray(), b => Assert.Equal(0f, b));
    }
}
