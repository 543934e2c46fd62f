using SharpSeg.Models;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>DeepLabV3+ on the smallest MobileNetV2 trains through the ordinary Segmenter path.</summary>
public sealed class MobileNetV2TrainingTests
{
    [Fact]
    public void DeepLabV3PlusOnMobileNetV2X025LowersTheLoss()
    {
        using var saveDir = new TemporaryFolder("mobilenetv2");
        Engine.ManualSeed(4);
        var model = new DeepLabV3Plus(new DeepLabV3PlusOptions(3, Backbone: "mobilenetv2_x0.25", OutputStride: 16, AsppOutChannels: 16,
            LowLevelChannels: 8));
        var segmenter = new Training.Segmenter(model, "deeplabv3p");
        var result = segmenter.Train(3, TestData.Synthetic(8, seed: 31), trainBatchSize: 4, saveDir: saveDir.Path, learningRate: 0.05,
            options: new TrainingOptions(Seed: 6));

        Assert.Equal(6, result.GlobalStep);
        Assert.All(result.StepLosses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(result.EpochLosses[^1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");
    }
}
