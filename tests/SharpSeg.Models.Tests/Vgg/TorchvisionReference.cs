using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.VggEfficientNet;

/// <summary>Golden comparisons of the torchvision families against tools/gen_models_golden_vgg_efficientnet.py.</summary>
internal static class TorchvisionGolden
{
    /// <summary>A module's state dict as the key files write it: "key shape" lines.</summary>
    public static IEnumerable<string> Describe(Module module) => module.StateDict().Select(p => $"{p.Key} {KeyFile.Format(p.Value.Shape)}");

    /// <summary>Key-file entries as "key shape" lines.</summary>
    public static IEnumerable<string> Describe(IEnumerable<(string Key, string Shape)> entries) => entries.Select(e => $"{e.Key} {e.Shape}");

    /// <summary>The tensors of <c>Golden/&lt;relative&gt;.safetensors</c>.</summary>
    public static OrderedDictionary<string, Tensor> Read(string relative) => Safetensors.Load(GoldenFiles.PathOf(relative + ".safetensors"));

    /// <summary>Element-wise |actual − expected| ≤ 1e-4 · (|expected| + max|expected|).</summary>
    public static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: expected shape {expected.Shape}, got {actual.Shape}");
        var e = expected.ToArray();
        var a = actual.ToArray();
        float scale = e.Max(MathF.Abs);
        for (int i = 0; i < e.Length; i++)
            Assert.True(MathF.Abs(a[i] - e[i]) <= 1e-4f * (MathF.Abs(e[i]) + scale),
                $"{what}: element {i} is {a[i]}, expected {e[i]} (scale {scale})");
    }

    /// <summary>Every feature against <c>feature0</c>, <c>feature1</c>, … of the fixture.</summary>
    public static void AssertFeatures(string relative, IReadOnlyList<Tensor> features)
    {
        var expected = Read(relative);
        Assert.Equal(expected.Count, features.Count);
        for (int i = 0; i < features.Count; i++) AssertClose(expected[$"feature{i}"], features[i], $"{relative} feature {i}");
    }

    /// <summary>
    /// Writes a formula-filled safetensors file with <paramref name="entries"/> (key-file entries in torchvision's keys),
    /// runs <paramref name="use"/> on its path and deletes it.
    /// </summary>
    public static void WithFormulaFile(IEnumerable<(string Key, string Shape)> entries, Action<string, OrderedDictionary<string, Tensor>> use)
    {
        var tensors = new OrderedDictionary<string, Tensor>();
        int k = 0;
        foreach (var (key, shapeText) in entries)
        {
            var shape = shapeText == "scalar" ? new Shape() : new Shape(shapeText.Split('x').Select(int.Parse).ToArray());
            tensors.Add(key, key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? Tensor.Zeros(shape, DType.Int64)
                : Tensor.FromArray(FormulaWeights.Values(key, k, shape), shape.ToArray()));
            k++;
        }
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-torchvision-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, tensors);
            use(path, tensors);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
