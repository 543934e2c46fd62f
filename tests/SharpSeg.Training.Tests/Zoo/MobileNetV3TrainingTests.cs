using SharpSeg.Models;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>A few training steps of DeepLabV3+ on PaddleSeg's smallest MobileNetV3, as PaddleX trains it (fixed-window image pooling).</summary>
public sealed class MobileNetV3TrainingTests
{
    [Fact]
    public void DeepLabV3PlusOnMobileNetV3SmallX035WithPoolingCropSizeLowersTheLoss()
    {
        using var saveDir = new TemporaryFolder("zoo-mobilenetv3");
        Engine.ManualSeed(4);
        var model = new DeepLabV3Plus(new DeepLabV3PlusOptions(3, Backbone: "mobilenetv3_small_x0_35", OutputStride: 16, PoolingCropSize: (32, 32),
            AsppOutChannels: 16, LowLevelChannels: 8));
        Assert.IsType<MobileNetV3>(model.Backbone);
        var segmenter = new Training.Segmenter(model, "deeplabv3p");

        var result = segmenter.Train(4, TestData.Synthetic(4, seed: 31), trainBatchSize: 4, saveIntervalEpochs: 4, saveDir: saveDir.Path,
            learningRate: 0.05, options: new TrainingOptions(Seed: 6));

        Assert.Equal(4, result.StepLosses.Count);
        Assert.All(result.StepLosses, l => Assert.True(double.IsFinite(l)));
        Assert.True(result.StepLosses[^1] < result.StepLosses[0], $"step losses {string.Join(", ", result.StepLosses)}");
    }
}
