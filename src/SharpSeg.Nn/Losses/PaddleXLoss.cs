namespace SharpSeg.Nn.Losses;

/// <summary>
/// The loss a PaddleX 1.x segmenter (<c>paddlex.seg.DeepLabv3p</c>, <c>UNet</c>, <c>HRNet</c>, <c>FastSCNN</c>) trains with,
/// from the same arguments; mirrors its <c>_get_loss</c>.
/// </summary>
public static class PaddleXLoss
{
    /// <summary>
    /// Cross-entropy with <paramref name="classWeight"/>, normalised by the count of non-ignored pixels as PaddleX does, when
    /// neither binary loss is chosen; otherwise <see cref="DiceLoss"/> + <see cref="BceLoss"/> (either or both, summed),
    /// which need <paramref name="numClasses"/> = 2 and a one-channel model output. Throws as PaddleX does for the binary
    /// losses with more than two classes.
    /// </summary>
    public static ISegmentationLoss Create(int numClasses, bool useBceLoss = false, bool useDiceLoss = false, ClassWeight? classWeight = null,
        int ignoreIndex = 255)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), $"PaddleXLoss: numClasses {numClasses} must be at least 2.");
        if (!useBceLoss && !useDiceLoss)
            return new CrossEntropyLoss(classWeight, ignoreIndex, CrossEntropyNormalization.PixelCount);
        if (numClasses > 2)
            throw new ArgumentException($"PaddleXLoss: dice and bce losses apply to two classes only, got numClasses {numClasses}.", nameof(numClasses));
        if (!useBceLoss) return new DiceLoss(ignoreIndex);
        if (!useDiceLoss) return new BceLoss(ignoreIndex);
        return new MixedLoss([new DiceLoss(ignoreIndex), new BceLoss(ignoreIndex)], [1f, 1f]);
    }
}
