using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// Outputs against tools/gen_models_golden_mobilenetv2.py: torchvision 0.14's own <c>mobilenet_v2(width_mult=…)</c> (dilated
/// in place for output strides 16 and 8, TF DeepLab / timm style), every state-dict tensor given by <see cref="FormulaWeights"/>,
/// run in float64 in eval mode.
/// </summary>
public class MobileNetV2GoldenTests
{
    [Theory]
    [InlineData(1.0, 32, 37, 29, "mobilenetv2_x1.0_os32")]
    [InlineData(0.5, 16, 35, 27, "mobilenetv2_x0.5_os16")]
    [InlineData(0.25, 8, 33, 26, "mobilenetv2_x0.25_os8")]
    public void FeaturesMatchTorchvision(double width, int outputStride, int h, int w, string golden)
    {
        var model = new MobileNetV2(width, 0, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var features = model.ForwardFeatures(FormulaWeights.Input(1, 3, h, w));
            Assert.Equal(4, features.Count);
            for (int i = 0; i < features.Count; i++)
            {
                string module = model.FeatureInfo[i].Module;
                GoldenAssert.Close(GoldenFiles.ReadNpy($"MobileNetV2/{golden}_{module}.npy"), features[i], $"{golden} {module}");
            }
        }
    }

    [Fact]
    public void ClassifierLogitsMatchTorchvision()
    {
        var model = new MobileNetV2(1.0, 1000, initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
            GoldenAssert.Close(GoldenFiles.ReadNpy("MobileNetV2/mobilenetv2_x1.0_logits.npy"), model.Forward(FormulaWeights.Input(1, 3, 32, 32)), "logits");
    }
}
