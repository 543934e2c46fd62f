using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

/// <summary>Which losses read one logit channel per class, so a one-channel binary head cannot train with them.</summary>
public sealed class LossChannelTests
{
    public static TheoryData<ISegmentationLoss, bool> Losses() => new()
    {
        { new BceLoss(), false },
        { new DiceLoss(), false },
        { new LovaszHingeLoss(), false },
        { new CrossEntropyLoss(), true },
        { new OhemCrossEntropyLoss(), true },
        { new LovaszSoftmaxLoss(), true },
        { new MultiClassFocalLoss(), true },
        { new FocalLoss(), true },
        { new MixedLoss([new BceLoss(), new DiceLoss()], [1f, 1f]), false },
        { new MixedLoss([new DiceLoss(), new CrossEntropyLoss()], [1f, 1f]), true },
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public void OnlyBinaryLossesAcceptAOneChannelHead(ISegmentationLoss loss, bool needsOneChannelPerClass) =>
        Assert.Equal(needsOneChannelPerClass, loss.NeedsOneChannelPerClass);
}
