using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

public class HandComputedLossTests
{
    private static Tensor Labels(long[] values, params int[] shape) => Tensor.FromArray(values, shape);

    private static Tensor Leaf(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void DynamicWeightsAreInverseCountsRescaledToTheClassCount()
    {
        // Counts (3, 1, 1) over 5 non-ignored pixels: 5/4, 5/2, 5/2 sum to 6.25, rescaled by 3/6.25.
        var labels = Labels([0, 0, 0, 1, 255, 2], 1, 2, 3);

        var weights = new CrossEntropyLoss(ClassWeight.Dynamic).WeightsFor(labels, 3)!;

        Assert.Equal([0.6f, 1.2f, 1.2f], weights.Select(w => MathF.Round(w, 6)));
    }

    [Fact]
    public void DynamicWeightsOfAnAbsentClassUseTheCountPlusOne()
    {
        // Counts (4, 0): 4/5 and 4/1 sum to 4.8, rescaled by 2/4.8.
        var weights = ClassWeight.DynamicWeights([4, 0]);

        Assert.Equal(1f / 3, weights[0], 1e-6f);
        Assert.Equal(5f / 3, weights[1], 1e-6f);
    }

    [Fact]
    public void WeightedCrossEntropyDividesByWeightSumOrPixelCount()
    {
        // Uniform logits: every pixel's cross-entropy is ln 3, so the torch-style weighted mean is ln 3 whatever the weights,
        // while PaddleX's pixel-count mean is (3·0.6 + 1.2 + 1.2)/5 · ln 3.
        var logits = Tensor.Zeros(1, 3, 2, 3);
        var labels = Labels([0, 0, 0, 1, 255, 2], 1, 2, 3);

        var weightSum = new CrossEntropyLoss(ClassWeight.Dynamic).Forward(logits, labels).Item();
        var pixelCount = new CrossEntropyLoss(ClassWeight.Dynamic, normalization: CrossEntropyNormalization.PixelCount).Forward(logits, labels).Item();

        Assert.Equal(MathF.Log(3), weightSum, 1e-6f);
        Assert.Equal(0.84f * MathF.Log(3), pixelCount, 1e-6f);
    }

    [Fact]
    public void CrossEntropyOfOnePixelAndItsGradient()
    {
        // softmax(0, ln 3) = (1/4, 3/4); label 1 → ln(4/3), gradient p − onehot = (1/4, −1/4).
        var logits = Leaf(Tensor.FromArray([0f, MathF.Log(3)], 1, 2, 1, 1));

        var loss = new CrossEntropyLoss().Forward(logits, Labels([1], 1, 1, 1));
        loss.Backward();

        Assert.Equal(MathF.Log(4f / 3), loss.Item(), 1e-6f);
        Assert.Equal([0.25f, -0.25f], logits.Grad!.ToArray().Select(g => MathF.Round(g, 6)));
    }

    [Fact]
    public void DiceOfHalfProbabilities()
    {
        // p = 0.5 everywhere; valid labels 1, 0, 1 → Σp = 1.5, Σt = 2, Σp·t = 1 → 1 − 2/(3.5 + 1e-5).
        var loss = new DiceLoss().Forward(Tensor.Zeros(1, 1, 2, 2), Labels([1, 0, 1, 255], 1, 2, 2));

        Assert.Equal(1 - 2 / (3.5f + 1e-5f), loss.Item(), 1e-6f);
    }

    [Fact]
    public void BceOfZeroLogitsIsLn2AndIgnoredPixelsGetNoGradient()
    {
        var logits = Leaf(Tensor.Zeros(1, 1, 2, 2));

        var loss = new BceLoss().Forward(logits, Labels([1, 0, 255, 1], 1, 2, 2));
        loss.Backward();

        Assert.Equal(MathF.Log(2), loss.Item(), 1e-6f);
        // d/dx BCE = (σ(x) − t)/count = (0.5 − t)/3.
        Assert.Equal([-0.5f / 3, 0.5f / 3, 0f, -0.5f / 3], logits.Grad!.ToArray().Select(g => MathF.Round(g, 6)).ToArray(),
            new FloatTolerance(1e-6f));
    }

    [Fact]
    public void PaddleXBinaryLossIsDicePlusBce()
    {
        var logits = Tensor.FromArray([0.3f, -1.2f, 2f, 0.5f], 1, 1, 2, 2);
        var labels = Labels([1, 0, 255, 0], 1, 2, 2);

        float both = PaddleXLoss.Create(2, useBceLoss: true, useDiceLoss: true).Forward(logits, labels).Item();
        float dice = PaddleXLoss.Create(2, useDiceLoss: true).Forward(logits, labels).Item();
        float bce = PaddleXLoss.Create(2, useBceLoss: true).Forward(logits, labels).Item();

        Assert.Equal(dice + bce, both, 1e-6f);
        Assert.IsType<DiceLoss>(PaddleXLoss.Create(2, useDiceLoss: true));
        Assert.IsType<BceLoss>(PaddleXLoss.Create(2, useBceLoss: true));
        var ce = Assert.IsType<CrossEntropyLoss>(PaddleXLoss.Create(3, classWeight: ClassWeight.Parse("Dynamic")));
        Assert.True(ce.ClassWeight.IsDynamic);
        Assert.Equal(CrossEntropyNormalization.PixelCount, ce.Normalization);
    }

    [Fact]
    public void LovaszHingeOfTwoPixels()
    {
        // Labels (1, 0), logits (2, 1): hinge errors −1 and 2; sorted (2 | bg, −1 | fg), Jaccard gradient (0.5, 0.5) →
        // loss relu(2)·0.5 + relu(−1)·0.5 = 1, gradient 0.5 on the background logit only.
        var logits = Leaf(Tensor.FromArray([2f, 1f], 1, 1, 1, 2));

        var loss = new LovaszHingeLoss().Forward(logits, Labels([1, 0], 1, 1, 2));
        loss.Backward();

        Assert.Equal(1f, loss.Item(), 1e-6f);
        Assert.Equal([0f, 0.5f], logits.Grad!.ToArray());
    }

    [Fact]
    public void LovaszSoftmaxOfUniformProbabilitiesIsOneHalf()
    {
        // Two classes, p = 0.5 everywhere, labels (0, 1): each class's errors are (0.5, 0.5) and its Lovász loss is 0.5.
        var loss = new LovaszSoftmaxLoss().Forward(Tensor.Zeros(1, 2, 1, 2), Labels([0, 1], 1, 1, 2));

        Assert.Equal(0.5f, loss.Item(), 1e-6f);
    }

    [Fact]
    public void LovaszSoftmaxOfAConfidentCorrectPredictionIsNearZero()
    {
        var logits = Tensor.FromArray([20f, -20f, -20f, 20f], 1, 2, 1, 2);

        Assert.Equal(0f, new LovaszSoftmaxLoss().Forward(logits, Labels([0, 1], 1, 1, 2)).Item(), 1e-6f);
    }

    [Fact]
    public void OhemWithoutMiningIsCrossEntropyOverValidPixelsWithItsEpsilon()
    {
        var logits = Tensor.FromArray([1f, 0f, -1f, 2f, 0f, 0.5f, 3f, 1f], 1, 2, 2, 2);
        var labels = Labels([0, 1, 255, 1], 1, 2, 2);
        float summed = 3 * new CrossEntropyLoss().Forward(logits, labels).Item();

        float ohem = new OhemCrossEntropyLoss(minKept: 3).Forward(logits, labels).Item();

        Assert.Equal(summed / (3 + 1e-5f * 4), ohem, 1e-6f);
        // PaddleSeg mines only for a positive min_kept: 0 keeps every valid pixel too, even those above the threshold.
        Assert.Equal(ohem, new OhemCrossEntropyLoss(thresh: 0.01f, minKept: 0).Forward(logits, labels).Item(), 1e-6f);
    }

    [Fact]
    public void OhemKeepsPixelsBelowTheThresholdStrictly()
    {
        // True-class probabilities σ(2), σ(0) = 0.5, σ(−2) over 3 valid pixels. minKept 1 < 3 valid; the smallest (0.119) is
        // below 0.7 so the threshold stays 0.7 and the pixels with 0.5 and 0.119 are kept.
        var logits = Tensor.FromArray([2f, 0f, -2f, 0f, 0f, 0f], 1, 2, 1, 3);
        var labels = Labels([0, 0, 0], 1, 1, 3);
        float hard = (MathF.Log(1 + MathF.Exp(0)) + MathF.Log(1 + MathF.Exp(2))) / (2 + 3e-5f);

        Assert.Equal(hard, new OhemCrossEntropyLoss(minKept: 1).Forward(logits, labels).Item(), 1e-5f);
        // minKept 2: the 2nd smallest probability is 0.5 < 0.7, same set.
        Assert.Equal(hard, new OhemCrossEntropyLoss(thresh: 0.7f, minKept: 2).Forward(logits, labels).Item(), 1e-5f);
        // thresh 0.3, minKept 2: the threshold rises to 0.5 and, being strict, keeps only the 0.119 pixel.
        Assert.Equal(MathF.Log(1 + MathF.Exp(2)) / (1 + 3e-5f), new OhemCrossEntropyLoss(thresh: 0.3f, minKept: 2).Forward(logits, labels).Item(), 1e-5f);
    }

    [Fact]
    public void MixedLossIsTheWeightedSumOfItsTerms()
    {
        var logits = Tensor.FromArray([1f, 0f, -1f, 2f, 0f, 0.5f, 3f, 1f], 1, 2, 2, 2);
        var labels = Labels([0, 1, 255, 1], 1, 2, 2);
        var mixed = new MixedLoss([new CrossEntropyLoss(), new LovaszSoftmaxLoss()], [0.8f, 0.2f]);

        var terms = mixed.Terms(logits, labels);

        Assert.Equal(0.8f * new CrossEntropyLoss().Forward(logits, labels).Item(), terms[0].Item(), 1e-6f);
        Assert.Equal(0.2f * new LovaszSoftmaxLoss().Forward(logits, labels).Item(), terms[1].Item(), 1e-6f);
        Assert.Equal(terms[0].Item() + terms[1].Item(), mixed.Forward(logits, labels).Item(), 1e-6f);
    }

    [Fact]
    public void LossListWeightedAppliesOneLossPerOutput()
    {
        var main = Tensor.FromArray([1f, 0f, -1f, 2f], 1, 2, 1, 2);
        var aux = Tensor.FromArray([0f, 1f, 1f, 0f], 1, 2, 1, 2);
        var labels = Labels([0, 1], 1, 1, 2);
        var ce = new CrossEntropyLoss();

        var total = LossList.Weighted(ce, 1f, 0.4f).Forward([main, aux], labels).Item();

        Assert.Equal(ce.Forward(main, labels).Item() + 0.4f * ce.Forward(aux, labels).Item(), total, 1e-6f);
    }

    public static TheoryData<string> AllLosses() => [.. LossesByName.Keys];

    private static readonly Dictionary<string, Func<ISegmentationLoss>> LossesByName = new()
    {
        ["cross_entropy"] = () => new CrossEntropyLoss(),
        ["cross_entropy_dynamic"] = () => new CrossEntropyLoss(ClassWeight.Dynamic),
        ["cross_entropy_pixel_count"] = () => new CrossEntropyLoss(ClassWeight.Of(1, 2), normalization: CrossEntropyNormalization.PixelCount),
        ["bce"] = () => new BceLoss(),
        ["dice"] = () => new DiceLoss(),
        ["lovasz_softmax"] = () => new LovaszSoftmaxLoss(),
        ["lovasz_hinge"] = () => new LovaszHingeLoss(),
        ["ohem"] = () => new OhemCrossEntropyLoss(minKept: 1),
        ["focal"] = () => new FocalLoss(),
        ["multi_class_focal"] = () => new MultiClassFocalLoss(),
    };

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void AllIgnoredBatchGivesZeroLossAndZeroGradient(string name)
    {
        var logits = Leaf(Tensor.FromArray([1f, -2f, 0.5f, 3f, -1f, 2f, 0f, 1f], 1, 2, 2, 2));

        var loss = LossesByName[name]().Forward(logits, Labels([255, 255, 255, 255], 1, 2, 2));
        loss.Backward();

        float expected = name == "dice" ? 1f : 0f; // Dice of an empty mask: 1 − 0/(0 + ε), as PaddleX.
        Assert.Equal(expected, loss.Item(), 1e-6f);
        Assert.All(logits.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Theory]
    [MemberData(nameof(AllLosses))]
    public void Int32AndChannelLabelsGiveTheSameLossAsInt64(string name)
    {
        var logits = Tensor.FromArray([1f, -2f, 0.5f, 3f, -1f, 2f, 0f, 1f], 1, 2, 2, 2);
        long[] values = [0, 1, 255, 1];
        var loss = LossesByName[name]();

        float reference = loss.Forward(logits, Labels(values, 1, 2, 2)).Item();

        Assert.Equal(reference, loss.Forward(logits, Tensor.FromArray([0, 1, 255, 1], 1, 2, 2)).Item());
        Assert.Equal(reference, loss.Forward(logits, Labels(values, 1, 1, 2, 2)).Item());
    }

    [Fact]
    public void AnotherIgnoreIndexBehavesLike255()
    {
        var logits = Tensor.FromArray([1f, -2f, 0.5f, 3f, -1f, 2f, 0f, 1f], 1, 2, 2, 2);

        float with255 = new LovaszSoftmaxLoss().Forward(logits, Labels([0, 1, 255, 1], 1, 2, 2)).Item();
        float withMinusOne = new LovaszSoftmaxLoss(ignoreIndex: -1).Forward(logits, Labels([0, 1, -1, 1], 1, 2, 2)).Item();

        Assert.Equal(with255, withMinusOne);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
