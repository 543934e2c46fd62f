using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Options of <see cref="HRNetFcn"/>, named after PaddleX 1.x's <c>paddlex.seg.HRNet(num_classes, width)</c>.
/// </summary>
/// <param name="NumClasses">Classes predicted.</param>
/// <param name="InChannels">Input image channels (PaddleX <c>input_channel</c>).</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> of the backbone's fuse layers, the branch concatenation and the logits' resize (PaddleSeg <c>align_corners</c>).</param>
/// <param name="Width">
/// The HRNet variant (PaddleX <c>width</c>): <c>18</c>, <c>30</c>, <c>32</c>, <c>40</c>, <c>44</c>, <c>48</c>, <c>60</c>,
/// <c>64</c>, <c>18_small_v1</c> or <c>18_small_v2</c> (see <see cref="HRNetArchitecture.FromWidth"/>).
/// </param>
/// <param name="HasSe">Squeeze-excitation in every backbone block (PaddleSeg <c>has_se</c>).</param>
public record HRNetOptions(
    int NumClasses,
    int InChannels = 3,
    bool AlignCorners = false,
    string Width = "18",
    bool HasSe = false) : ModelOptions(NumClasses, InChannels, AlignCorners)
{
    /// <summary>The width, e.g. <c>width 18</c> or <c>width 48 with squeeze-excite</c>.</summary>
    public override string Summary() => $"width {Width}" + (HasSe ? " with squeeze-excite" : "");
}

/// <summary>
/// HRNet for segmentation as PaddleSeg 2.x builds it (<c>FCN(backbone=HRNet_W{width})</c>, PaddleX's
/// <c>paddlex.seg.HRNet</c>): the backbone's four branches, branches 2–4 upsampled bilinearly to branch 1 (reduction 4)
/// and concatenated, a 1×1 convolution with bias, BatchNorm and ReLU keeping the concatenated width (<c>FCNHead</c>'s
/// default <c>channels</c>), and a 1×1 classifier with bias; the base class resizes the logits to the input.
/// <para>
/// State-dict keys: <c>backbone.*</c> (<see cref="HRNet"/>'s), <c>head.conv_1.conv.{weight,bias}</c>,
/// <c>head.conv_1.bn.*</c>, <c>head.cls.{weight,bias}</c> (PaddleSeg's <c>head.conv_1._conv</c>,
/// <c>head.conv_1._batch_norm</c>, <c>head.cls</c>). The head starts as PaddleSeg's <c>FCNHead.init_weight</c> leaves it:
/// convolution weights normal with σ = 0.001, zero biases. Inputs are zero-padded to a multiple of 32 on the right and
/// bottom (<see cref="SegmentationModel"/>); PaddleSeg runs any size as it is, which gives the same logits wherever the
/// size is already a multiple of 32.
/// </para>
/// </summary>
public sealed class HRNetFcn : SegmentationModel
{
    private readonly HRNet _backbone;
    private readonly FcnHead _head;

    /// <summary>Builds the model and its backbone from <see cref="HRNetOptions.Width"/>, <see cref="HRNetOptions.HasSe"/> and <see cref="ModelOptions.AlignCorners"/>.</summary>
    public HRNetFcn(HRNetOptions options)
        : this(options, CreateBackbone(options))
    {
    }

    /// <summary>
    /// Builds the model on <paramref name="backbone"/> (any stage configuration); <see cref="HRNetOptions.Width"/> is then
    /// only a label, while the backbone's input channels, squeeze-excitation and <c>align_corners</c> must equal the options'.
    /// </summary>
    public HRNetFcn(HRNetOptions options, HRNet backbone) : base(options)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (backbone.InChannels != options.InChannels || backbone.HasSe != options.HasSe || backbone.AlignCorners != options.AlignCorners)
            throw new ArgumentException(
                $"HRNetFcn: the options ask for InChannels {options.InChannels}, HasSe {options.HasSe}, AlignCorners {options.AlignCorners}, but the backbone has " +
                $"{backbone.InChannels}, {backbone.HasSe}, {backbone.AlignCorners}.", nameof(backbone));
        HRNetOptions = options;
        _backbone = Child("backbone", backbone);
        int channels = backbone.FeatureInfo.Sum(f => f.Channels);
        _head = Child("head", new FcnHead(channels, options.NumClasses));
    }

    /// <summary>The options the model was built with.</summary>
    public HRNetOptions HRNetOptions { get; }

    /// <summary>The backbone (child <c>backbone</c>).</summary>
    public override HRNet Backbone => _backbone;

    /// <summary>32, the backbone's output stride: every branch is then an exact fraction of the input.</summary>
    public override int SizeDivisor => 32;

    /// <summary>Builds the model from its options, or with defaults (width 18) from plain <see cref="ModelOptions"/>.</summary>
    [RegisterModel("hrnet", Options = typeof(HRNetOptions), Aliases = ["fcn"],
        Description = "PaddleX HRNet / PaddleSeg FCN on HRNet_W*: the four branches concatenated at 1/4, 1×1 conv, classifier")]
    public static SegmentationModel Create(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HRNetFcn(options as HRNetOptions ?? new HRNetOptions(options.NumClasses, options.InChannels, options.AlignCorners));
    }

    private static HRNet CreateBackbone(HRNetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new HRNet(HRNetArchitecture.FromWidth(options.Width), new BackboneOptions(InChannels: options.InChannels), options.HasSe,
            options.AlignCorners);
    }

    /// <summary>The branches concatenated at reduction 4 (PaddleSeg's <c>HRNet.forward</c>), then the head.</summary>
    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var branches = _backbone.ForwardFeatures(x);
        var size = (branches[0].Shape[2], branches[0].Shape[3]);
        var parts = new Tensor[branches.Count];
        parts[0] = branches[0];
        for (int b = 1; b < branches.Count; b++)
            parts[b] = Functional.Interpolate(branches[b], size: size, mode: InterpolationMode.Bilinear, alignCorners: Options.AlignCorners);
        return [_head.Forward(Tensor.Cat(parts, axis: 1))];
    }

    /// <summary>PaddleSeg's <c>FCNHead</c>: <c>conv_1</c> (1×1 with bias, BatchNorm, ReLU) and <c>cls</c> (1×1 with bias).</summary>
    private sealed class FcnHead : TensorModule
    {
        private readonly ConvBnAct _conv1;
        private readonly Conv2d _cls;

        public FcnHead(int channels, int numClasses)
        {
            _conv1 = Child("conv_1", new ConvBnAct(channels, channels, 1, bias: true));
            _cls = Child("cls", new Conv2d(channels, numClasses, 1));
            foreach (var conv in new[] { _conv1.Conv, _cls })
            {
                Init.Normal(conv.Weight, std: 0.001);
                Init.Zeros(conv.Bias!);
            }
        }

        public override Tensor Forward(Tensor x) => _cls.Forward(_conv1.Forward(x));
    }
}
