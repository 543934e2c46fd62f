using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Options every segmentation model takes; a model's own options record derives from it.
/// </summary>
/// <param name="NumClasses">Classes predicted (logit channels).</param>
/// <param name="InChannels">Input image channels.</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> used for every upsampling in the model and for resizing logits to the input.</param>
public record ModelOptions(int NumClasses, int InChannels = 3, bool AlignCorners = false);

/// <summary>
/// Base of every segmentation model: it pads the input to a multiple of <see cref="SizeDivisor"/>, runs
/// <see cref="ForwardLogits"/>, resizes every logit map to the padded input and crops back to the input size, so
/// images of any size work. Returns the main logits first, then auxiliary logits (PaddleSeg's <c>logit_list</c>).
/// </summary>
public abstract class SegmentationModel : Module
{
    /// <summary>Creates the base with the shared options.</summary>
    protected SegmentationModel(ModelOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.NumClasses, 1, nameof(options.NumClasses));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        Options = options;
    }

    /// <summary>The options the model was built with.</summary>
    public ModelOptions Options { get; }

    /// <summary>Classes predicted.</summary>
    public int NumClasses => Options.NumClasses;

    /// <summary>Input sizes are padded up to a multiple of this (the model's largest total downsampling).</summary>
    public abstract int SizeDivisor { get; }

    /// <summary>
    /// Logits for an input whose height and width are multiples of <see cref="SizeDivisor"/>: main first, then
    /// auxiliary ones, each [N, NumClasses, h, w] at any resolution (the base resizes them).
    /// </summary>
    protected abstract IReadOnlyList<Tensor> ForwardLogits(Tensor x);

    /// <summary>
    /// Logits [N, NumClasses, H, W] at the input's resolution: main first, then auxiliary ones. Equivalent to a
    /// PaddleSeg model's <c>forward</c> returning <c>logit_list</c>.
    /// </summary>
    public IReadOnlyList<Tensor> Forward(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[1] != Options.InChannels)
            throw new ShapeMismatchException(GetType().Name, $"input must be [N, {Options.InChannels}, H, W], got {x.Shape}");
        int h = x.Shape[2], w = x.Shape[3];
        int padH = (SizeDivisor - h % SizeDivisor) % SizeDivisor, padW = (SizeDivisor - w % SizeDivisor) % SizeDivisor;
        var padded = padH == 0 && padW == 0 ? x : Functional.Pad(x, [0, padW, 0, padH]);
        var logits = ForwardLogits(padded);
        var result = new Tensor[logits.Count];
        for (int i = 0; i < logits.Count; i++)
        {
            var logit = logits[i];
            if (logit.Shape[2] != padded.Shape[2] || logit.Shape[3] != padded.Shape[3])
                logit = Functional.Interpolate(logit, size: (padded.Shape[2], padded.Shape[3]), mode: InterpolationMode.Bilinear,
                    alignCorners: Options.AlignCorners);
            result[i] = padH == 0 && padW == 0 ? logit : logit.Narrow(2, 0, h).Narrow(3, 0, w);
        }
        return result;
    }
}
