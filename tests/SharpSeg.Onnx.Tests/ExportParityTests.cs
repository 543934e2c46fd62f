using SharpSeg.Models;

namespace SharpSeg.Onnx.Tests;

/// <summary>
/// Models exported to ONNX and run in ONNX Runtime at two input sizes and batches (neither a multiple of the size
/// divisor), against SharpSeg's own evaluation output: max |error| ≤ 1e-4 of the logits' range, argmax labels equal
/// except where the top two logits tie within that tolerance. BatchNorm statistics are randomised first so that folding
/// them into the convolutions changes the weights measurably.
/// </summary>
public class ExportParityTests
{
    /// <summary>Each registered model with its defaults (a small backbone where it takes one).</summary>
    public static TheoryData<string> Models() => [.. ModelRegistry.Names(RegistryKind.Model)];

    [Theory]
    [MemberData(nameof(Models))]
    public void RegisteredModelMatchesInOnnxRuntime(string name)
    {
        var options = ModelRegistry.DefaultOptions(name, 4);
        if (options is BackboneModelOptions withBackbone) options = withBackbone with { Backbone = "resnet18_vd" };
        AssertParity(Build(name, options), new OnnxExportOptions { ModelName = name });
    }

    /// <summary>
    /// A small member of every backbone family DeepLabV3+ takes (output stride 16). HRNet's backbone runs under the hrnet
    /// model; VGG has no output stride 16 and no model uses it yet (its ops, conv-BN-ReLU and max pooling, run above).
    /// </summary>
    public static TheoryData<string> BackboneFamilies() =>
    [
        "resnet18", "resnext50_32x4d", "mobilenetv2_x0.25", "mobilenetv3_small_x0_35", "mobilenet_v3_small", "efficientnet_b0",
        "xception41_deeplab",
    ];

    [Theory]
    [MemberData(nameof(BackboneFamilies))]
    public void EveryBackboneFamilyMatchesInOnnxRuntime(string backbone)
    {
        var options = new DeepLabV3PlusOptions(3, Backbone: backbone, OutputStride: 16, AsppOutChannels: 32, LowLevelChannels: 8);
        AssertParity(Build("deeplabv3p", options), new OnnxExportOptions(), (1, 37, 53), (2, 70, 33));
    }

    /// <summary>Options that switch ops on: align_corners Resize, transposed convolutions, squeeze-excite, fixed pooling windows.</summary>
    public static TheoryData<string> Variants() => [.. VariantOptions.Keys];

    private static readonly Dictionary<string, (string Model, ModelOptions Options)> VariantOptions = new()
    {
        ["unet align_corners"] = ("unet", new UNetOptions(3, AlignCorners: true)),
        ["unet deconv"] = ("unet", new UNetOptions(3, UpsampleMode: UNetUpsampleMode.TransposedConv)),
        ["hrnet small se align_corners"] = ("hrnet", new HRNetOptions(3, Width: "18_small_v1", HasSe: true, AlignCorners: true)),
        ["deeplabv3p align_corners, os8, plain convs"] = ("deeplabv3p", new DeepLabV3PlusOptions(3, Backbone: "resnet18_vd", AlignCorners: true,
            OutputStride: 8, AsppWithSepConv: false, DecoderUseSepConv: false, AsppOutChannels: 32)),
        ["deeplabv3p pooling crop"] = ("deeplabv3p", new DeepLabV3PlusOptions(3, Backbone: "resnet18_vd", PoolingCropSize: (32, 32), AsppOutChannels: 32)),
        ["deeplabv3p no decoder"] = ("deeplabv3p", new DeepLabV3PlusOptions(3, Backbone: "mobilenetv2_x0.25", EnableDecoder: false, AsppOutChannels: 32)),
        ["fastscnn align_corners, 2 channels"] = ("fastscnn", new FastScnnOptions(5, InChannels: 2, AlignCorners: true)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void VariantMatchesInOnnxRuntime(string variant)
    {
        var (name, options) = VariantOptions[variant];
        AssertParity(Build(name, options), new OnnxExportOptions(), (1, 37, 53), (2, 70, 33));
    }

    internal static SegmentationModel Build(string name, ModelOptions options)
    {
        var model = ModelRegistry.CreateModel(name, options);
        RandomizeNormalization(model, new Random(5));
        model.Eval();
        return model;
    }

    /// <summary>Running statistics and affine parameters of every BatchNorm set to random values away from the defaults.</summary>
    internal static void RandomizeNormalization(SegmentationModel model, Random random)
    {
        var state = model.StateDict();
        foreach (var (key, tensor) in state)
        {
            if (tensor.DType != DType.Float32) continue;
            string leaf = key[(key.LastIndexOf('.') + 1)..];
            bool isNorm = state.ContainsKey(key[..^leaf.Length] + "running_var");
            if (!isNorm) continue;
            var values = new float[tensor.Numel];
            for (int i = 0; i < values.Length; i++)
                values[i] = leaf switch
                {
                    "running_var" or "weight" => 0.5f + (float)random.NextDouble(),
                    "running_mean" or "bias" => 0.2f * (float)(random.NextDouble() - 0.5),
                    _ => tensor.ToArray<float>()[i],
                };
            if (leaf is "running_var" or "weight" or "running_mean" or "bias")
                tensor.CopyFrom(Tensor.FromArray(values, tensor.Shape.ToArray()));
        }
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
            AssertClose(expected.ToArray(), actual, dims, $"{model.GetType().Name} at {n}x{h}x{w}");
        }
    }

    /// <summary>Max |error| ≤ 1e-4 of the range, and argmax over the class axis equal except at near-ties.</summary>
    internal static void AssertClose(float[] want, float[] got, int[] dims, string what)
    {
        float range = want.Max() - want.Min();
        Assert.True(range > 1e-4f, $"{what}: logits span only {range}, too flat to compare");
        float tolerance = 1e-4f * range;
        float worst = 0;
        for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - got[i]));
        Assert.True(worst <= tolerance, $"{what}: max |error| {worst} > {tolerance} (range {range})");

        int classes = dims[1], plane = dims[2] * dims[3];
        for (int n = 0; n < dims[0]; n++)
            for (int p = 0; p < plane; p++)
            {
                int wantLabel = Argmax(want, n, p, classes, plane), gotLabel = Argmax(got, n, p, classes, plane);
                if (wantLabel == gotLabel) continue;
                // A different label is only allowed where SharpSeg's top two logits tie within the error bound.
                float gap = want[(n * classes + wantLabel) * plane + p] - want[(n * classes + gotLabel) * plane + p];
                Assert.True(gap <= 2 * tolerance, $"{what}: image {n} pixel {p} labelled {gotLabel} instead of {wantLabel} (gap {gap})");
            }
    }

    private static int Argmax(float[] logits, int n, int pixel, int classes, int plane)
    {
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (logits[(n * classes + c) * plane + pixel] > logits[(n * classes + best) * plane + pixel]) best = c;
        return best;
    }
}
