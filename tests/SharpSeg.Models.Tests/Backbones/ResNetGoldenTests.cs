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
            GoldenAssert.Close(GoldenFiles.ReadNpy($"Backbones/{golden}.npy"), model.Forward(FormulaWeights.Input(1, 3, 64, 64)), golden);
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
                GoldenAssert.Close(GoldenFiles.ReadNpy($"Backbones/{golden}_layer{s + 1}.npy"), features[s], $"{golden} layer{s + 1}");
        }
    }
}
