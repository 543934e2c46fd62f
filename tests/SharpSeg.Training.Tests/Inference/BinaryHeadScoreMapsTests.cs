using SharpSeg.Training.Inference;

namespace SharpSeg.Training.Tests.Inference;

public sealed class BinaryHeadScoreMapsTests
{
    // Two samples of 1×3 pixels of one logit each: ln 3 → σ = 3/4, −ln 3 → 1/4, 0 → exactly 1/2 (a tie, label 0 as
    // PaddleX's argmax over [1 − p, p]), 2 → 1/(1 + e⁻²), and 1e-9, which σ rounds to 1/2 in float32 (label 0 although l > 0).
    private static readonly float[] Logits = [MathF.Log(3), -MathF.Log(3), 0f, 2f, 1e-9f, -30f];

    [Fact]
    public void OneLogitBecomesTheTwoClassesOneMinusSigmoidAndSigmoid()
    {
        var probabilities = ScoreMaps.Probabilities(Tensor.FromArray(Logits, 2, 1, 1, 3));

        Assert.Equal([2, 2, 1, 3], probabilities.Shape.ToArray());
        float[] values = probabilities.ToArray<float>();
        double sigmoid2 = 1 / (1 + Math.Exp(-2));
        // [N, K, H, W]: sample 0's background row, its foreground row, then sample 1's.
        double[] expected = [0.25, 0.75, 0.5, 0.75, 0.25, 0.5, 1 - sigmoid2, 0.5, 1 - 9.357622968839299e-14, sigmoid2, 0.5, 9.357622968839299e-14];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], values[i], 1e-6);
    }

    [Fact]
    public void TheLabelIsOneOnlyWhereTheForegroundProbabilityExceedsOneHalf()
    {
        var maps = ScoreMaps.FromLogits(Tensor.FromArray(Logits, 2, 1, 1, 3));

        Assert.Equal(2, maps.Classes);
        var first = maps.Prediction(0);
        var second = maps.Prediction(1);
        Assert.Equal([1, 0, 0], first.LabelMap.Pixels);
        Assert.Equal([1, 0, 0], second.LabelMap.Pixels);
        Assert.Equal(2, first.ScoreMap.Channels);
        // HWC score map: (background, foreground) per pixel.
        Assert.Equal(0.25f, first.ScoreMap[0, 0, 0], 1e-6f);
        Assert.Equal(0.75f, first.ScoreMap[0, 0, 1], 1e-6f);
        Assert.Equal(0.5f, first.ScoreMap[0, 2, 0]);
        Assert.Equal(0.5f, first.ScoreMap[0, 2, 1]);
        Assert.Equal(0.5f, second.ScoreMap[0, 1, 1]);
    }

    [Fact]
    public void SeveralChannelsStillGetTheSoftmax()
    {
        var logits = Tensor.FromArray([0f, MathF.Log(3)], 1, 2, 1, 1);

        Assert.Equal([0.25f, 0.75f], ScoreMaps.Probabilities(logits).ToArray<float>(), new FloatTolerance(1e-6f));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
