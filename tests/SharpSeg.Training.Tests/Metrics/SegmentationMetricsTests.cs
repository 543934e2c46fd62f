using System.Text.Json;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Metrics;

public class SegmentationMetricsTests
{
    private const int Digits = 14;

    // Rows = label, columns = prediction. Class 2 is predicted once but never labelled, class 3 appears nowhere.
    // L = row sums = [8, 6, 0, 0], P = column sums = [8, 5, 1, 0], TP = [6, 4, 0, 0], N = 14.
    private static readonly long[,] FourClasses =
    {
        { 6, 1, 1, 0 },
        { 2, 4, 0, 0 },
        { 0, 0, 0, 0 },
        { 0, 0, 0, 0 },
    };

    [Fact]
    public void IouAveragesOverAllClassesWithAbsentClassesAsZero()
    {
        var m = ConfusionMatrix.FromCounts(FourClasses).ComputeMetrics();

        // IoU = TP / (L + P − TP): 6/10, 4/7, 0/1, and 0 for the empty union of class 3.
        Assert.Equal([0.6, 4.0 / 7, 0, 0], m.CategoryIou.ToArray());
        // (0.6 + 4/7) / 4 = (21/35 + 20/35) / 4 = 41/140: the two classes with no IoU still count in the mean.
        Assert.Equal(41.0 / 140, m.MeanIou, Digits);
    }

    [Fact]
    public void AccuraciesFollowPaddleXDefinitions()
    {
        var m = ConfusionMatrix.FromCounts(FourClasses).ComputeMetrics();

        Assert.Equal(10.0 / 14, m.OverallAccuracy, Digits);
        // PaddleX's category_acc is TP / P: 6/8, 4/5, 0/1, and 0 for the never-predicted class 3.
        Assert.Equal([0.75, 0.8, 0, 0], m.CategoryAccuracy.ToArray());
        Assert.Equal((0.75 + 0.8) / 4, m.MeanAccuracy, Digits);
        // Recall is TP / L: 6/8, 4/6, and 0 for the two unlabelled classes.
        Assert.Equal([0.75, 4.0 / 6, 0, 0], m.CategoryRecall.ToArray());
    }

    [Fact]
    public void F1IsDiceTwoTpOverLabelPlusPrediction()
    {
        var m = ConfusionMatrix.FromCounts(FourClasses).ComputeMetrics();

        // 2·6/(8+8) = 3/4, 2·4/(6+5) = 8/11, 0/(0+1), 0 for the empty class.
        Assert.Equal([0.75, 8.0 / 11, 0, 0], m.CategoryF1.ToArray());
        // 2PR/(P+R) for class 1: P = 4/5, R = 2/3 → (16/15)/(22/15) = 8/11, the same value.
        Assert.Equal(2 * 0.8 * (2.0 / 3) / (0.8 + 2.0 / 3), m.CategoryF1[1], Digits);
        Assert.Equal((0.75 + 8.0 / 11) / 4, m.MeanDice, Digits);
    }

    [Fact]
    public void KappaFromTheMatrix()
    {
        var m = ConfusionMatrix.FromCounts(FourClasses).ComputeMetrics();

        // po = 10/14 = 140/196; pe = Σ L·P / N² = (8·8 + 6·5 + 0·1 + 0·0) / 196 = 94/196;
        // κ = (140 − 94) / (196 − 94) = 46/102 = 23/51.
        Assert.Equal(23.0 / 51, m.Kappa, Digits);
    }

    [Fact]
    public void KappaOfTheTextbookTwoRaterExample()
    {
        // Cohen's example (Wikipedia, "Cohen's kappa"): 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → po 0.7, pe 0.5, κ 0.4.
        var m = ConfusionMatrix.FromCounts(new long[,] { { 20, 5 }, { 10, 15 } }).ComputeMetrics();

        Assert.Equal(0.4, m.Kappa, Digits);
        Assert.Equal(0.7, m.OverallAccuracy, Digits);
        // IoU: 20/(25+30−20) = 4/7, 15/(25+20−15) = 1/2.
        Assert.Equal((4.0 / 7 + 0.5) / 2, m.MeanIou, Digits);
    }

    [Fact]
    public void DegenerateMatricesGiveZeroInsteadOfNaN()
    {
        var empty = new ConfusionMatrix(3).ComputeMetrics();
        Assert.Equal(0, empty.MeanIou);
        Assert.Equal(0, empty.OverallAccuracy);
        Assert.Equal(0, empty.Kappa);

        // All pixels one class, all right: pe = 1, where PaddleX divides 0 by 0.
        var single = ConfusionMatrix.FromCounts(new long[,] { { 9, 0 }, { 0, 0 } }).ComputeMetrics();
        Assert.Equal(0, single.Kappa);
        Assert.Equal(1, single.OverallAccuracy);
        Assert.Equal(0.5, single.MeanIou);
    }

    [Fact]
    public void KappaStaysExactWhenLabelTimesPredictionAreasOverflowInt64()
    {
        // 4e9 pixels per cell: L·P = 6.4e19 per class exceeds long.MaxValue (9.2e18).
        const long big = 4_000_000_000;
        var m = ConfusionMatrix.FromCounts(new long[,] { { 3 * big, big }, { big, 3 * big } }).ComputeMetrics();

        // po = 6/8, pe = (4·4 + 4·4)/64 = 1/2, κ = (3/4 − 1/2)/(1/2) = 1/2.
        Assert.Equal(0.5, m.Kappa, Digits);
    }

    [Fact]
    public void ScalarsByPaddleXKey()
    {
        var m = ConfusionMatrix.FromCounts(FourClasses).ComputeMetrics();

        Assert.Equal(m.MeanIou, m.Scalar("miou"));
        Assert.Equal(m.Kappa, m.Scalars()["kappa"]);
        Assert.Equal(m.MeanAccuracy, m.Scalars()["macc"]);
        var e = Assert.Throws<ArgumentException>(() => m.Scalar("mIoU"));
        Assert.Contains("'mIoU'", e.Message);
    }

    [Fact]
    public void SerialisesWithPaddleXKeysAndTheMatrixOnlyWithDetails()
    {
        var matrix = ConfusionMatrix.FromCounts(new long[,] { { 20, 5 }, { 10, 15 } });

        using var plain = JsonDocument.Parse(JsonSerializer.Serialize(matrix.ComputeMetrics()));
        string[] keys = [.. plain.RootElement.EnumerateObject().Select(p => p.Name)];
        Assert.Equal(["miou", "category_iou", "oacc", "macc", "category_acc", "category_recall", "kappa", "category_f1", "mdice"], keys);
        Assert.Equal(0.4, plain.RootElement.GetProperty("kappa").GetDouble(), Digits);

        using var detailed = JsonDocument.Parse(JsonSerializer.Serialize(matrix.ComputeMetrics(includeConfusionMatrix: true)));
        var rows = detailed.RootElement.GetProperty("confusion_matrix");
        Assert.Equal("[[20,5],[10,15]]", rows.GetRawText());
    }
}
