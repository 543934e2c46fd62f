using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.MobileNetV3Family;

/// <summary>
/// Outputs against tools/gen_models_golden_mobilenetv3.py: torchvision 0.14's mobilenet_v3_large/small and a literal
/// PyTorch translation of PaddleSeg 2.6+'s mobilenetv3.py, run in float64 with every state-dict tensor given by
/// <see cref="FormulaWeights"/>.
/// </summary>
public class MobileNetV3GoldenTests
{
    [Theory]
    [InlineData(MobileNetV3Arch.Large, 32, 48, 40, "mobilenet_v3_large_os32", true)]
    [InlineData(MobileNetV3Arch.Large, 16, 37, 29, "mobilenet_v3_large_os16", false)] // torchvision's dilated=True
    [InlineData(MobileNetV3Arch.Small, 32, 45, 35, "mobilenet_v3_small_os32", true)]
    public void TorchvisionFeaturesAndLogitsMatchTorchvision(MobileNetV3Arch arch, int outputStride, int h, int w, string golden, bool logits)
    {
        var model = new MobileNetV3(arch, MobileNetV3Flavour.Torchvision, 1.0, numClasses: 1000,
            new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        var x = FormulaWeights.Input(1, 3, h, w);
        using (GradMode.NoGrad())
        {
            AssertFeatures(golden, model.ForwardFeatures(x));
            if (logits) GoldenAssert.Close(GoldenFiles.ReadNpy($"MobileNetV3/{golden}_logits.npy"), model.Forward(x), $"{golden} logits");
        }
    }

    [Theory]
    [InlineData(MobileNetV3Arch.Small, 0.35, 32, 37, 29, "mobilenetv3_small_x0_35_os32")]
    [InlineData(MobileNetV3Arch.Small, 0.35, 8, 37, 29, "mobilenetv3_small_x0_35_os8")]
    [InlineData(MobileNetV3Arch.Small, 0.35, 4, 21, 18, "mobilenetv3_small_x0_35_os4")] // block 1 (8 → 8 channels) gains the residual
    [InlineData(MobileNetV3Arch.Large, 0.5, 16, 35, 30, "mobilenetv3_large_x0_5_os16")]
    public void PaddleSegFeaturesMatchPaddleSegsArchitecture(MobileNetV3Arch arch, double scale, int outputStride, int h, int w, string golden)
    {
        var model = new MobileNetV3(arch, MobileNetV3Flavour.PaddleSeg, scale, 0, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
            AssertFeatures(golden, model.ForwardFeatures(FormulaWeights.Input(1, 3, h, w)));
    }

    private static void AssertFeatures(string golden, IReadOnlyList<Tensor> features)
    {
        Assert.Equal(4, features.Count);
        for (int i = 0; i < features.Count; i++)
            GoldenAssert.Close(GoldenFiles.ReadNpy($"MobileNetV3/{golden}_feature{i}.npy"), features[i], $"{golden} feature {i}");
    }
}
