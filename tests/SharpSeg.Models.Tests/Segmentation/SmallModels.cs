namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>
/// Every registered model in a configuration small enough for quick tests: the model's defaults, and for a model built
/// on a backbone the small <see cref="SmallBackbone"/> instead of its default one.
/// </summary>
internal static class SmallModels
{
    /// <summary>A registered backbone small enough for quick model tests.</summary>
    public const string SmallBackbone = "resnet18_vd";

    public static TheoryData<string> RegisteredNames() => [.. ModelRegistry.Names(RegistryKind.Model)];

    public static SegmentationModel Create(string name, int numClasses, int inChannels = 3)
    {
        var options = ModelRegistry.DefaultOptions(name, numClasses) with { InChannels = inChannels };
        if (options is BackboneModelOptions withBackbone) options = withBackbone with { Backbone = SmallBackbone };
        return ModelRegistry.CreateModel(name, options);
    }
}
