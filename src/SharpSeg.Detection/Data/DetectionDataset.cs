namespace SharpSeg.Detection.Data;

/// <summary>
/// A finite, indexable set of detection samples (image + <see cref="DetectionTarget"/>) with class names and an optional
/// transform pipeline. Label 0 is the background, so <see cref="NumClasses"/> counts it, as torchvision's
/// <c>num_classes</c> does. Equivalent to a map-style <c>torch.utils.data.Dataset</c> returning <c>(image, target)</c>,
/// such as torchvision's <c>CocoDetection</c> wrapped by the detection references' <c>ConvertCocoPolysToMask</c>.
/// </summary>
public abstract class DetectionDataset
{
    /// <summary>Creates the dataset description.</summary>
    /// <param name="classNames">Names by label, index 0 the background; at least one object class.</param>
    /// <param name="transforms">Applied by <see cref="Get"/>.</param>
    protected DetectionDataset(IReadOnlyList<string> classNames, IDetectionTransform? transforms)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count < 2)
            throw new ArgumentException($"A detection dataset needs the background and at least one class, got {classNames.Count} names.", nameof(classNames));
        ClassNames = classNames;
        Transforms = transforms;
    }

    /// <summary>Number of samples.</summary>
    public abstract int Count { get; }

    /// <summary>Class names by label; index 0 is "background".</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Classes including the background (torchvision's <c>num_classes</c>).</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>Applied by <see cref="Get"/> after loading; null for raw samples.</summary>
    public IDetectionTransform? Transforms { get; }

    /// <summary>A name for sample <paramref name="index"/> in error messages (its image file, usually).</summary>
    public abstract string SourceName(int index);

    /// <summary>Loads sample <paramref name="index"/> without the checks of <see cref="Load"/>.</summary>
    protected abstract DetectionSample LoadUnchecked(int index);

    /// <summary>
    /// Loads sample <paramref name="index"/> and checks its target: labels in 1 … <see cref="NumClasses"/> − 1, finite boxes
    /// with positive width and height, masks of the image's size. A violation throws <see cref="InvalidDataException"/>
    /// naming the sample and the object.
    /// </summary>
    public DetectionSample Load(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} samples.");
        var sample = LoadUnchecked(index);
        CheckTarget(sample, NumClasses, SourceName(index));
        return sample;
    }

    /// <summary>The checked, untransformed sample <paramref name="index"/> (same as <see cref="Load"/>).</summary>
    public DetectionSample this[int index] => Load(index);

    /// <summary>Loads sample <paramref name="index"/> and applies <see cref="Transforms"/>, drawing from <paramref name="random"/>.
    /// Equivalent to <c>dataset[index]</c> with the references' <c>transforms</c>.</summary>
    public DetectionSample Get(int index, Random random)
    {
        var sample = Load(index);
        Transforms?.Apply(sample, random);
        return sample;
    }

    internal static void CheckTarget(DetectionSample sample, int numClasses, string source)
    {
        var target = sample.Target;
        for (int i = 0; i < target.Count; i++)
        {
            if (target.Labels[i] < 1 || target.Labels[i] >= numClasses)
                throw new InvalidDataException(
                    $"{source}: object {i} has label {target.Labels[i]}, but labels must be 1…{numClasses - 1} (0 is the background).");
            var (x1, y1, x2, y2) = target.Box(i);
            if (!(float.IsFinite(x1) && float.IsFinite(y1) && float.IsFinite(x2) && float.IsFinite(y2)) || !(x2 > x1 && y2 > y1))
                throw new InvalidDataException($"{source}: object {i} has box [{x1}, {y1}, {x2}, {y2}], which is empty or not finite.");
        }
        sample.CheckMasks(source);
    }
}
