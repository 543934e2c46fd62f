using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>Fixture loading and comparisons for the segmentation tests.</summary>
internal static class SegmentationAssert
{
    /// <summary>
    /// "key d0,d1,…" lines written by the generator from the torch twin's state_dict:
    /// <c>Golden/&lt;folder&gt;/&lt;name&gt;_keys.txt</c>.
    /// </summary>
    public static List<string> GoldenKeys(string name, string folder = "Segmentation") =>
        [.. File.ReadAllLines(GoldenFiles.PathOf(Path.Combine(folder, name + "_keys.txt"))).Where(l => l.Length > 0)];

    public static List<string> KeyLines(Module model) =>
        [.. model.StateDict().Select(e => $"{e.Key} {string.Join(",", e.Value.Shape.ToArray())}")];

    /// <summary>
    /// Runs <paramref name="model"/> (weights from <see cref="FormulaWeights"/>, eval mode) on the formula input of every
    /// size in fixture <c>Golden/&lt;folder&gt;/&lt;name&gt;.safetensors</c> (keys <c>logits{j}_{h}x{w}</c>) and compares
    /// each output to 1e-4 of its scale.
    /// </summary>
    public static void MatchesGolden(SegmentationModel model, string name, string folder = "Segmentation")
    {
        FormulaWeights.Fill(model);
        model.Eval();
        var golden = Safetensors.Load(GoldenFiles.PathOf(Path.Combine(folder, name + ".safetensors")));
        var sizes = golden.Keys.Select(k => k[(k.IndexOf('_') + 1)..]).Distinct().ToList();
        Assert.NotEmpty(sizes);
        using var _ = GradMode.NoGrad();
        foreach (var size in sizes)
        {
            var dims = size.Split('x').Select(int.Parse).ToArray();
            var logits = model.Forward(FormulaWeights.Input(1, model.Options.InChannels, dims[0], dims[1]));
            Assert.Equal(golden.Keys.Count(k => k.EndsWith("_" + size, StringComparison.Ordinal)), logits.Count);
            for (int j = 0; j < logits.Count; j++)
                GoldenAssert.CloseToScale(golden[$"logits{j}_{size}"], logits[j], 1e-4, $"{name} output {j} at {size}");
        }
    }

    /// <summary>Runs a backward pass from a fixed random weighting of every output and checks each parameter got a finite gradient.</summary>
    public static void BackwardReachesEveryParameter(Module model, IReadOnlyList<Tensor> outputs)
    {
        var random = new Random(7);
        Tensor? loss = null;
        foreach (var output in outputs)
        {
            var term = (output * Tensor.Randn(output.Shape, random)).Sum();
            loss = loss is null ? term : loss + term;
        }
        model.ZeroGrad();
        loss!.Backward();
        foreach (var (name, parameter) in model.NamedParameters())
        {
            Assert.True(parameter.Grad is not null, $"{name} received no gradient");
            var grad = parameter.Grad!.ToArray();
            Assert.True(grad.All(float.IsFinite), $"{name} has a non-finite gradient");
            Assert.True(grad.Any(g => g != 0), $"{name} has an all-zero gradient");
        }
    }
}
