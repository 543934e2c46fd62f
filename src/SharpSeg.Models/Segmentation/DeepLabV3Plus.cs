using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// Options of <see cref="DeepLabV3Plus"/>, named after PaddleX 1.x's <c>paddlex.seg.DeepLabv3p</c> arguments.
/// </summary>
/// <param name="NumClasses">Classes predicted.</param>
/// <param name="InChannels">Input image channels (PaddleX <c>input_channel</c>).</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> of every upsampling (PaddleSeg <c>align_corners</c>).</param>
/// <param name="Backbone">
/// Registry name of the backbone (<see cref="ModelRegistry.CreateBackbone"/>): any registered backbone with a reduction-4
/// feature and output stride 8 or 16 (ResNets, MobileNetV2/V3, Xception, EfficientNet …). PaddleX's default is
/// <c>MobileNetV2_x1.0</c>.
/// </param>
/// <param name="OutputStride">8 or 16: the backbone's output stride; the ASPP rates are (1, 12, 24, 36) at 8 and (1, 6, 12, 18) at 16.</param>
/// <param name="AsppWithSepConv">Whether the dilated ASPP branches are depthwise-separable (<c>aspp_with_sep_conv</c>).</param>
/// <param name="DecoderUseSepConv">Whether the decoder's two 3×3 convolutions are depthwise-separable (<c>decoder_use_sep_conv</c>).</param>
/// <param name="EncoderWithAspp">Whether the deepest feature goes through ASPP (<c>encoder_with_aspp</c>); otherwise it is used as is.</param>
/// <param name="EnableDecoder">Whether the decoder fuses the reduction-4 feature (<c>enable_decoder</c>); otherwise the classifier runs at the output stride.</param>
/// <param name="PoolingCropSize">
/// Training crop (width, height) (<c>pooling_crop_size</c>): the image-pooling branch then averages with a fixed
/// stride-1 window of <c>⌊(crop − 1) / outputStride + 1⌋</c> instead of globally, so a network trained on crops behaves the
/// same on larger images (needed for MobileNetV3 in PaddleX). Null = global average.
/// </param>
/// <param name="AsppOutChannels">Channels of every ASPP branch and of the decoder (<c>aspp_convs_filters</c>, <c>conv_filters</c>).</param>
/// <param name="LowLevelChannels">Channels the reduction-4 feature is projected to before fusion (48 in the paper).</param>
/// <param name="AsppDropout">Dropout after the ASPP projection (PaddleSeg 2.x: 0.1).</param>
/// <param name="PretrainedBackbone">Published weights of the backbone family loaded when the model is built (<see cref="BackboneModelOptions.PretrainedBackbone"/>).</param>
public record DeepLabV3PlusOptions(
    int NumClasses,
    int InChannels = 3,
    bool AlignCorners = false,
    string Backbone = DeepLabV3PlusOptions.DefaultBackbone,
    int? OutputStride = 16,
    bool AsppWithSepConv = true,
    bool DecoderUseSepConv = true,
    bool EncoderWithAspp = true,
    bool EnableDecoder = true,
    (int Width, int Height)? PoolingCropSize = null,
    int AsppOutChannels = 256,
    int LowLevelChannels = 48,
    double AsppDropout = 0.1,
    string? PretrainedBackbone = null) : BackboneModelOptions(NumClasses, InChannels, AlignCorners, Backbone, OutputStride, PretrainedBackbone)
{
    /// <summary>Two when the ASPP's image pooling is global: its BatchNorm sees one value per channel per image.</summary>
    public override int MinimumTrainingBatchSize => EncoderWithAspp && PoolingCropSize is null ? 2 : 1;

    /// <summary>PaddleX 1.x's default backbone of <c>DeepLabv3p</c>.</summary>
    public const string DefaultBackbone = "mobilenetv2_x1.0";
}

