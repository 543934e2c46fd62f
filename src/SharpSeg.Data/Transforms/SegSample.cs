namespace SharpSeg.Data.Transforms;

/// <summary>A geometric step recorded while transforming, so a prediction can be mapped back.</summary>
/// <param name="Kind">Whether the step resized or padded the image.</param>
/// <param name="Height">Image height before the step.</param>
/// <param name="Width">Image width before the step.</param>
/// <remarks>Equivalent to an entry of PaddleSeg's <c>data['trans_info']</c> (<c>('resize', (h, w))</c>).</remarks>
public readonly record struct ShapeStep(ShapeStepKind Kind, int Height, int Width);

/// <summary>The kind of a <see cref="ShapeStep"/>.</summary>
public enum ShapeStepKind
{
    /// <summary>The image was resized; undo by resizing back to the recorded size.</summary>
    Resize,
    /// <summary>The image was padded at the bottom and right; undo by cropping to the recorded size.</summary>
    Padding,
}

/// <summary>
/// An (image, label) pair flowing through the transforms: the image as float samples (any channel count),
/// the label as one channel of class ids (<see cref="SegSample.IgnoreIndex"/> where unknown).
/// Equivalent to the <c>data</c> dict of PaddleSeg 2.x transforms (<c>img</c>, <c>label</c>, <c>trans_info</c>).
/// </summary>
public sealed class SegSample
{
    /// <summary>The label value excluded from losses and metrics (PaddleSeg's <c>ignore_index</c>).</summary>
    public const int IgnoreIndex = 255;

    /// <summary>Creates a sample; <paramref name="label"/> must be one channel of the image's size.</summary>
    public SegSample(Image<float> image, Image<int>? label, string imagePath = "", string? labelPath = null)
    {
        Image = image;
        Label = label;
        ImagePath = imagePath;
        LabelPath = labelPath;
        CheckLabelShape(nameof(SegSample));
    }

    /// <summary>The image, HWC float samples (as stored before <see cref="Normalize"/>: 0–255 for 8-bit files, 0–65535 for 16-bit).</summary>
    public Image<float> Image { get; set; }

    /// <summary>
    /// The sample type the image was stored in before it became float samples (<see cref="SampleType.UInt8"/> for 8-bit
    /// files, <see cref="SampleType.UInt16"/> for 16-bit ones), or null when not read from a file.
    /// </summary>
    public SampleType? StoredSampleType { get; init; }

    /// <summary>The label map (one channel of class ids), absent at test time.</summary>
    public Image<int>? Label { get; set; }

    /// <summary>Where the image came from (for error messages); empty for in-memory samples.</summary>
    public string ImagePath { get; }

    /// <summary>Where the label came from, if anywhere.</summary>
    public string? LabelPath { get; }

    /// <summary>Resize and padding steps applied so far, oldest first.</summary>
    public List<ShapeStep> ShapeSteps { get; } = [];

    /// <summary>A name for error messages: the image path, or "in-memory sample".</summary>
    public string Source => ImagePath.Length > 0 ? ImagePath : "in-memory sample";

    /// <summary>Throws unless the label is one channel and the image's size (called after every transform).</summary>
    internal void CheckLabelShape(string transformName)
    {
        if (Label is null)
            return;
        if (Label.Channels != 1)
            throw new InvalidDataException(
                $"{transformName}: label of {Source} must have 1 channel, got {Label.Channels}.");
        if (Label.Height != Image.Height || Label.Width != Image.Width)
            throw new InvalidDataException(
                $"{transformName}: label of {Source} is {Label.Height}×{Label.Width} but the image is " +
                $"{Image.Height}×{Image.Width}.");
    }
}

/// <summary>
/// One step of a transform pipeline. Random steps draw only from the <see cref="Random"/> passed in, so
/// a run is reproducible from its seed; an implementation keeps no mutable state, because loader workers
/// call one instance from several threads. Equivalent to a PaddleSeg 2.x transform's <c>__call__(data)</c>.
/// </summary>
public interface ISegTransform
{
    /// <summary>Transforms <paramref name="sample"/> in place.</summary>
    void Apply(SegSample sample, Random random);
}
