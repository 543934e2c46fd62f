using SharpSeg.Models;
using SharpSeg.Training.Config;

namespace SharpSeg.Training.Tests.Config;

/// <summary>Every config under <c>configs/</c> resolves and builds its model, which runs at a tiny input (nothing is trained).</summary>
public sealed class ShippedConfigTests
{
    private static readonly string ConfigsFolder = FindConfigsFolder();

    private static IEnumerable<string> ConfigPaths() =>
        Directory.EnumerateFiles(ConfigsFolder, "*.yml", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}_base_{Path.DirectorySeparatorChar}"))
            .Select(f => Path.GetRelativePath(ConfigsFolder, f)).Order(StringComparer.Ordinal);

    public static TheoryData<string> ShippedConfigs() => [.. ConfigPaths()];

    [Theory]
    [MemberData(nameof(ShippedConfigs))]
    public void ResolvesAndBuildsItsModel(string relativePath)
    {
        var config = TrainingConfig.Load(Path.Combine(ConfigsFolder, relativePath));
        Engine.ManualSeed(0);
        var segmenter = config.CreateSegmenter();
        segmenter.Model.Eval();

        IReadOnlyList<Tensor> outputs;
        using (GradMode.NoGrad())
            outputs = segmenter.Model.Forward(Tensor.Randn(new Shape(1, 3, 64, 64), new Random(1)));

        Assert.NotNull(config.Iters);
        Assert.Equal(config.Losses!.Entries.Count, outputs.Count);
        Assert.All(outputs, o => Assert.Equal(new Shape(1, config.ModelOptions.NumClasses, 64, 64), o.Shape));
        Assert.NotEmpty(config.TrainDataset.Transforms.Transforms);
        string folder = relativePath.Split(Path.DirectorySeparatorChar)[0];
        Assert.Equal(folder, config.Model);
    }

    [Fact]
    public void EveryRegisteredSegmentationModelHasAShippedConfig()
    {
        var models = ConfigPaths().Select(p => TrainingConfig.Load(Path.Combine(ConfigsFolder, p)).Model).ToHashSet();

        Assert.Equal(ModelRegistry.Names(RegistryKind.Model).Order(), models.Order());
    }

    [Fact]
    public void TheResNet101ConfigInheritsEverythingButTheBackbone()
    {
        var resnet50 = TrainingConfig.Load(Path.Combine(ConfigsFolder, "deeplabv3p", "deeplabv3p_resnet50_vd_cityscapes_1024x512_80k.yml"));
        var resnet101 = TrainingConfig.Load(Path.Combine(ConfigsFolder, "deeplabv3p", "deeplabv3p_resnet101_vd_cityscapes_1024x512_80k.yml"));

        Assert.Equal(((DeepLabV3PlusOptions)resnet50.ModelOptions) with { Backbone = "resnet101_vd" }, resnet101.ModelOptions);
        Assert.Equal((8, 19), (((DeepLabV3PlusOptions)resnet101.ModelOptions).OutputStride, resnet101.ModelOptions.NumClasses));
        Assert.Equal((resnet50.BatchSize, resnet50.Iters, resnet50.LearningRate), (resnet101.BatchSize, resnet101.Iters, resnet101.LearningRate));
    }

    private static string FindConfigsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "configs")) && File.Exists(Path.Combine(dir.FullName, "SharpSeg.slnx")))
                return Path.Combine(dir.FullName, "configs");
        throw new DirectoryNotFoundException($"No configs/ folder above {AppContext.BaseDirectory}.");
    }
}
