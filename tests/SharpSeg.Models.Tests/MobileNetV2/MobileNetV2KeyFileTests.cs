using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// State-dict keys, shapes and parameter counts against the torchvision 0.14 listings written by
/// tools/gen_models_golden_mobilenetv2.py, and loading of torchvision-keyed checkpoints.
/// </summary>
public class MobileNetV2KeyFileTests
{
    public static TheoryData<string, double> Widths() => new()
    {
        { "mobilenetv2_x0.25", 0.25 }, { "mobilenetv2_x0.5", 0.5 }, { "mobilenetv2_x1.0", 1.0 }, { "mobilenetv2_x1.5", 1.5 }, { "mobilenetv2_x2.0", 2.0 },
    };

    [Theory]
    [MemberData(nameof(Widths))]
    public void RegisteredBackboneIsTorchvisionsModelWithoutItsClassifier(string name, double width)
    {
        var reference = KeyFile.Read(name);
        Assert.Equal(["features.18.", "classifier."], reference.ClassifierPrefixes);
        var backbone = Assert.IsType<MobileNetV2>(BackboneCache.Get(name));
        Assert.Equal(width, backbone.WidthMultiplier);
        Assert.Equal(0, backbone.NumClasses);

        Assert.Equal(KeyFile.Describe(reference.HeadlessEntries), KeyFile.Describe(backbone));
        Assert.Equal(reference.HeadlessParameterCount, backbone.ParameterCount);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ClassifierHasTorchvisionsKeysAndParameterCount(string name, double width)
    {
        var reference = KeyFile.Read(name);
        var model = new MobileNetV2(width, 1000, initializeWeights: false);
        Assert.Equal(KeyFile.Describe(reference.Entries), KeyFile.Describe(model));
        Assert.Equal(reference.ParameterCount, model.ParameterCount);
    }

    [Fact]
    public void PublishedParameterCountOfMobileNetV2()
    {
        // torchvision's model card for mobilenet_v2 (IMAGENET1K_V1/V2).
        Assert.Equal(3_504_872, KeyFile.Read("mobilenetv2_x1.0").ParameterCount);
        Assert.Equal(3_504_872, new MobileNetV2(initializeWeights: false).ParameterCount);
    }

    [Fact]
    public void HeadlessBackboneLoadsATorchvisionCheckpointIgnoringItsHeadAndAdaptingTheFirstConvolution()
    {
        var checkpoint = KeyFile.Read("mobilenetv2_x0.25").FormulaTensors();
        using var file = TemporaryCheckpoint.Save(checkpoint);
        IPretrainedBackbone backbone = new MobileNetV2(0.25, 0, new BackboneOptions(InChannels: 4), initializeWeights: false);
        var report = backbone.LoadPretrained(file.Path);
        Assert.True(report.IsExactMatch);
        Assert.Equal(backbone.Module.StateDict().Count, report.LoadedCount);

        var state = backbone.Module.StateDict();
        var rgb = checkpoint["features.0.0.weight"];
        Assert.Equal((Tensor.Cat([rgb, rgb.Narrow(1, 0, 1)], 1) * 0.75f).ToArray(), state["features.0.0.weight"].ToArray());
        Assert.Equal(checkpoint["features.17.conv.2.weight"].ToArray(), state["features.17.conv.2.weight"].ToArray());
        Assert.Equal(checkpoint["features.1.conv.0.1.running_var"].ToArray(), state["features.1.conv.0.1.running_var"].ToArray());
    }

    [Fact]
    public void ClassifierFineTunesOnANewClassCountKeepingItsOwnHead()
    {
        var checkpoint = KeyFile.Read("mobilenetv2_x0.25").FormulaTensors();
        var model = new MobileNetV2(0.25, 10, initializeWeights: false);
        var own = model.StateDict()["classifier.1.weight"].ToArray();
        Assert.Throws<StateDictMismatchException>(() => model.LoadPretrained(checkpoint));

        var report = model.LoadPretrained(checkpoint, allowNewHead: true);
        Assert.Equal(["classifier.1.weight", "classifier.1.bias"], report.SkippedShapeMismatches.Select(m => m.Key));
        Assert.Equal(own, model.StateDict()["classifier.1.weight"].ToArray());
        Assert.Equal(checkpoint["features.18.0.weight"].ToArray(), model.StateDict()["features.18.0.weight"].ToArray());
    }

    [Fact]
    public void AnotherWidthsCheckpointIsRefusedByShape()
    {
        var checkpoint = KeyFile.Read("mobilenetv2_x0.5").FormulaTensors();
        var backbone = new MobileNetV2(0.25, 0, initializeWeights: false);
        var error = Assert.Throws<StateDictMismatchException>(() => backbone.LoadPretrained(checkpoint));
        Assert.Contains(error.ShapeMismatches, m => m.Key == "features.0.0.weight");
    }
}
