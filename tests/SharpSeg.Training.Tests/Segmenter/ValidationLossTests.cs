using SharpSeg.Data.Loading;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>The validation loss of training evaluations, and choosing the best model by it (lower is better).</summary>
public sealed class ValidationLossTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("val-loss");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void TheBestModelHasTheLowestValidationLossAndTheLastOneIsTheEvaluationSetsMeanLoss()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 3), "tiny");
        var evaluation = TestData.Synthetic(3, seed: 8, size: 12, mode: Data.Datasets.DatasetMode.Val);

        var result = segmenter.Train(4, TestData.Synthetic(4, seed: 2, size: 12), evalDataset: evaluation, evalBatchSize: 2, saveDir: _root,
            learningRate: 0.05, options: new TrainingOptions(BestMetric: Training.Segmenter.ValidationLossMetric));

        // The last evaluation's loss, recomputed image by image on the final weights (PaddleX's pixel-count-normalised CE).
        var loss = PaddleXLoss.Create(3);
        var loader = new DataLoader(evaluation, new DataLoaderOptions(BatchSize: 1));
        segmenter.Model.Eval();
        double sum = 0;
        using (GradMode.NoGrad())
            foreach (var batch in loader.Epoch(0)) sum += loss.Forward(segmenter.Model.Forward(batch.ImageTensor())[0], batch.LabelTensor()).Item();
        Assert.Equal(sum / 3, result.Evaluations[^1].ValidationLoss, 1e-5);

        var losses = result.Evaluations.Select(e => e.ValidationLoss).ToArray();
        int best = Array.IndexOf(losses, losses.Min());
        Assert.Equal(result.Evaluations[best].Epoch, result.BestEpoch);
        Assert.Equal(losses[best], result.BestMetricValue);
        var bestState = Checkpoint.ReadState(result.BestModelFolder!);
        Assert.Equal(("loss", result.BestEpoch), (bestState.BestMetricName, bestState.BestEpoch));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_root, Training.Segmenter.MetricsFileName)).Count(l => l.Contains("\"validation_loss\"")));
    }

    [Fact]
    public void AnUnknownBestMetricNamesTheAcceptedOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => new Training.Segmenter(new TinyConvNet(3), "tiny")
            .Train(1, TestData.Synthetic(2, seed: 1, size: 8), saveDir: _root, options: new TrainingOptions(BestMetric: "val_loss")));
        Assert.Contains("best metric 'val_loss' is not one of miou, oacc, macc, kappa, mdice or loss", error.Message);
    }
}
