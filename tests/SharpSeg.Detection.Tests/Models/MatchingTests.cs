using SharpSeg.Detection.Models;

namespace SharpSeg.Detection.Tests.Models;

/// <summary><see cref="Matcher"/> and <see cref="BalancedPositiveNegativeSampler"/> on hand-built cases with exact answers.</summary>
public class MatchingTests
{
    [Fact]
    public void MatcherThresholdsAndLowQualityMatches()
    {
        // Two ground-truth boxes (rows) against four predictions (columns).
        var iou = Tensor.FromArray([0.9f, 0.5f, 0.2f, 0.1f, 0.3f, 0.6f, 0.4f, 0.25f], 2, 4);
        Assert.Equal([0, Matcher.BetweenThresholds, Matcher.BetweenThresholds, Matcher.BelowLowThreshold], new Matcher(0.7f, 0.3f).Match(iou));
        // Ground truth 1's best prediction (column 1, IoU 0.6) is kept although below 0.7; column 2 stays between thresholds.
        Assert.Equal([0, 1, Matcher.BetweenThresholds, Matcher.BelowLowThreshold], new Matcher(0.7f, 0.3f, allowLowQualityMatches: true).Match(iou));
        Assert.Throws<ShapeMismatchException>(() => new Matcher(0.5f, 0.5f).Match(Tensor.Zeros(0, 3)));
    }

    [Fact]
    public void SamplerRespectsQuotasAndNeverDrawsIgnoredLabels()
    {
        long[] labels = [1, 0, 0, 2, -1, 0, 0, 0, 1, 0, 3, 0];
        var (positive, negative) = new BalancedPositiveNegativeSampler(6, 0.5f).Sample(labels, new Random(1));
        Assert.Equal(3, positive.Count(p => p));
        Assert.Equal(3, negative.Count(n => n));
        Assert.All(Enumerable.Range(0, labels.Length), i =>
        {
            if (positive[i]) Assert.True(labels[i] >= 1);
            if (negative[i]) Assert.Equal(0, labels[i]);
        });
        // Few positives: the rest of the batch goes to negatives.
        var (fewPositive, moreNegative) = new BalancedPositiveNegativeSampler(8, 0.75f).Sample([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], new Random(2));
        Assert.Equal(1, fewPositive.Count(p => p));
        Assert.Equal(7, moreNegative.Count(n => n));
    }
}
