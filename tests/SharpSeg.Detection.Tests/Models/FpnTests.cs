using SharpSeg.Detection.Models;
using SharpSeg.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// FrozenBatchNorm2d and <see cref="BackboneWithFpn"/> against torchvision 0.14: state-dict keys, the trainable_layers
/// freezing rule and pyramid outputs with formula weights (fixtures by tools/golden_detection_models.py).
/// </summary>
public class FpnTests
{
    internal static KeyFile Keys(string name) => KeyFile.FromFile(GoldenFiles.PathOf($"Models/keys/{name}.txt"));

    internal static string[] TrainableKeys(string name) =>
        File.ReadLines(GoldenFiles.PathOf($"Models/keys/{name}.txt")).First(l => l.StartsWith("# trainable", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2).ToArray();

    internal static void AssertKeysAndFreezing(Module module, string keyFile, string? prefix = null)
    {
        var keys = Keys(keyFile);
        Assert.Equal(KeyFile.Describe(keys.Entries), KeyFile.Describe(module).Select(l => prefix + l));
        Assert.Equal(keys.ParameterCount, module.ParameterCount);
        Assert.Equal(TrainableKeys(keyFile), module.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => prefix + p.Name));
    }

    [Fact]
    public void FrozenBatchNormIsEvalBatchNormWithBuffersOnly()
    {
        var norm = new FrozenBatchNorm2d(3);
        Assert.Empty(norm.Parameters());
        Assert.Equal(["weight", "bias", "running_mean", "running_var"], norm.StateDict().Keys);
        var values = new[] { 1.5f, -0.5f, 2f, 0.2f, -0.3f, 0.1f, 0.4f, 0.9f, 1.1f, 0.5f, 2f, 0.25f };
        for (int i = 0; i < 4; i++) norm.StateDict().Values.ElementAt(i).CopyFrom(Tensor.FromArray(values[(i * 3)..(i * 3 + 3)], 3));
        var x = FormulaWeights.Input(2, 3, 4, 5);
        norm.Train();
        var expected = Functional.BatchNorm(x, norm.RunningMean, norm.RunningVar, norm.Weight, norm.Bias, training: false);
        GoldenAssert.Close(expected, norm.Forward(x), "frozen batch norm in training mode", 1e-6f);
    }

    [Fact]
    public void ResNet18FpnMatchesTorchvisionKeysFreezingAndOutputs()
    {
        var model = new BackboneWithFpn(TorchvisionResNetArch.ResNet18, trainableLayers: 3);
        AssertKeysAndFreezing(model, "fpn_resnet18");
        model.LoadStateDict(Keys("fpn_resnet18").FormulaTensors());
        model.Eval();
        var maps = model.Forward(FormulaWeights.Input(1, 3, 64, 96));
        Assert.Equal(["0", "1", "2", "3", "pool"], maps.Keys);
        foreach (var (name, map) in maps)
            GoldenAssert.Close(GoldenFiles.ReadNpy($"Models/fpn_r18_{name}.npy"), map, $"FPN map {name}", 1e-4f);
    }

    [Fact]
    public void ReturnedLayersAndFullTrainingMatchTorchvisionKeys()
    {
        var model = new BackboneWithFpn(TorchvisionResNetArch.ResNet50, trainableLayers: 5, returnedLayers: [2, 3, 4], frozenBatchNorm: false);
        AssertKeysAndFreezing(model, "fpn_resnet50_l234_bn_t5");
        Assert.Equal(["0", "1", "2", "pool"], model.Forward(Tensor.Zeros(1, 3, 64, 64)).Keys);
    }

    [Fact]
    public void BadBackboneSettingsAreNamed()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BackboneWithFpn(TorchvisionResNetArch.ResNet18, trainableLayers: 6));
        var ex = Assert.Throws<ArgumentException>(() => new BackboneWithFpn(TorchvisionResNetArch.ResNet18, returnedLayers: [1, 2]));
        Assert.Contains("[1, 2]", ex.Message);
    }
}