/// <summary>
/// DeepLabV3+ (Chen et al., "Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation", 2018)
/// with every option of PaddleX 1.x's <c>DeepLabv3p</c>: a backbone at output stride 8 or 16, an ASPP encoder
/// (image pooling, 1×1, three dilated 3×3 branches, 1×1 projection, dropout), a decoder that fuses the reduction-4
/// feature (projected to 48 channels) with two 3×3 convolutions, and a 1×1 classifier with bias. Convolutions followed
/// by BatchNorm have no bias, as in PaddleX 1.x.
/// <para>
/// State-dict keys: <c>backbone.*</c> (the backbone's own), <c>aspp.image_pool.{conv,bn}</c>,
/// <c>aspp.branches.0.{conv,bn}</c> (1×1), <c>aspp.branches.{1,2,3}.{depthwise,pointwise}.{conv,bn}</c> (separable) or
/// <c>aspp.branches.{1,2,3}.{conv,bn}</c>, <c>aspp.project.{conv,bn}</c>, <c>decoder.low_level_project.{conv,bn}</c>,
/// <c>decoder.fuse.{0,1}.{depthwise,pointwise}.{conv,bn}</c> (separable) or <c>decoder.fuse.{0,1}.{conv,bn}</c>,
/// <c>classifier.{weight,bias}</c>. The ASPP concatenates image pooling first, then branches 0–3 (PaddleX 1.x's order).
/// </para>
/// <para>
/// With global image pooling, training needs batches of at least two images: that branch's BatchNorm sees one value
/// per channel per image and refuses a single one, as in PyTorch. PaddleX 1.x's ASPP dropout is fluid's
/// <c>dropout(x, 0.9)</c> with "downgrade in infer" scaling; this model uses an ordinary inverted dropout of
/// <see cref="DeepLabV3PlusOptions.AsppDropout"/> (PaddleSeg 2.x's 0.1).
/// </para>
/// </summary>
public sealed class DeepLabV3Plus : SegmentationModel
{
    private readonly IBackbone _backbone;
    private readonly int _lowLevelIndex;
    private readonly Aspp? _aspp;
    private readonly Decoder? _decoder;
    private readonly Conv2d _classifier;

    /// <summary>Builds the model and its backbone (from the registry, at the requested output stride and input channels).</summary>
    public DeepLabV3Plus(DeepLabV3PlusOptions options)
        : this(options, CreateBackbone(options))
    {
    }

    /// <summary>
    /// Builds the model on <paramref name="backbone"/> (any <see cref="IBackbone"/> with a reduction-4 feature when the
    /// decoder is enabled); <see cref="BackboneModelOptions.Backbone"/> is then only a label.
    /// </summary>
    public DeepLabV3Plus(DeepLabV3PlusOptions options, IBackbone backbone) : base(options)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        CheckOutputStride(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.AsppOutChannels, 1, nameof(options.AsppOutChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.LowLevelChannels, 1, nameof(options.LowLevelChannels));
        if (options.PoolingCropSize is { } crop && (crop.Width < 1 || crop.Height < 1))
            throw new ArgumentException($"DeepLabV3Plus: PoolingCropSize must be positive, got {crop}.", nameof(options));

        DeepLabOptions = options;
        _backbone = backbone;
        if (backbone.OutputStride != options.OutputStride)
            throw new ArgumentException(
                $"DeepLabV3Plus: OutputStride is {options.OutputStride} but backbone '{options.Backbone}' ({backbone.GetType().Name}) has output stride {backbone.OutputStride}.",
                nameof(backbone));
        if (backbone.InChannels != options.InChannels)
            throw new ArgumentException(
                $"DeepLabV3Plus: InChannels is {options.InChannels} but backbone '{options.Backbone}' ({backbone.GetType().Name}) takes {backbone.InChannels}.",
                nameof(backbone));
        Child("backbone", _backbone.Module);

        int channels = _backbone.FeatureInfo[^1].Channels;
        if (options.EncoderWithAspp)
        {
            int outputStride = backbone.OutputStride;
            int[] rates = outputStride == 16 ? [6, 12, 18] : [12, 24, 36];
            Size2? poolWindow = options.PoolingCropSize is { } size
                ? new Size2((int)((size.Height - 1.0) / outputStride + 1.0), (int)((size.Width - 1.0) / outputStride + 1.0))
                : null;
            _aspp = Child("aspp", new Aspp(channels, options.AsppOutChannels, rates, options.AsppWithSepConv, poolWindow, options.AsppDropout,
                options.AlignCorners));
            channels = options.AsppOutChannels;
        }
        if (options.EnableDecoder)
        {
            _lowLevelIndex = _backbone.FeatureIndex(4);
            _decoder = Child("decoder", new Decoder(channels, _backbone.FeatureInfo[_lowLevelIndex].Channels, options.LowLevelChannels,
                options.AsppOutChannels, options.DecoderUseSepConv, options.AlignCorners));
            channels = options.AsppOutChannels;
        }
        _classifier = Child("classifier", new Conv2d(channels, options.NumClasses, 1));
    }

    /// <summary>The options the model was built with.</summary>
    public DeepLabV3PlusOptions DeepLabOptions { get; }

    /// <summary>The backbone (child <c>backbone</c>).</summary>
    public override IBackbone Backbone => _backbone;

    /// <summary>The backbone's output stride: padding to it keeps every feature map an exact fraction of the input.</summary>
    public override int SizeDivisor => _backbone.OutputStride;

    /// <summary>Builds the model from its options, or with defaults from plain <see cref="ModelOptions"/>.</summary>
    [RegisterModel("deeplabv3p", Options = typeof(DeepLabV3PlusOptions), Aliases = ["deeplabv3plus"],
        Description = "PaddleX DeepLabv3p: any backbone at output stride 8/16, ASPP (image pooling, 3 atrous branches), reduction-4 decoder")]
    public static SegmentationModel Create(ModelOptions options) => new DeepLabV3Plus(
        options as DeepLabV3PlusOptions ?? new DeepLabV3PlusOptions(options.NumClasses, options.InChannels, options.AlignCorners));

