using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>Checks every registered segmentation model (timm-style registry-wide tests).</summary>
public class SegmentationRegistryTests
{
    public static TheoryData<string> Models() => SmallModels.RegisteredNames();

    [Fact]
    public void RegistryListsDeepLabV3PlusAndUNet()
    {
        var names = ModelRegistry.List().Where(e => e.Kind == RegistryKind.Model).Select(e => e.Name).ToList();
        Assert.Contains("deeplabv3p", names);
        Assert.Contains("unet", names);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TheRegisteredOptionsTypeIsTheRecordTheModelKeeps(string name) =>
        Assert.Equal(ModelRegistry.ModelOptionsType(name), SmallModels.Create(name, numClasses: 2, inChannels: 3).Options.GetType());

    [Theory]
    [MemberData(nameof(Models))]
    public void LogitsHaveTheInputResolutionForAnySizeAndWrongChannelCountsAreRejected(string name)
    {
        var model = SmallModels.Create(name, numClasses: 5, inChannels: 3);
        model.Eval();
        var random = new Random(3);
        using var _ = GradMode.NoGrad();
        foreach (var (h, w) in new[] { (32, 32), (17, 23) })
        {
            var logits = model.Forward(Tensor.Randn(new Shape(1, 3, h, w), random));
            Assert.NotEmpty(logits);
            foreach (var logit in logits)
            {
                Assert.Equal(new Shape(1, 5, h, w), logit.Shape);
                Assert.True(logit.ToArray().All(float.IsFinite), $"{name} at {h}×{w}: non-finite logits");
            }
        }

        var error = Assert.Throws<ShapeMismatchException>(() => model.Forward(Tensor.Zeros(1, 4, 32, 32)));
        Assert.Contains("[N, 3, H, W]", error.Message);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void BackwardReachesEveryParameterWithFiniteGradients(string name)
    {
        var model = SmallModels.Create(name, numClasses: 3, inChannels: 2);
        var outputs = model.Forward(Tensor.Randn(new Shape(2, 2, 9, 13), new Random(5)));
        SegmentationAssert.BackwardReachesEveryParameter(model, outputs);
    }
}
