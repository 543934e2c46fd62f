using SharpSeg.Models;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>The registered <c>hrnet</c> model (PaddleX's <c>HRNet(width='18_small_v1')</c>) trains and reloads through <see cref="Training.Segmenter"/>.</summary>
public sealed class HRNetTrainingTests
{
    [Fact]
    public void W18SmallV1LowersTheLossOnSyntheticDataAndReloadsFromItsCheckpoint()
    {
        using var saveDir = new TemporaryFolder("hrnet");
        Engine.ManualSeed(4);
        var segmenter = new Training.Segmenter("hrnet", numClasses: 3, options: new HRNetOptions(3, Width: "18_small_v1"));
        var train = TestData.Synthetic(4, seed: 31);
        var result = segmenter.Train(3, train, trainBatchSize: 2, saveDir: saveDir.Path, saveIntervalEpochs: 3, learningRate: 0.05,
            options: new TrainingOptions(Seed: 6));

        Assert.Equal(6, result.StepLosses.Count);
        Assert.All(result.StepLosses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(result.EpochLosses[^1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");

        var reloaded = Training.Segmenter.Load(CheckpointFolders.EpochFolder(saveDir.Path, 3));
        Assert.Equal("18_small_v1", Assert.IsType<HRNetOptions>(reloaded.Model.Options).Width);
        var image = TestData.Synthetic(1, seed: 32, size: 37).Load(0).Image;
        Assert.Equal(segmenter.Predict(image).ScoreMap.Pixels, reloaded.Predict(image).ScoreMap.Pixels);
    }
}