    private static IBackbone CreateBackbone(DeepLabV3PlusOptions options)
    {
        CheckOutputStride(options);
        return options.CreateBackbone();
    }

    private static void CheckOutputStride(DeepLabV3PlusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OutputStride is not (8 or 16))
            throw new ArgumentException($"DeepLabV3Plus: OutputStride must be 8 or 16, got {options.OutputStride?.ToString() ?? "none"}.", nameof(options));
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var features = _backbone.ForwardFeatures(x);
        var y = features[^1];
        if (_aspp is not null) y = _aspp.Forward(y);
        if (_decoder is not null) y = _decoder.Forward(y, features[_lowLevelIndex]);
        return [_classifier.Forward(y)];
    }

    /// <summary>Atrous spatial pyramid pooling: image pooling and four parallel branches, concatenated and projected.</summary>
    private sealed class Aspp : TensorModule
    {
        private readonly ConvBnAct _imagePool;
        private readonly ModuleList<TensorModule> _branches;
        private readonly ConvBnAct _project;
        private readonly Dropout _dropout;
        private readonly Size2? _poolWindow;
        private readonly bool _alignCorners;

        public Aspp(int inChannels, int outChannels, int[] rates, bool separable, Size2? poolWindow, double dropout, bool alignCorners)
        {
            _poolWindow = poolWindow;
            _alignCorners = alignCorners;
            _imagePool = Child("image_pool", new ConvBnAct(inChannels, outChannels, 1));
            _branches = Child("branches", new ModuleList<TensorModule>(new ConvBnAct(inChannels, outChannels, 1)));
            foreach (int rate in rates)
                _branches.Add(separable
                    ? new SeparableConv(inChannels, outChannels, 3, dilation: rate)
                    : new ConvBnAct(inChannels, outChannels, 3, dilation: rate));
            _project = Child("project", new ConvBnAct(outChannels * (rates.Length + 2), outChannels, 1));
            _dropout = Child("dropout", new Dropout(dropout));
        }

        public override Tensor Forward(Tensor x)
        {
            int h = x.Shape[2], w = x.Shape[3];
            var outputs = new List<Tensor>(_branches.Count + 1) { ImagePooling(x, h, w) };
            foreach (var branch in _branches) outputs.Add(branch.Forward(x));
            return _dropout.Forward(_project.Forward(Tensor.Cat(outputs, axis: 1)));
        }

        private Tensor ImagePooling(Tensor x, int h, int w)
        {
            Tensor pooled;
            if (_poolWindow is { } window)
            {
                if (window.H > h || window.W > w)
                    throw new ShapeMismatchException("DeepLabV3Plus image pooling",
                        $"the pooling window {window} (from PoolingCropSize) exceeds the {h}×{w} feature map; feed inputs at least as large as the crop");
                pooled = Functional.AvgPool2d(x, window, stride: 1);
            }
            else
            {
                pooled = x.Mean([2, 3], keepDim: true);
            }
            var y = _imagePool.Forward(pooled);
            return Functional.Interpolate(y, size: (h, w), mode: InterpolationMode.Bilinear, alignCorners: _alignCorners);
        }
    }

    /// <summary>Fuses the upsampled encoder output with the projected reduction-4 feature.</summary>
    private sealed class Decoder : Module
    {
        private readonly ConvBnAct _lowLevelProject;
        private readonly Sequential _fuse;
        private readonly bool _alignCorners;

        public Decoder(int encoderChannels, int lowLevelChannels, int projectedChannels, int outChannels, bool separable, bool alignCorners)
        {
            _alignCorners = alignCorners;
            _lowLevelProject = Child("low_level_project", new ConvBnAct(lowLevelChannels, projectedChannels, 1));
            int fused = encoderChannels + projectedChannels;
            _fuse = Child("fuse", separable
                ? new Sequential(new SeparableConv(fused, outChannels), new SeparableConv(outChannels, outChannels))
                : new Sequential(new ConvBnAct(fused, outChannels, 3), new ConvBnAct(outChannels, outChannels, 3)));
        }

        public Tensor Forward(Tensor encoded, Tensor lowLevel)
        {
            var shortcut = _lowLevelProject.Forward(lowLevel);
            var upsampled = Functional.Interpolate(encoded, size: (shortcut.Shape[2], shortcut.Shape[3]), mode: InterpolationMode.Bilinear,
                alignCorners: _alignCorners);
            return _fuse.Forward(Tensor.Cat([upsampled, shortcut], axis: 1));
        }
    }
}
