namespace SharpSeg.Nn.Losses;

/// <summary>Which classes a <see cref="LovaszSoftmaxLoss"/> averages over.</summary>
public enum LovaszClasses
{
    /// <summary>Classes that occur among the non-ignored labels of the batch (PaddleSeg default <c>"present"</c>).</summary>
    Present,
    /// <summary>Every class (<c>"all"</c>).</summary>
    All,
}

/// <summary>
/// Multi-class Lovász-softmax loss (Berman et al., "The Lovász-Softmax loss", CVPR 2018): for each class c, the Lovász
/// extension of the Jaccard loss applied to the errors |[label = c] − softmax_c| over all non-ignored pixels of the batch,
/// averaged over the chosen classes. Equivalent to PaddleSeg <c>LovaszSoftmaxLoss(ignore_index, classes)</c> (which, like
/// Berman's <c>per_image=False</c>, pools the whole batch). A batch whose pixels are all ignored, or in which no chosen
/// class is present, gives 0.
/// </summary>
public sealed class LovaszSoftmaxLoss : ISegmentationLoss
{
    private readonly int[]? _classList;

    /// <summary>Averages over <see cref="LovaszClasses.Present"/> or <see cref="LovaszClasses.All"/> classes.</summary>
    /// <param name="classes">Which classes to average over.</param>
    /// <param name="ignoreIndex">Label value that does not count. PaddleSeg default 255.</param>
    public LovaszSoftmaxLoss(LovaszClasses classes = LovaszClasses.Present, int ignoreIndex = 255)
    {
        Classes = classes;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>Averages over a fixed list of classes (PaddleSeg <c>classes=[…]</c>), present or not.</summary>
    /// <param name="classList">The class ids to average over.</param>
    /// <param name="ignoreIndex">Label value that does not count.</param>
    public LovaszSoftmaxLoss(IReadOnlyList<int> classList, int ignoreIndex = 255)
    {
        ArgumentNullException.ThrowIfNull(classList);
        if (classList.Count == 0) throw new ArgumentException("LovaszSoftmaxLoss: the class list is empty.", nameof(classList));
        if (classList.Distinct().Count() != classList.Count)
            throw new ArgumentException($"LovaszSoftmaxLoss: the class list [{string.Join(", ", classList)}] repeats a class.", nameof(classList));
        _classList = [.. classList];
        Classes = LovaszClasses.All;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>Which classes are averaged when no explicit list was given.</summary>
    public LovaszClasses Classes { get; }

    /// <summary>The explicit class list, or null.</summary>
    public IReadOnlyList<int>? ClassList => _classList;

    /// <summary>Label value that does not count.</summary>
    public int IgnoreIndex { get; }

    /// <inheritdoc />
    public bool NeedsOneChannelPerClass => true;

    /// <inheritdoc/>
    public Tensor Forward(Tensor logits, Tensor labels)
    {
        int numClasses = logits.Rank == 4 ? logits.Shape[1] : 0;
        var map = LabelMap.Read(nameof(LovaszSoftmaxLoss), logits, labels, numClasses, IgnoreIndex);
        if (numClasses < 2) throw new ArgumentException($"LovaszSoftmaxLoss: logits {logits.Shape} need at least 2 classes; use LovaszHingeLoss for one.");
        foreach (int c in _classList ?? [])
            if (c < 0 || c >= numClasses)
                throw new ArgumentOutOfRangeException(nameof(logits), $"LovaszSoftmaxLoss: class {c} of the class list is outside [0, {numClasses}).");

        var probabilities = Functional.Softmax(logits, 1);
        var counts = map.ClassCounts(numClasses);
        var classes = _classList ?? Enumerable.Range(0, numClasses).Where(c => Classes == LovaszClasses.All || counts[c] > 0).ToArray();
        if (map.ValidCount == 0 || classes.Length == 0) return logits.Sum() * 0f;

        var errors = (map.OneHot(numClasses) - probabilities).Abs();
        var weights = ClassWeights(errors.ToArray(), map, numClasses, classes);
        return (errors * Tensor.FromArray(weights, logits.Shape.ToArray())).Sum() / classes.Length;
    }

    /// <summary>
    /// Lovász weights [N, C, H, W] for the chosen classes (0 for the others), so that Σ errors·weights is the sum of the
    /// per-class losses. Classes are independent, so their sorts run in parallel.
    /// </summary>
    private static float[] ClassWeights(float[] errors, LabelMap map, int numClasses, int[] classes)
    {
        var weights = new float[errors.Length];
        int plane = map.Height * map.Width;
        Parallel.For(0, classes.Length, new ParallelOptions { MaxDegreeOfParallelism = Engine.Threads }, k =>
        {
            int c = classes[k];
            var classErrors = new float[map.PixelCount];
            for (int i = 0; i < classErrors.Length; i++) classErrors[i] = errors[(i / plane * numClasses + c) * plane + i % plane];
            var classWeights = LovaszExtension.Weights(classErrors, map.Foreground(c), map);
            for (int i = 0; i < classWeights.Length; i++) weights[(i / plane * numClasses + c) * plane + i % plane] = classWeights[i];
        });
        return weights;
    }
}
