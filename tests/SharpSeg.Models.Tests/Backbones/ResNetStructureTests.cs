using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>Strides, dilations, shortcuts and options checked against PaddleSeg's and torchvision's rules, derived by hand.</summary>
public class ResNetStructureTests
{
    [Fact]
    public void ResNetVdAtOutputStride8DilatesStage3By2AndStage4By4TimesTheMultiGrid()
    {
        var model = new ResNetVd(50, new BackboneOptions(OutputStride: 8), initializeWeights: false);
        Assert.Equal(new[] { 1, 2, 4 }, model.MultiGrid);
        var convs = Modules<Conv2d>(model);
        Assert.Equal(new Size2(2, 2), convs["layer2.0.conv2"].Options.Stride);
        Assert.Equal(new Size2(1, 1), convs["layer2.0.conv2"].Options.Dilation);
        // PaddleSeg: every block of a dilated stage has the stage's dilation, the first one included, and no stride.
        foreach (var block in new[] { "layer3.0", "layer3.5" })
        {
            Assert.Equal(new Size2(2, 2), convs[block + ".conv2"].Options.Dilation);
            Assert.Equal(new Size2(2, 2), convs[block + ".conv2"].Options.Padding);
            Assert.Equal(new Size2(1, 1), convs[block + ".conv2"].Options.Stride);
        }
        Assert.Equal(new[] { 4, 8, 16 }, new[] { 0, 1, 2 }.Select(i => convs[$"layer4.{i}.conv2"].Options.Dilation.H));
    }

    [Fact]
    public void ResNetVdShortcutsAveragePoolOnlyWhereTheBlockDownsamples()
    {
        var model = new ResNetVd(18, new BackboneOptions(OutputStride: 16), initializeWeights: false);
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.IsType<Identity>(modules["layer1.0.downsample.0"]);
        var pool = Assert.IsType<AvgPool2d>(modules["layer2.0.downsample.0"]);
        Assert.True(pool.CeilMode);
        Assert.False(pool.CountIncludePad);
        Assert.Equal(new Size2(2, 2), pool.Stride);
        Assert.IsType<AvgPool2d>(modules["layer3.0.downsample.0"]);
        Assert.IsType<Identity>(modules["layer4.0.downsample.0"]);
        Assert.Equal(new Size2(1, 1), Assert.IsType<Conv2d>(modules["layer2.0.downsample.1"]).Options.Stride);
        Assert.DoesNotContain("layer1.1.downsample", modules.Keys);
    }

    [Fact]
    public void TorchvisionDilationKeepsThePreviousDilationInEachDilatedStagesFirstBlock()
    {
        var model = new TorchvisionResNet(TorchvisionResNetArch.ResNet50, 0, new BackboneOptions(OutputStride: 8), initializeWeights: false);
        var convs = Modules<Conv2d>(model);
        Assert.Equal(new[] { 1, 2, 2 }, new[] { "layer3.0", "layer3.1", "layer3.5" }.Select(b => convs[b + ".conv2"].Options.Dilation.H));
        Assert.Equal(new[] { 2, 4, 4 }, new[] { "layer4.0", "layer4.1", "layer4.2" }.Select(b => convs[b + ".conv2"].Options.Dilation.H));
        Assert.Equal(new Size2(1, 1), convs["layer3.0.downsample.0"].Options.Stride);
        Assert.Equal(new Size2(2, 2), convs["layer2.0.downsample.0"].Options.Stride);
    }

    [Fact]
    public void ResNeXtAndWideResNetBottlenecksHaveTheirInnerWidthAndGroups()
    {
        var resnext = Modules<Conv2d>(new TorchvisionResNet(TorchvisionResNetArch.ResNeXt50_32x4d, 0, initializeWeights: false));
        Assert.Equal(32, resnext["layer1.0.conv2"].Options.Groups);
        Assert.Equal(128, resnext["layer1.0.conv2"].Options.OutChannels);   // 64 · 4/64 · 32
        Assert.Equal(1024, resnext["layer4.0.conv2"].Options.OutChannels);  // 512 · 4/64 · 32
    }

    [Fact]
    public void StageParametersCoverEveryParameterOnceWithTheListedMultipliers()
    {
        var model = new ResNetVd(18, new BackboneOptions(LrMultList: [0.1f, 0.1f, 0.2f, 0.2f]), initializeWeights: false);
        var stages = model.StageParameters();
        Assert.Equal(new[] { "stem", "layer1", "layer2", "layer3", "layer4" }, stages.Select(s => s.Name));
        Assert.Equal(new double[] { 1, 0.1f, 0.1f, 0.2f, 0.2f }, stages.Select(s => s.LearningRateMultiplier));
        var grouped = stages.SelectMany(s => s.Parameters).ToList();
        Assert.Equal(grouped.Count, grouped.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(model.Parameters().ToHashSet(ReferenceEqualityComparer.Instance), grouped.ToHashSet(ReferenceEqualityComparer.Instance));
        // conv1.0 3·32·9, conv1.1 2·32, conv1.3 32·32·9, conv1.4 2·32, conv1.6 32·64·9, bn1 2·64.
        Assert.Equal(864 + 64 + 9216 + 64 + 18432 + 128, stages[0].Parameters.Sum(p => p.Numel));

        var five = new ResNetVd(18, new BackboneOptions(LrMultList: [0.5f, 1, 1, 1, 2]), initializeWeights: false).StageParameters();
        Assert.Equal(new double[] { 0.5, 1, 1, 1, 2 }, five.Select(s => s.LearningRateMultiplier));

        var classifier = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, 10, initializeWeights: false).StageParameters();
        Assert.Equal("fc", classifier[^1].Name);
        Assert.Equal(512 * 10 + 10, classifier[^1].Parameters.Sum(p => p.Numel));
    }

    [Fact]
    public void BadOptionsAndInputsAreRefusedNamingTheValue()
    {
        Assert.Contains("42", Assert.Throws<ArgumentException>(() => new ResNetVd(42)).Message);
        Assert.Contains("output stride must be 8, 16 or 32, got 4",
            Assert.Throws<ArgumentException>(() => ModelRegistry.CreateBackbone("resnet18_vd", new BackboneOptions(OutputStride: 4))).Message);
        Assert.Contains("3 positive entries",
            Assert.Throws<ArgumentException>(() => new ResNetVd(50, new BackboneOptions(OutputStride: 8, MultiGrid: [1, 2]))).Message);
        Assert.Contains("got 3",
            Assert.Throws<ArgumentException>(() => new ResNetVd(18, new BackboneOptions(LrMultList: [1f, 1f, 1f]))).Message);
        var backbone = new ResNetVd(18, initializeWeights: false);
        Assert.Contains("[1, 4, 32, 32]", Assert.Throws<ShapeMismatchException>(() => backbone.ForwardFeatures(Tensor.Zeros(1, 4, 32, 32))).Message);
        var headless = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, 0, initializeWeights: false);
        Assert.Contains("without a classifier", Assert.Throws<InvalidOperationException>(() => headless.Forward(Tensor.Zeros(1, 3, 32, 32))).Message);
    }

    private static Dictionary<string, T> Modules<T>(Module model) where T : Module =>
        model.NamedModules().Where(m => m.Module is T).ToDictionary(m => m.Name, m => (T)m.Module);
}
