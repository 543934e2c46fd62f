using System.Reflection;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.MobileNetV3Family;

/// <summary>
/// State-dict keys and shapes against the lists dumped by tools/gen_models_golden_mobilenetv3.py (torchvision 0.14 for the
/// torchvision entries, the PaddleSeg twin in our keys for the PaddleSeg scales), and weight loading in both namings.
/// </summary>
public class MobileNetV3KeyFileTests
{
    [Theory]
    [InlineData(MobileNetV3Arch.Large, "mobilenet_v3_large", 5_483_032, 2_971_952)]
    [InlineData(MobileNetV3Arch.Small, "mobilenet_v3_small", 2_542_856, 927_008)]
    public void TorchvisionClassifierHasTorchvisionsKeysAndPublishedParameterCount(MobileNetV3Arch arch, string name, long published, long headless)
    {
        var model = new MobileNetV3(arch, MobileNetV3Flavour.Torchvision, 1.0, numClasses: 1000, initializeWeights: false);
        var file = KeyFile.Read(name);
        Assert.Equal(KeyFile.Describe(file.Entries), KeyFile.Describe(model));
        Assert.Equal(published, model.ParameterCount);
        Assert.Equal(published, file.ParameterCount);
        Assert.Equal(["classifier."], file.ClassifierPrefixes);
        Assert.Equal(headless, BackboneCache.Get(name).Module.ParameterCount);
    }

    [Theory]
    [InlineData(MobileNetV3Arch.Large)]
    [InlineData(MobileNetV3Arch.Small)]
    public void PaddleSegKeyMapSendsEveryPaddleSegNameToOurKeyWithTheSameShape(MobileNetV3Arch arch)
    {
        string name = $"mobilenetv3_{arch.ToString().ToLowerInvariant()}_x1_0";
        KeyFile.Read($"{name}.paddle").AssertMapsOnto(BackboneCache.Get(name).Module, MobileNetV3.PaddleSegKeyMap(arch));
    }

    [Fact]
    public void PaddleSegCheckpointLoadsThroughTheBackboneInterfaceDroppingPaddleClassHeadAndAdaptingTheFirstConv()
    {
        var paddle = KeyFile.Read("mobilenetv3_small_x1_0.paddle");
        var tensors = paddle.FormulaTensors();
        // PaddleClas's ImageNet head, present in the pretrained files PaddleSeg starts from.
        tensors.Add("last_second_conv.conv.weight", Tensor.Ones(576, 96, 1, 1));
        tensors.Add("last_conv.weight", Tensor.Ones(1280, 576, 1, 1));
        tensors.Add("fc.weight", Tensor.Ones(1280, 1000));
        tensors.Add("fc.bias", Tensor.Ones(1000));
        var model = (IPretrainedBackbone)ModelRegistry.CreateBackbone("mobilenetv3_small_x1_0", new BackboneOptions(InChannels: 4));
        using var file = TemporaryCheckpoint.Save(tensors);
        var report = model.LoadPretrained(file.Path);

        Assert.Empty(report.MissingKeys);
        Assert.Equal(paddle.Entries.Count, report.LoadedCount);
        var state = model.Module.StateDict();
        Assert.Equal(tensors["blocks.0.mid_se.conv2.bias"].ToArray(), state["features.1.block.2.fc2.bias"].ToArray());
        Assert.Equal(tensors["blocks.1.linear_conv.bn._variance"].ToArray(), state["features.2.block.2.1.running_var"].ToArray());
        Assert.Equal(tensors["blocks.10.linear_conv.conv.weight"].ToArray(), state["features.11.block.3.0.weight"].ToArray());
        Assert.Equal(tensors["conv.bn._mean"].ToArray(), state["features.0.1.running_mean"].ToArray());
        Assert.Equal(PretrainedWeights.AdaptInputChannels(tensors["conv.conv.weight"], 4).ToArray(), state["features.0.0.weight"].ToArray());
    }

    [Fact]
    public void TorchvisionCheckpointLoadsIntoTheHeadlessBackboneIgnoringTheClassifier()
    {
        var reference = KeyFile.Read("mobilenet_v3_small");
        var tensors = reference.FormulaTensors();
        var model = (IPretrainedBackbone)ModelRegistry.CreateBackbone("mobilenet_v3_small");
        using var file = TemporaryCheckpoint.Save(tensors);
        var report = model.LoadPretrained(file.Path);

        Assert.True(report.IsExactMatch);
        Assert.Equal(reference.HeadlessEntries.Count(), report.LoadedCount);
        Assert.Equal(tensors["features.12.0.weight"].ToArray(), model.Module.StateDict()["features.12.0.weight"].ToArray());
    }

    [Fact]
    public void TorchvisionClassifierLoadsANewHeadWhenAllowed()
    {
        var tensors = KeyFile.Read("mobilenet_v3_small").FormulaTensors();
        var model = new MobileNetV3(MobileNetV3Arch.Small, MobileNetV3Flavour.Torchvision, 1.0, numClasses: 5, initializeWeights: false);
        Assert.Throws<StateDictMismatchException>(() => model.LoadPretrained(tensors));
        var report = model.LoadPretrained(tensors, allowNewHead: true);
        Assert.Equal(["classifier.3.weight", "classifier.3.bias"], report.SkippedShapeMismatches.Select(m => m.Key));
        Assert.Equal(tensors["classifier.0.weight"].ToArray(), model.StateDict()["classifier.0.weight"].ToArray());
    }

    [Theory]
    [InlineData("mobilenetv3_large_x1_0", "mobilenetv3_large_x1_0_ssld")]
    [InlineData("mobilenetv3_small_x1_0", "mobilenetv3_small_x1_0_ssld")]
    public void SsldNamesAreAliasesOfTheSameNetwork(string name, string alias)
    {
        var attribute = typeof(MobileNetV3).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .SelectMany(m => m.GetCustomAttributes<RegisterBackboneAttribute>()).Single(a => a.Name == name);
        Assert.Equal([alias], attribute.Aliases);
        Assert.IsType<MobileNetV3>(ModelRegistry.CreateBackbone(name));
    }
}
