using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// ResNet state-dict keys against the lists dumped by tools/gen_models_golden_backbones.py (torchvision 0.14): the classifier
/// form, published parameter counts and PaddleSeg's names. The headless keys of every registered backbone are checked by
/// <see cref="Registry.BackboneRegistryTests"/>.
/// </summary>
public class ResNetKeyFileTests
{
    [Fact]
    public void RegistryListsEveryResNetVariant()
    {
        string[] expected =
        [
            "resnet18_vd", "resnet34_vd", "resnet50_vd", "resnet101_vd", "resnet152_vd", "resnet200_vd",
            "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
            "wide_resnet50_2", "wide_resnet101_2",
        ];
        Assert.All(expected, name => Assert.Contains(name, ModelRegistry.Names(RegistryKind.Backbone)));
        Assert.IsType<ResNetVd>(ModelRegistry.CreateBackbone("resnet18_vd"));
        var resnet18 = Assert.IsType<TorchvisionResNet>(ModelRegistry.CreateBackbone("resnet18"));
        Assert.Equal(0, resnet18.NumClasses);
    }

    [Theory]
    [InlineData(TorchvisionResNetArch.ResNet18, "resnet18", 11_689_512)]
    [InlineData(TorchvisionResNetArch.ResNet50, "resnet50", 25_557_032)]
    public void TorchvisionClassifierHasTorchvisionsKeysAndPublishedParameterCount(TorchvisionResNetArch arch, string name, long published)
    {
        var model = new TorchvisionResNet(arch);
        var file = KeyFile.Read(name);
        Assert.Equal(KeyFile.Describe(file.Entries), KeyFile.Describe(model));
        Assert.Equal(published, model.ParameterCount);
        Assert.Equal(published, file.ParameterCount);
    }

    [Fact]
    public void PublishedParameterCountsOfTheWholeFamilyMatchTheReferenceFiles()
    {
        // torchvision's model cards (classifier with 1000 classes).
        var published = new Dictionary<string, long>
        {
            ["resnet18"] = 11_689_512, ["resnet34"] = 21_797_672, ["resnet50"] = 25_557_032, ["resnet101"] = 44_549_160,
            ["resnet152"] = 60_192_808, ["resnext50_32x4d"] = 25_028_904, ["resnext101_32x8d"] = 88_791_336,
            ["wide_resnet50_2"] = 68_883_240, ["wide_resnet101_2"] = 126_886_696,
        };
        foreach (var (name, count) in published) Assert.Equal(count, KeyFile.Read(name).ParameterCount);
    }

    [Theory]
    [InlineData(18)]
    [InlineData(50)]
    public void PaddleSegKeyMapSendsEveryPaddleSegNameToOurKeyWithTheSameShape(int depth) =>
        KeyFile.Read($"resnet{depth}_vd.paddle").AssertMapsOnto((ResNetVd)BackboneCache.Get($"resnet{depth}_vd"), ResNetVd.PaddleSegKeyMap);

    [Fact]
    public void PaddleSegCheckpointLoadsStrictlyThroughTheKeyMap()
    {
        var paddle = KeyFile.Read("resnet18_vd.paddle");
        var tensors = paddle.FormulaTensors();
        using var file = TemporaryCheckpoint.Save(tensors);
        var model = new ResNetVd(18);
        var report = model.LoadPretrained(file.Path, ResNetVd.PaddleSegKeyMap);
        Assert.Empty(report.MissingKeys);
        Assert.Equal(paddle.Entries.Count, report.LoadedCount);

        var state = model.StateDict();
        Assert.Equal(tensors["bb_0_0.short._conv.weight"].ToArray(), state["layer1.0.downsample.1.weight"].ToArray());
        Assert.Equal(tensors["bb_3_1.conv1._batch_norm._variance"].ToArray(), state["layer4.1.bn2.running_var"].ToArray());
        Assert.Equal(tensors["conv1_3._batch_norm._mean"].ToArray(), state["bn1.running_mean"].ToArray());
        Assert.Equal(tensors["conv1_2._conv.weight"].ToArray(), state["conv1.3.weight"].ToArray());
    }
}
