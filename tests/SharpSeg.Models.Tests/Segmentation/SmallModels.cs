namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>Every registered model in a configuration small enough for quick tests.</summary>
internal static class SmallModels
{
    public static TheoryData<string> RegisteredNames() =>
        [.. ModelRegistry.List().Where(e => e.Kind == RegistryKind.Model).Select(e => e.Name)];

    public static SegmentationModel Create(string name, int numClasses, int inChannels = 3) => name switch
    {
        "deeplabv3p" => ModelRegistry.CreateModel(name, new DeepLabV3PlusOptions(numClasses, inChannels, Backbone: "resnet18_vd", AsppOutChannels: 32)),
        _ => ModelRegistry.CreateModel(name, new ModelOptions(numClasses, inChannels)),
    };
}
