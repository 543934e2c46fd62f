using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.VggEfficientNet;

/// <summary>Golden comparisons of the torchvision families against tools/gen_models_golden_vgg_efficientnet.py.</summary>
internal static class TorchvisionGolden
{
    /// <summary>The tensors of <c>Golden/&lt;relative&gt;.safetensors</c>.</summary>
    public static OrderedDictionary<string, Tensor> Read(string relative) => Safetensors.Load(GoldenFiles.PathOf(relative + ".safetensors"));

    /// <summary>Every feature against <c>feature0</c>, <c>feature1</c>, … of the fixture.</summary>
    public static void AssertFeatures(string relative, IReadOnlyList<Tensor> features)
    {
        var expected = Read(relative);
        Assert.Equal(expected.Count, features.Count);
        for (int i = 0; i < features.Count; i++) GoldenAssert.Close(expected[$"feature{i}"], features[i], $"{relative} feature {i}");
    }
}
