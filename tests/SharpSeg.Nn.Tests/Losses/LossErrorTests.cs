using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

public class LossErrorTests
{
    private static readonly Tensor ThreeClassLogits = Tensor.Zeros(1, 3, 2, 2);

    [Fact]
    public void LabelOutOfRangeNamesTheValuePositionAndClassCount()
    {
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 7 }, 1, 2, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss().Forward(ThreeClassLogits, labels));

        Assert.Contains("label value 7", e.Message);
        Assert.Contains("(n=0, y=1, x=1)", e.Message);
        Assert.Contains("3 classes", e.Message);
        Assert.Contains("ignore index 255", e.Message);
    }

    [Fact]
    public void BinaryLossRejectsA255MaskWhenIgnoreIndexIsChanged()
    {
        // A 0/255 mask read with ignoreIndex −1: 255 is a label value, outside the two classes.
        var labels = Tensor.FromArray(new long[] { 0, 255, 0, 255 }, 1, 2, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new BceLoss(ignoreIndex: -1).Forward(Tensor.Zeros(1, 1, 2, 2), labels));

        Assert.Contains("BceLoss: label value 255", e.Message);
        Assert.Contains("2 classes", e.Message);
    }

    [Fact]
    public void NegativeLabelIsRejected()
    {
        var labels = Tensor.FromArray(new long[] { 0, -1, 0, 1 }, 1, 2, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LovaszSoftmaxLoss().Forward(ThreeClassLogits, labels));

        Assert.Contains("label value -1", e.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void BinaryLossesRejectOtherChannelCounts(int channels)
    {
        var labels = Tensor.FromArray(new long[] { 0, 1, 0, 1 }, 1, 2, 2);
        var logits = Tensor.Zeros(1, channels, 2, 2);

        foreach (ISegmentationLoss loss in new ISegmentationLoss[] { new BceLoss(), new DiceLoss(), new LovaszHingeLoss() })
        {
            var e = Assert.Throws<ArgumentException>(() => loss.Forward(logits, labels));
            Assert.Contains($"have {channels} channels; this loss takes 1 or 2", e.Message);
        }
    }

    [Fact]
    public void MismatchedLabelShapeNamesBothShapes()
    {
        var labels = Tensor.FromArray(new long[] { 0, 1, 0, 1, 0, 1 }, 1, 2, 3);

        var e = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(ThreeClassLogits, labels));

        Assert.Contains("[1, 2, 3]", e.Message);
        Assert.Contains("[1, 3, 2, 2]", e.Message);
    }

    [Fact]
    public void FloatLabelsAndNonNchwLogitsAreRejected()
    {
        Assert.Contains("int64 or int32",
            Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(ThreeClassLogits, Tensor.Zeros(1, 2, 2))).Message);
        Assert.Contains("[N, C, H, W]",
            Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(Tensor.Zeros(3, 4), Tensor.FromArray(new long[] { 0, 1, 2 }, 3))).Message);
    }

    [Fact]
    public void ClassWeightCountMustMatchTheLogits()
    {
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1 }, 1, 2, 2);

        var e = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(ClassWeight.Of(1, 2)).Forward(ThreeClassLogits, labels));

        Assert.Contains("2 class weights", e.Message);
        Assert.Contains("3 classes", e.Message);
    }

    [Fact]
    public void ClassWeightArgumentsAreChecked()
    {
        Assert.Contains("must be 'dynamic'", Assert.Throws<ArgumentException>(() => ClassWeight.Parse("balanced")).Message);
        Assert.Contains("class 1", Assert.Throws<ArgumentOutOfRangeException>(() => ClassWeight.Of(1, -2)).Message);
        Assert.Same(ClassWeight.Dynamic, ClassWeight.Parse("DYNAMIC"));
    }

    [Fact]
    public void CombinersCheckTheirCounts()
    {
        Assert.Contains("2 losses but 1 coefficients",
            Assert.Throws<ArgumentException>(() => new MixedLoss([new CrossEntropyLoss(), new LovaszSoftmaxLoss()], [1f])).Message);
        var list = LossList.Weighted(new CrossEntropyLoss(), 1f, 0.4f);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1 }, 1, 2, 2);
        Assert.Contains("gave 1 outputs but 2",
            Assert.Throws<ArgumentException>(() => list.Forward([ThreeClassLogits], labels)).Message);
    }

    [Fact]
    public void PaddleXBinaryLossesNeedTwoClasses()
    {
        Assert.Contains("two classes only", Assert.Throws<ArgumentException>(() => PaddleXLoss.Create(3, useBceLoss: true)).Message);
    }

    [Fact]
    public void LovaszClassListOutsideTheLogitsIsRejected()
    {
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 1 }, 1, 2, 2);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LovaszSoftmaxLoss([0, 5]).Forward(ThreeClassLogits, labels));

        Assert.Contains("class 5", e.Message);
    }
}
