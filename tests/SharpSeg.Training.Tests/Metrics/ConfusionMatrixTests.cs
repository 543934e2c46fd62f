using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Metrics;

public class ConfusionMatrixTests
{
    [Fact]
    public void CountsRowsByLabelAndColumnsByPredictionSkippingIgnoredPixels()
    {
        var matrix = new ConfusionMatrix(3);
        int[] labels = [0, 0, 1, 2, 255, 2, 255];
        int[] predictions = [0, 1, 1, 0, 2, 2, 0];

        matrix.Update(predictions, labels);

        Assert.Equal(
            [[1, 1, 0], [0, 1, 0], [1, 0, 1]],
            matrix.ToArray());
        Assert.Equal(5, matrix.Total);
        Assert.Equal(1, matrix[2, 0]);
    }

    [Fact]
    public void CustomIgnoreIndex()
    {
        var matrix = new ConfusionMatrix(2, ignoreIndex: -1);

        matrix.Update([1, 0, 1], [-1, 0, 1]);

        Assert.Equal([[1, 0], [0, 1]], matrix.ToArray());
    }

    [Fact]
    public void IgnoreIndexThatIsAClassIsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(3, ignoreIndex: 2));
        Assert.Contains("ignore index 2", e.Message);
    }

    [Fact]
    public void OutOfRangeValuesAreRejectedBeforeAnythingIsCounted()
    {
        var matrix = new ConfusionMatrix(3);

        var label = Assert.Throws<ArgumentException>(() => matrix.Update([0, 1, 1], [0, 1, 7]));
        Assert.Contains("label 7 at flat index 2", label.Message);
        var prediction = Assert.Throws<ArgumentException>(() => matrix.Update([0, 3], [0, 1]));
        Assert.Contains("prediction 3 at flat index 1", prediction.Message);
        var length = Assert.Throws<ArgumentException>(() => matrix.Update([0, 1], [0]));
        Assert.Contains("2 predictions but 1 labels", length.Message);

        Assert.Equal(0, matrix.Total);
    }

    [Fact]
    public void StreamingInChunksAndMergingEqualOneShotAndANaiveCount()
    {
        const int classes = 5, pixels = 10_000;
        var random = new Random(7);
        var labels = new int[pixels];
        var predictions = new int[pixels];
        for (int i = 0; i < pixels; i++)
        {
            labels[i] = random.Next(10) == 0 ? 255 : random.Next(classes);
            predictions[i] = random.Next(classes);
        }

        var oneShot = new ConfusionMatrix(classes);
        oneShot.Update(predictions, labels);

        var streamed = new ConfusionMatrix(classes);
        for (int start = 0; start < pixels; start += 997)
        {
            int length = Math.Min(997, pixels - start);
            streamed.Update(predictions.AsSpan(start, length), labels.AsSpan(start, length));
        }

        var firstHalf = new ConfusionMatrix(classes);
        var secondHalf = new ConfusionMatrix(classes);
        firstHalf.Update(predictions.AsSpan(0, 4321), labels.AsSpan(0, 4321));
        secondHalf.Update(predictions.AsSpan(4321), labels.AsSpan(4321));
        firstHalf.Merge(secondHalf);

        var naive = new long[classes][];
        for (int c = 0; c < classes; c++) naive[c] = new long[classes];
        foreach (var (label, prediction) in labels.Zip(predictions))
            if (label != 255) naive[label][prediction]++;

        Assert.Equal(naive, oneShot.ToArray());
        Assert.Equal(naive, streamed.ToArray());
        Assert.Equal(naive, firstHalf.ToArray());
        Assert.Equal(oneShot.ComputeMetrics().MeanIou, streamed.ComputeMetrics().MeanIou);
        Assert.Equal(oneShot.ComputeMetrics().Kappa, firstHalf.ComputeMetrics().Kappa);
    }

    [Fact]
    public void MergeRefusesADifferentClassCount()
    {
        var e = Assert.Throws<ArgumentException>(() => new ConfusionMatrix(3).Merge(new ConfusionMatrix(4)));
        Assert.Contains("4-class", e.Message);
    }

    [Fact]
    public void ResetClearsTheCounts()
    {
        var matrix = new ConfusionMatrix(2);
        matrix.Update([1], [1]);

        matrix.Reset();

        Assert.Equal(0, matrix.Total);
    }

    [Fact]
    public void TensorUpdateAcceptsInt64LabelsWithAChannelAxis()
    {
        var matrix = new ConfusionMatrix(3);
        var predictions = Tensor.FromArray([0, 2, 1, 1], 1, 2, 2);
        var labels = Tensor.FromArray([0L, 2, 255, 0], 1, 1, 2, 2);

        matrix.Update(predictions, labels);

        Assert.Equal([[1, 1, 0], [0, 0, 0], [0, 0, 1]], matrix.ToArray());
    }

    [Fact]
    public void TensorUpdateRejectsFloatPredictions()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new ConfusionMatrix(2).Update(Tensor.FromArray([0f, 1f], 2), Tensor.FromArray([0, 1], 2)));
        Assert.Contains("predictions must be an int32 or int64 tensor", e.Message);
    }

    [Fact]
    public void UpdateFromLogitsEqualsUpdateWithArgmax()
    {
        const int n = 2, c = 4, h = 3, w = 5;
        var random = new Random(3);
        var logits = Tensor.Randn(new Shape(n, c, h, w), random);
        var labels = new int[n * h * w];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 7 == 0 ? 255 : random.Next(c);

        var fromLogits = new ConfusionMatrix(c);
        fromLogits.UpdateFromLogits(logits, labels);
        var fromArgmax = new ConfusionMatrix(c);
        fromArgmax.Update(logits.Argmax(1), Tensor.FromArray(labels, n, h, w));

        Assert.Equal(fromArgmax.ToArray(), fromLogits.ToArray());
        Assert.Equal(labels.Count(l => l != 255), fromLogits.Total);
    }

    [Fact]
    public void UpdateFromLogitsTakesTheFirstMaximumOnTies()
    {
        var matrix = new ConfusionMatrix(3);
        // One pixel, logits [1, 3, 3]: torch.argmax picks class 1.
        matrix.UpdateFromLogits(Tensor.FromArray([1f, 3f, 3f], 1, 3, 1, 1), [1]);

        Assert.Equal(1, matrix[1, 1]);
    }

    [Fact]
    public void UpdateFromLogitsChecksTheClassAxis()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new ConfusionMatrix(3).UpdateFromLogits(Tensor.Zeros(1, 2, 2, 2), new int[4]));
        Assert.Contains("2 channels", e.Message);
    }

    [Fact]
    public void UpdateFromLogitsReadsTheOneLogitOfABinaryHeadAsTwoClasses()
    {
        var matrix = new ConfusionMatrix(2);
        // σ(l) > 0.5 is class 1: −1 → 0, 0 → 0 (p = 0.5 exactly), 0.5 → 1, 3 → 1 (ignored), −2 → 0, 1e-9 → 0 (σ rounds to 0.5).
        var logits = Tensor.FromArray([-1f, 0f, 0.5f, 3f, -2f, 1e-9f], 2, 1, 1, 3);

        matrix.UpdateFromLogits(logits, [0, 1, 1, 255, 1, 0]);

        Assert.Equal([[2, 0], [2, 1]], matrix.ToArray());
    }

    [Fact]
    public void UpdateFromLogitsTakesOneChannelOnlyForTwoClasses()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new ConfusionMatrix(3).UpdateFromLogits(Tensor.Zeros(1, 1, 2, 2), new int[4]));
        Assert.Contains("1 channels, the matrix has 3 classes", e.Message);
    }
}
