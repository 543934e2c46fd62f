using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Options every segmentation model takes; a model's own options record derives from it.
/// </summary>
/// <param name="NumClasses">Classes predicted (logit channels).</param>
/// <param name="InChannels">Input image channels.</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> used for every upsampling in the model and for resizing logits to the input.</param>
public record ModelOptions(int NumClasses, int InChannels = 3, bool AlignCorners = false)
{
    /// <summary>
    /// What sets this model apart in a few words for logs and the CLI, e.g. <c>mobilenetv2_x1.0, output stride 16</c>;
    /// empty when the model name says it all.
    /// </summary>
    public virtual string Summary() => "";

    /// <summary>
    /// The smallest batch the model these options build can train on: 2 for a model with BatchNorm after global pooling
    /// (one value per channel per image cannot be normalised; PyTorch: "Expected more than 1 value per channel"), else 1.
    /// Known from the options alone, so a command line can be checked before any data is read.
    /// </summary>
    public virtual int MinimumTrainingBatchSize => 1;
}

/// <summary>
/// Options of a model built on a registered backbone chosen by name (smp's <c>encoder_name</c>, PaddleX's
/// <c>backbone</c>): every such model's options record derives from this one, so Training and Cli can set the backbone
/// of any of them without knowing the model.
/// </summary>
/// <param name="NumClasses">Classes predicted.</param>
/// <param name="InChannels">Input image channels.</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> of the model's upsampling.</param>
/// <param name="Backbone">Registry name of the backbone (<see cref="ModelRegistry.CreateBackbone"/>), any case or alias.</param>
/// <param name="OutputStride">The backbone's output stride; null = the backbone family's default.</param>
/// <param name="PretrainedBackbone">
/// A weight file (safetensors, <c>.pth</c> or <c>.pdparams</c>) of the backbone family's published weights (torchvision/timm/PaddleSeg keys) loaded into the
/// backbone when the model is built (<see cref="IPretrainedBackbone.LoadPretrained"/>); null = random initialisation.
/// Equivalent to PaddleSeg's <c>backbone.pretrained</c>.
/// </param>
public abstract record BackboneModelOptions(int NumClasses, int InChannels, bool AlignCorners, string Backbone, int? OutputStride,
    string? PretrainedBackbone) : ModelOptions(NumClasses, InChannels, AlignCorners)
{
    /// <summary>The backbone and its output stride.</summary>
    public override string Summary() => OutputStride is { } stride ? $"{Backbone}, output stride {stride}" : Backbone;

    /// <summary>
    /// Builds the backbone these options name at their input channels and output stride, with
    /// <see cref="PretrainedBackbone"/> loaded when set.
    /// </summary>
    /// <exception cref="ArgumentException">The backbone is unknown, or refuses the output stride; or it cannot load pretrained weights.</exception>
    public IBackbone CreateBackbone()
    {
        var backbone = ModelRegistry.CreateBackbone(Backbone, new BackboneOptions(InChannels: InChannels, OutputStride: OutputStride));
        if (PretrainedBackbone is null) return backbone;
        if (backbone is not IPretrainedBackbone pretrained)
            throw new ArgumentException($"Backbone '{Backbone}' ({backbone.GetType().Name}) cannot load pretrained weights.", nameof(PretrainedBackbone));
        pretrained.LoadPretrained(PretrainedBackbone);
        return backbone;
    }
}

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

    /// <summary>The registered backbone the model is built on (child <c>backbone</c>), or null for a model with a fixed encoder.</summary>
    public virtual IBackbone? Backbone => null;

    /// <summary>
    /// The loss coefficient of each output <see cref="Forward"/> returns, when the model defines them (PaddleX's
    /// <c>multi_loss_weight</c> of Fast-SCNN); null = training decides (1 for the main output).
    /// </summary>
    public virtual IReadOnlyList<double>? LossCoefficients => null;

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
