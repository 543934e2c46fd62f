using SharpSeg.Models;
using SharpSeg.Training.Tests.Segmenter;

namespace SharpSeg.Training.Tests.Zoo;

/// <summary>Fast-SCNN with both auxiliary heads trains, its loss weights as the loss coefficients.</summary>
public sealed class FastScnnTrainingTests
{
    [Fact]
    public void ThreeWeightedOutputsLowerTheTotalLossAndTheCheckpointKeepsTheWeights()
    {
        using var saveDir = new TemporaryFolder("fastscnn");
        Engine.ManualSeed(3);
        var model = (FastScnn)ModelRegistry.CreateModel("fastscnn", new FastScnnOptions(3, MultiLossWeight: [1.0, 0.4, 0.4]));
        var segmenter = new Training.Segmenter(model, "fastscnn");
        const int epochs = 4;
        var result = segmenter.Train(epochs, TestData.Synthetic(4, seed: 11, size: 64), trainBatchSize: 2, saveIntervalEpochs: epochs,
            saveDir: saveDir.Path, learningRate: 0.05, options: new TrainingOptions(Seed: 5));

        Assert.Equal(2 * epochs, result.StepLosses.Count);
        Assert.All(result.StepLosses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(result.EpochLosses[^1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");

        var reloaded = Assert.IsType<FastScnn>(Training.Segmenter.Load(result.LastCheckpointFolder!).Model);
        Assert.Equal(model.FastScnnOptions, reloaded.FastScnnOptions);
        Assert.Equal([1.0, 0.4, 0.4], reloaded.LossCoefficients);
    }
}
