using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Registry;

/// <summary>
/// timm-style contract tests over every registered backbone, whatever its family: a new registry entry is tested
/// automatically. Each backbone is built once per test and dropped, so the suite never holds the whole zoo in memory.
/// </summary>
public class BackboneRegistryTests
{
    /// <summary>Backbones above this many parameters run forward only, at the smallest sizes (their blocks repeat smaller siblings').</summary>
    private const long LargeParameterCount = 30_000_000;

    public static TheoryData<string> AllBackbones() => [.. ModelRegistry.Names(RegistryKind.Backbone)];

    [Fact]
    public void NamesAndAliasesAreFoundIgnoringCaseAndUnknownNamesListTheRegisteredOnes()
    {
        Assert.Same(ModelRegistry.Get("resnet50_vd", RegistryKind.Backbone), ModelRegistry.Get("ResNet50_vd", RegistryKind.Backbone));
        Assert.Null(ModelRegistry.Find("resnet50_vd", RegistryKind.Model));
        foreach (var entry in ModelRegistry.List())
        {
            Assert.Equal(entry.Name.ToLowerInvariant(), entry.Name);
            Assert.False(string.IsNullOrWhiteSpace(entry.Description), $"{entry.Name} has no description");
            foreach (string alias in entry.Aliases)
                Assert.Same(entry, ModelRegistry.Get(alias.ToUpperInvariant(), entry.Kind));
        }
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.CreateBackbone("resnet19_vd"));
        Assert.Contains("Unknown backbone 'resnet19_vd'", error.Message);
        Assert.Contains("resnet18_vd", error.Message);
    }

    [Theory]
    [MemberData(nameof(AllBackbones))]
    public void EveryBackboneKeepsTheFeatureContractAndTheReferenceKeys(string name)
    {
        Assert.True(File.Exists(KeyFile.PathOf(name)), $"{name}: no key file {KeyFile.PathOf(name)} dumped from its PyTorch reference");
        var file = KeyFile.Read(name);
        var backbone = ModelRegistry.CreateBackbone(name);

        Assert.Equal(KeyFile.Describe(file.HeadlessEntries), KeyFile.Describe(backbone.Module));
        Assert.Equal(file.HeadlessParameterCount, backbone.Module.ParameterCount);

        Assert.Equal(3, backbone.InChannels);
        var infos = backbone.FeatureInfo;
        Assert.NotEmpty(infos);
        var modules = backbone.Module.NamedModules().Select(m => m.Name).ToHashSet();
        Assert.All(infos, f => Assert.True(modules.Contains(f.Module), $"{name}: FeatureInfo names '{f.Module}', which is not a module"));
        Assert.All(infos.Zip(infos.Skip(1)), pair => Assert.True(pair.First.Reduction <= pair.Second.Reduction,
            $"{name}: reductions must not decrease ({string.Join(", ", infos.Select(f => f.Reduction))})"));
        Assert.Equal(backbone.OutputStride, infos[^1].Reduction);

        bool large = file.HeadlessParameterCount > LargeParameterCount;
        backbone.Module.Eval();
        using (GradMode.NoGrad())
        {
            AssertFeatureShapes(name, backbone, large ? 32 : 64, large ? 32 : 64);
            AssertFeatureShapes(name, backbone, large ? 33 : 65, large ? 31 : 47);
        }
        if (large) return;

        // Deterministic weights: random draws can leave every unit of a narrow squeeze-excite ReLU dead (MobileNetV3 small x0.35).
        FormulaWeights.Fill(backbone.Module);
        backbone.Module.Train();
        var features = backbone.ForwardFeatures(FormulaWeights.Input(2, 3, 33, 29));
        features.Select(f => (f * f).Mean()).Aggregate((a, b) => a + b).Backward();
        foreach (var (key, parameter) in backbone.Module.NamedParameters())
        {
            Assert.True(parameter.Grad is not null, $"{name}: no gradient reached {key}");
            var grad = parameter.Grad!.ToArray();
            Assert.True(grad.All(float.IsFinite), $"{name}: non-finite gradient in {key}");
            Assert.True(grad.Any(g => g != 0), $"{name}: all-zero gradient in {key}");
        }
    }

    [Theory]
    [MemberData(nameof(AllBackbones))]
    public void OtherInputChannelCountsAndOutputStridesWorkOrAreRefusedByName(string name)
    {
        if (KeyFile.Read(name).HeadlessParameterCount > LargeParameterCount) return;
        var fourBands = ModelRegistry.CreateBackbone(name, new BackboneOptions(InChannels: 4));
        Assert.Equal(4, fourBands.InChannels);
        fourBands.Module.Eval();
        using (GradMode.NoGrad()) AssertFeatureShapes(name, fourBands, 33, 31, channels: 4);

        int native = fourBands.OutputStride;
        foreach (int outputStride in new[] { 8, 16 }.Where(s => s < native))
        {
            IBackbone dilated;
            try
            {
                dilated = ModelRegistry.CreateBackbone(name, new BackboneOptions(OutputStride: outputStride));
            }
            catch (ArgumentException e)
            {
                Assert.Contains(outputStride.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
                continue;
            }
            Assert.Equal(outputStride, dilated.OutputStride);
            Assert.Equal(outputStride, dilated.FeatureInfo[^1].Reduction);
            Assert.All(dilated.FeatureInfo, f => Assert.True(f.Reduction <= outputStride));
            dilated.Module.Eval();
            using (GradMode.NoGrad()) AssertFeatureShapes(name, dilated, 33, 31);
        }
    }

    /// <summary>
    /// Every feature has its FeatureInfo channels and the input size divided by its reduction, rounded up (padded
    /// strided convolutions and ceil-mode pools) or down (floor-mode pools).
    /// </summary>
    private static void AssertFeatureShapes(string name, IBackbone backbone, int h, int w, int channels = 3)
    {
        var features = backbone.ForwardFeatures(FormulaWeights.Input(1, channels, h, w));
        Assert.Equal(backbone.FeatureInfo.Count, features.Count);
        for (int i = 0; i < features.Count; i++)
        {
            var info = backbone.FeatureInfo[i];
            var shape = features[i].Shape;
            string where = $"{name} feature {i} ({info.Module}, reduction {info.Reduction}) at {h}×{w}: got {shape}";
            Assert.True(shape.Rank == 4 && shape[0] == 1 && shape[1] == info.Channels, where);
            Assert.True(shape[2] == h / info.Reduction || shape[2] == (h + info.Reduction - 1) / info.Reduction, where);
            Assert.True(shape[3] == w / info.Reduction || shape[3] == (w + info.Reduction - 1) / info.Reduction, where);
            Assert.True(features[i].ToArray().All(float.IsFinite), $"{where}: non-finite values");
        }
    }
}
