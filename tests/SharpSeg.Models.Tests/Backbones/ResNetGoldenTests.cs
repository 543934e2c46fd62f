using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// Outputs against tools/gen_models_golden_backbones.py: torchvision 0.14 models and a literal PyTorch translation of
/// PaddleSeg's resnet_vd.py, run in float64 with every state-dict tensor given by <see cref="FormulaWeights"/>.
/// </summary>
public class ResNetGoldenTests
{
    [Theory]
    [InlineData(TorchvisionResNetArch.ResNet18, 32, "resnet18_logits")]
    [InlineData(TorchvisionResNetArch.ResNet50, 32, "resnet50_logits")]
    [InlineData(TorchvisionResNetArch.ResNeXt50_32x4d, 32, "resnext50_32x4d_logits")]
    public void TorchvisionClassifierLogitsMatchTorchvision(TorchvisionResNetArch arch, int outputStride, string golden)
    {
        var model = new TorchvisionResNet(arch, 1000, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
            AssertClose(GoldenFiles.ReadNpy($"Backbones/{golden}.npy"), model.Forward(FormulaWeights.Input(1, 3, 64, 64)), golden);
    }

    [Theory]
    [InlineData(18, 32, 37, 29, "resnet18_vd_os32")]
    [InlineData(18, 8, 37, 29, "resnet18_vd_os8")]
    [InlineData(50, 16, 29, 23, "resnet50_vd_os16")]
    public void ResNetVdFeaturesMatchPaddleSegsArchitecture(int depth, int outputStride, int h, int w, string golden)
    {
        // Odd sizes make the ceil-mode average-pool shortcut end on partial windows.
        var model = new ResNetVd(depth, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var features = model.ForwardFeatures(FormulaWeights.Input(1, 3, h, w));
            for (int s = 0; s < 4; s++)
                AssertClose(GoldenFiles.ReadNpy($"Backbones/{golden}_layer{s + 1}.npy"), features[s], $"{golden} layer{s + 1}");
        }
    }

    /// <summary>Element-wise |actual − expected| ≤ 1e-4 · (|expected| + max|expected|).</summary>
    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: expected shape {expected.Shape}, got {actual.Shape}");
        var e = expected.ToArray();
        var a = actual.ToArray();
        float scale = e.Max(MathF.Abs);
        for (int i = 0; i < e.Length; i++)
            Assert.True(MathF.Abs(a[i] - e[i]) <= 1e-4f * (MathF.Abs(e[i]) + scale),
                $"{what}: element {i} is {a[i]}, expected {e[i]} (scale {scale})");
    }
}
