using SharpSeg.Nn;

using SharpSeg.Models.Tests.Segmentation;

namespace SharpSeg.Models.Tests.Registry;

/// <summary>Checks every registered segmentation model (timm-style registry-wide tests).</summary>
public class SegmentationRegistryTests
{
    public static TheoryData<string> Models() => SmallModels.RegisteredNames();

    [Fact]
    public void RegistryListsDeepLabV3PlusAndUNet()
    {
        var names = ModelRegistry.Names(RegistryKind.Model);
        Assert.Contains("deeplabv3p", names);
        Assert.Contains("unet", names);
        Assert.Contains(ModelRegistry.DefaultModel, names);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TheRegistryDescribesEveryModelsOptionsAndBuildsThemFromText(string name)
    {
        var entry = ModelRegistry.Get(name, RegistryKind.Model);
        Assert.Equal(typeof(BackboneModelOptions).IsAssignableFrom(entry.OptionsType), entry.TakesBackbone);
        var defaults = ModelRegistry.DefaultOptions(name, 7);
        Assert.Equal(entry.OptionsType, defaults.GetType());
        Assert.Equal(7, defaults.NumClasses);
        Assert.DoesNotContain(entry.Options, o => o.Name == nameof(ModelOptions.NumClasses));
        // Every option's default, written as text and read back, gives the default options again.
        var asText = entry.Options.Where(o => o.DefaultValue is not null)
            .ToDictionary(o => o.CliName, o => ModelOptionsBinder.Format(o.DefaultValue));
        var rebuilt = ModelOptionsBinder.Create(entry.OptionsType, 7, asText);
        foreach (var option in entry.Options)
            Assert.True(ModelOptionsBinder.ValuesEqual(ModelOptionsBinder.Get(defaults, option.Name), ModelOptionsBinder.Get(rebuilt, option.Name)),
                $"{name}.{option.Name}: '{ModelOptionsBinder.Format(ModelOptionsBinder.Get(defaults, option.Name))}' did not read back");
        var error = Assert.Throws<ArgumentException>(() => ModelOptionsBinder.Create(entry.OptionsType, 7, new Dictionary<string, string> { ["no-such-option"] = "1" }));
        Assert.Contains("no option 'no-such-option'", error.Message);
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
        if (model.LossCoefficients is { } coefficients) Assert.Equal(outputs.Count, coefficients.Count);
        SegmentationAssert.BackwardReachesEveryParameter(model, outputs);
    }
}
