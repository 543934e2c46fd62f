using SharpSeg.Data.Loading;
using SharpSeg.Nn.Losses;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>Loss coefficients over a model's main and auxiliary outputs (PaddleSeg's <c>loss.coef</c>).</summary>
public sealed class AuxiliaryLossTests
{
    /// <summary>The first step's loss, computed by hand on the untrained model and the loader's first batch.</summary>
    private static double FirstStepLoss(float mainCoefficient, float auxiliaryCoefficient)
    {
        var model = new TwoHeadNet(3, seed: 4);
        var dataset = TestData.Synthetic(4, seed: 3, size: 12);
        var loader = new DataLoader(dataset, new DataLoaderOptions(BatchSize: 2, Shuffle: true, DropLast: true, Seed: 0));
        var batch = loader.Epoch(1).First();
        model.Train();
        var logits = model.Forward(batch.ImageTensor());
        var loss = PaddleXLoss.Create(3);
        var labels = batch.LabelTensor();
        return mainCoefficient * loss.Forward(logits[0], labels).Item() + auxiliaryCoefficient * loss.Forward(logits[1], labels).Item();
    }

    private static TrainingResult TrainOneEpoch(TrainingOptions options, IReadOnlyList<double>? modelCoefficients = null)
    {
        using var saveDir = new TemporaryFolder("aux");
        return new Training.Segmenter(new TwoHeadNet(3, seed: 4, modelCoefficients), "two-head")
            .Train(1, TestData.Synthetic(4, seed: 3, size: 12), trainBatchSize: 2, saveDir: saveDir.Path, options: options);
    }

    [Fact]
    public void CoefficientsWeighEachOutput() =>
        Assert.Equal(FirstStepLoss(1f, 0.4f), TrainOneEpoch(new TrainingOptions(LossCoefficients: [1f, 0.4f])).StepLosses[0], 1e-6);

    [Fact]
    public void WithoutCoefficientsTheModelsOwnWeighEachOutput() =>
        Assert.Equal(FirstStepLoss(1f, 0.25f), TrainOneEpoch(new TrainingOptions(), modelCoefficients: [1.0, 0.25]).StepLosses[0], 1e-6);

    [Fact]
    public void GivenCoefficientsOverrideTheModelsOwn() =>
        Assert.Equal(FirstStepLoss(1f, 0.4f), TrainOneEpoch(new TrainingOptions(LossCoefficients: [1f, 0.4f]), modelCoefficients: [1.0, 0.25]).StepLosses[0], 1e-6);

    [Fact]
    public void WithoutCoefficientsEveryOutputWeighsOne() =>
        Assert.Equal(FirstStepLoss(1f, 1f), TrainOneEpoch(new TrainingOptions()).StepLosses[0], 1e-6);

    [Fact]
    public void ALossListGivesEachOutputItsOwnLoss() =>
        Assert.Equal(FirstStepLoss(0.5f, 0.25f),
            TrainOneEpoch(new TrainingOptions(Losses: new LossList([(PaddleXLoss.Create(3), 0.5f), (PaddleXLoss.Create(3), 0.25f)]))).StepLosses[0], 1e-6);

    [Fact]
    public void ACoefficientCountThatDoesNotMatchTheOutputsIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => TrainOneEpoch(new TrainingOptions(LossCoefficients: [1f, 0.4f, 0.2f])));
        Assert.Contains("3 loss coefficient(s) given but model 'two-head' returns 2 output(s)", error.Message);
    }

    [Fact]
    public void LossesAndCoefficientsTogetherAreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => TrainOneEpoch(
            new TrainingOptions(LossCoefficients: [1f], Losses: LossList.Weighted(PaddleXLoss.Create(3), 1f, 1f))));
        Assert.Contains("options.Losses", error.Message);
    }
}
