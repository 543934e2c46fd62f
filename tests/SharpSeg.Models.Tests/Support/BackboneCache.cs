using System.Collections.Concurrent;

namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// Registered backbones built once with default options and shared by tests that only read them (keys, shapes,
/// FeatureInfo, evaluation-mode forwards). Building a ResNet is dominated by random initialisation, so ResNets are built
/// without the reference initialisation (their registry factories run in the tests that need other options); anything
/// else comes from the registry.
/// </summary>
public static partial class BackboneCache
{
    private static readonly Dictionary<string, TorchvisionResNetArch> Torchvision = new()
    {
        ["resnet18"] = TorchvisionResNetArch.ResNet18, ["resnet34"] = TorchvisionResNetArch.ResNet34,
        ["resnet50"] = TorchvisionResNetArch.ResNet50, ["resnext50_32x4d"] = TorchvisionResNetArch.ResNeXt50_32x4d,
        ["resnet101"] = TorchvisionResNetArch.ResNet101, ["resnet152"] = TorchvisionResNetArch.ResNet152,
        ["resnext101_32x8d"] = TorchvisionResNetArch.ResNeXt101_32x8d, ["wide_resnet50_2"] = TorchvisionResNetArch.WideResNet50_2,
        ["wide_resnet101_2"] = TorchvisionResNetArch.WideResNet101_2,
    };

    private static readonly ConcurrentDictionary<string, Lazy<IBackbone>> Built = new();

    /// <summary>The shared instance of <paramref name="name"/>; callers must not train it or change its weights.</summary>
    public static IBackbone Get(string name) => Built.GetOrAdd(name, n => new Lazy<IBackbone>(() => Build(n))).Value;

    private static IBackbone Build(string name) =>
        Torchvision.TryGetValue(name, out var arch) ? new TorchvisionResNet(arch, numClasses: 0, initializeWeights: false)
        : VdDepth().Match(name) is { Success: true } vd ? new ResNetVd(int.Parse(vd.Groups[1].Value), initializeWeights: false)
        : ModelRegistry.CreateBackbone(name);

    [System.Text.RegularExpressions.GeneratedRegex(@"^resnet(\d+)_vd$")]
    private static partial System.Text.RegularExpressions.Regex VdDepth();
}
