using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>Options of <see cref="FastScnn"/>, named after PaddleX 1.x's <c>paddlex.seg.FastSCNN</c> arguments.</summary>
/// <param name="NumClasses">Classes predicted.</param>
/// <param name="InChannels">Input image channels (PaddleX <c>input_channel</c>).</param>
/// <param name="AlignCorners">
/// Bilinear <c>align_corners</c> of the feature fusion's upsampling and of the logits' resize (PaddleSeg <c>align_corners</c>);
/// the pyramid pooling module always aligns corners, as in PaddleSeg.
/// </param>
/// <param name="MultiLossWeight">
/// PaddleX's <c>multi_loss_weight</c>: one to three positive loss weights, one per output, in the order fusion branch (the
/// main logits), higher-resolution branch, lower-resolution branch. Two weights add the higher-resolution auxiliary head,
/// three add both. Null = [1.0] (main logits only).
/// </param>
public record FastScnnOptions(
    int NumClasses,
    int InChannels = 3,
    bool AlignCorners = false,
    IReadOnlyList<double>? MultiLossWeight = null) : ModelOptions(NumClasses, InChannels, AlignCorners)
{
    /// <summary>Two: the pyramid pooling's bin-1 branch has BatchNorm after global pooling, one value per channel per image.</summary>
    public override int MinimumTrainingBatchSize => 2;

    /// <summary>Value equality that compares <see cref="MultiLossWeight"/> element by element (a saved and reloaded record equals the original).</summary>
    public virtual bool Equals(FastScnnOptions? other) =>
        other is not null && base.Equals(other) &&
        (MultiLossWeight is null ? other.MultiLossWeight is null : other.MultiLossWeight is not null && MultiLossWeight.SequenceEqual(other.MultiLossWeight));

    /// <summary>A hash consistent with <see cref="Equals(FastScnnOptions?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(base.GetHashCode());
        foreach (double weight in MultiLossWeight ?? []) hash.Add(weight);
        return hash.ToHashCode();
    }
}

/// <summary>
/// Fast-SCNN (Poudel et al., "Fast-SCNN: Fast Semantic Segmentation Network", 2019) as PaddleSeg 2.x's
/// <c>paddleseg.models.FastSCNN</c> builds it, with the auxiliary heads of PaddleX 1.x's <c>paddlex.seg.FastSCNN</c>:
/// <list type="bullet">
/// <item>learning to downsample (reduction 8): a 3×3 stride-2 conv-BN-ReLU to 32 channels, then two stride-2 separable
/// convolutions to 48 and 64 channels;</item>
/// <item>global feature extractor (reduction 32): three stages of three inverted-residual bottlenecks (expansion 6) to 64
/// (stride 2), 96 (stride 2) and 128 (stride 1) channels, then a pyramid pooling module (bins 1, 2, 3, 6, each pooled map
/// reduced to 32 channels and upsampled with <c>align_corners=True</c>, concatenated after the input in the order 6, 3, 2, 1,
/// fused by a 3×3 conv-BN-ReLU to 128 channels);</item>
/// <item>feature fusion: the low-resolution features upsampled to reduction 8, a 3×3 depthwise conv-BN-ReLU and a 1×1
/// conv-BN, added to the 1×1 conv-BN of the high-resolution features, ReLU;</item>
/// <item>classifier: two 128-channel separable convolutions, dropout 0.1, a 1×1 convolution with bias;</item>
/// <item>auxiliary heads (<see cref="FastScnnOptions.MultiLossWeight"/> of length 2 or 3): a 3×3 conv-BN-ReLU to 32
/// channels, channel dropout 0.1 and a 1×1 convolution with bias, on the learning-to-downsample output
/// (<c>aux_layer_higher</c>) and on the global feature extractor output (<c>aux_layer_lower</c>).</item>
/// </list>
/// PaddleSeg's separable convolution (<c>SeparableConvBNReLU</c>) is a linear depthwise conv-BN then a pointwise
/// conv-BN-ReLU. Convolutions carry a bias wherever PaddleSeg leaves Paddle's default (<c>bias_attr</c> unset): the first
/// convolution, both parts of every separable convolution, the pyramid pooling convolutions and the fusion's 1×1
/// convolutions; the bottlenecks, the fusion's depthwise convolution and the auxiliary 3×3 convolutions have none. BatchNorm
/// uses eps 1e-5 and momentum 0.1 (Paddle's 0.9). The first convolution pads as Paddle's <c>padding='same'</c> does, with
/// the odd pixel after (on the even inputs the model sees: none before, one after), where PyTorch's <c>padding=1</c> would
/// pad one on each side.
/// <para>
/// State-dict keys are PaddleSeg's module paths with every <c>ConvBNReLU</c>/<c>ConvBN</c> a <see cref="ConvBnAct"/>
/// (<c>_conv</c> → <c>conv</c>, <c>_batch_norm</c> → <c>bn</c>, PyTorch leaf names), so <see cref="KeyMap.PaddleSeg"/> maps a
/// PaddleSeg checkpoint of the main network onto them: <c>learning_to_downsample.conv_bn_relu</c>,
/// <c>learning_to_downsample.dsconv_bn_relu{1,2}.{depthwise_conv,piontwise_conv}</c> (PaddleSeg's spelling),
/// <c>global_feature_extractor.bottleneck{1,2,3}.{0,1,2}.block.{0,1,2}</c>, <c>global_feature_extractor.ppm.stages.{0..3}.1</c>
/// (index 0 is the pooling), <c>global_feature_extractor.ppm.conv_bn_relu2</c>,
/// <c>feature_fusion.{dwconv,conv_low_res,conv_high_res}</c>, <c>classifier.dsconv{1,2}.{depthwise_conv,piontwise_conv}</c>,
/// <c>classifier.conv.{weight,bias}</c>, then <c>aux_layer_higher</c> and <c>aux_layer_lower</c> (PaddleX's scope names)
/// with <c>conv_bn_relu</c> and <c>conv.{weight,bias}</c> (PaddleSeg's <c>AuxLayer</c> names).
/// </para>
/// <para>
/// The pyramid pooling's bin-1 branch normalises one value per channel per image, so training needs batches of at least two
/// images, as in PyTorch.
/// </para>
/// </summary>
public sealed class FastScnn : SegmentationModel
{
    private const int HigherChannels = 64;
    private const int LowerChannels = 128;
    private const int AuxChannels = 32;

    private readonly LearningToDownsample _learningToDownsample;
    private readonly GlobalFeatureExtractor _globalFeatureExtractor;
    private readonly FeatureFusionModule _featureFusion;
    private readonly Classifier _classifier;
    private readonly AuxLayer? _auxLayerHigher;
    private readonly AuxLayer? _auxLayerLower;

    /// <summary>Builds the model.</summary>
    /// <exception cref="ArgumentException">The loss weights are not one to three positive finite numbers.</exception>
    public FastScnn(FastScnnOptions options) : base(options ?? throw new ArgumentNullException(nameof(options)))
    {
        FastScnnOptions = options;
        LossCoefficients = CheckLossWeights(options.MultiLossWeight ?? [1.0]);

        _learningToDownsample = Child("learning_to_downsample", new LearningToDownsample(options.InChannels));
        _globalFeatureExtractor = Child("global_feature_extractor", new GlobalFeatureExtractor());
        _featureFusion = Child("feature_fusion", new FeatureFusionModule(options.AlignCorners));
        _classifier = Child("classifier", new Classifier(options.NumClasses));
        if (LossCoefficients.Count >= 2) _auxLayerHigher = Child("aux_layer_higher", new AuxLayer(HigherChannels, options.NumClasses));
        if (LossCoefficients.Count >= 3) _auxLayerLower = Child("aux_layer_lower", new AuxLayer(LowerChannels, options.NumClasses));
    }

    /// <summary>The options the model was built with.</summary>
    public FastScnnOptions FastScnnOptions { get; }

    /// <summary>
    /// The loss weight of each output (PaddleX's <c>multi_loss_weight</c>, [1.0] when none was given), main logits first:
    /// training sums the outputs' losses with these coefficients. Its length is the number of outputs.
    /// </summary>
    public override IReadOnlyList<double> LossCoefficients { get; }

    /// <summary>The global feature extractor's total downsampling: 32.</summary>
    public override int SizeDivisor => 32;

    /// <summary>Builds the model from its options, or with defaults (main logits only) from plain <see cref="ModelOptions"/>.</summary>
    [RegisterModel("fastscnn", Options = typeof(FastScnnOptions),
        Description = "PaddleX FastSCNN: learning-to-downsample and global-context branches fused at 1/8, optional auxiliary heads")]
    public static SegmentationModel Create(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FastScnn(options as FastScnnOptions ?? new FastScnnOptions(options.NumClasses, options.InChannels, options.AlignCorners));
    }

    private static IReadOnlyList<double> CheckLossWeights(IReadOnlyList<double> weights)
    {
        if (weights.Count is < 1 or > 3)
            throw new ArgumentException(
                $"FastScnn: MultiLossWeight takes 1 to 3 weights (fusion branch, higher-resolution branch, lower-resolution branch), got {weights.Count}.",
                "options");
        for (int i = 0; i < weights.Count; i++)
            if (!(weights[i] > 0) || double.IsInfinity(weights[i]))
                throw new ArgumentException($"FastScnn: MultiLossWeight[{i}] is {weights[i]}; every loss weight must be positive and finite.", "options");
        return [.. weights];
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var higher = _learningToDownsample.Forward(x);
        var lower = _globalFeatureExtractor.Forward(higher);
        var logits = new List<Tensor>(LossCoefficients.Count) { _classifier.Forward(_featureFusion.Forward(higher, lower)) };
        if (_auxLayerHigher is not null) logits.Add(_auxLayerHigher.Forward(higher));
        if (_auxLayerLower is not null) logits.Add(_auxLayerLower.Forward(lower));
        return logits;
    }

    /// <summary>PaddleSeg's <c>SeparableConvBNReLU</c>: a linear 3×3 depthwise conv-BN, then a 1×1 conv-BN-ReLU, both with bias.</summary>
    private sealed class SeparableConvBnRelu : TensorModule
    {
        private readonly ConvBnAct _depthwise;
        private readonly ConvBnAct _pointwise;

        public SeparableConvBnRelu(int inChannels, int outChannels, int stride = 1)
        {
            _depthwise = Child("depthwise_conv",
                new ConvBnAct(inChannels, inChannels, 3, stride, groups: inChannels, activation: Activation.None, bias: true));
            _pointwise = Child("piontwise_conv", new ConvBnAct(inChannels, outChannels, 1, bias: true));
        }

        public override Tensor Forward(Tensor x) => _pointwise.Forward(_depthwise.Forward(x));
    }

    /// <summary>Three stride-2 layers to reduction 8 and 64 channels (PaddleSeg's <c>LearningToDownsample(32, 48, 64)</c>).</summary>
    private sealed class LearningToDownsample : TensorModule
    {
        private const int Kernel = 3, Stride = 2;

        private readonly ConvBnAct _convBnRelu;
        private readonly SeparableConvBnRelu _dsconv1;
        private readonly SeparableConvBnRelu _dsconv2;

        public LearningToDownsample(int inChannels)
        {
            _convBnRelu = Child("conv_bn_relu", new ConvBnAct(inChannels, 32, Kernel, Stride, padding: 0, bias: true));
            _dsconv1 = Child("dsconv_bn_relu1", new SeparableConvBnRelu(32, 48, Stride));
            _dsconv2 = Child("dsconv_bn_relu2", new SeparableConvBnRelu(48, HigherChannels, Stride));
        }

        public override Tensor Forward(Tensor x) => _dsconv2.Forward(_dsconv1.Forward(_convBnRelu.Forward(PadSame(x))));

        /// <summary>Paddle's <c>padding='same'</c>: ⌈n / stride⌉ outputs, the total padding split with the odd pixel after.</summary>
        private static Tensor PadSame(Tensor x)
        {
            var (top, bottom) = SamePadding(x.Shape[2]);
            var (left, right) = SamePadding(x.Shape[3]);
            return top == 0 && bottom == 0 && left == 0 && right == 0 ? x : Functional.Pad(x, [left, right, top, bottom]);
        }

        private static (int Before, int After) SamePadding(int size)
        {
            int outputs = (size + Stride - 1) / Stride;
            int total = Math.Max((outputs - 1) * Stride + Kernel - size, 0);
            return (total / 2, total - total / 2);
        }
    }

    /// <summary>PaddleSeg's <c>InvertedBottleneck</c>: 1×1 expansion, 3×3 depthwise, linear 1×1 projection (<c>block.{0,1,2}</c>), no biases.</summary>
    private sealed class InvertedBottleneck : TensorModule
    {
        private const int Expansion = 6;

        private readonly Sequential _block;
        private readonly bool _useShortcut;

        public InvertedBottleneck(int inChannels, int outChannels, int stride)
        {
            int expanded = inChannels * Expansion;
            _block = Child("block", new Sequential(
                new ConvBnAct(inChannels, expanded, 1),
                new ConvBnAct(expanded, expanded, 3, stride, groups: expanded),
                new ConvBnAct(expanded, outChannels, 1, activation: Activation.None)));
            _useShortcut = stride == 1 && inChannels == outChannels;
        }

        public override Tensor Forward(Tensor x)
        {
            var y = _block.Forward(x);
            return _useShortcut ? x + y : y;
        }
    }

    /// <summary>Three bottleneck stages (64, 96, 128 channels; strides 2, 2, 1) and the pyramid pooling module.</summary>
    private sealed class GlobalFeatureExtractor : TensorModule
    {
        private static readonly int[] BlockChannels = [64, 96, LowerChannels];
        private static readonly int[] Strides = [2, 2, 1];
        private const int BlocksPerStage = 3;

        private readonly Sequential[] _bottlenecks;
        private readonly PyramidPooling _ppm;

        public GlobalFeatureExtractor()
        {
            _bottlenecks = new Sequential[BlockChannels.Length];
            int channels = HigherChannels;
            for (int stage = 0; stage < BlockChannels.Length; stage++)
            {
                var blocks = new Sequential(new InvertedBottleneck(channels, BlockChannels[stage], Strides[stage]));
                for (int i = 1; i < BlocksPerStage; i++) blocks.Add(new InvertedBottleneck(BlockChannels[stage], BlockChannels[stage], 1));
                _bottlenecks[stage] = Child($"bottleneck{stage + 1}", blocks);
                channels = BlockChannels[stage];
            }
            _ppm = Child("ppm", new PyramidPooling(channels, LowerChannels));
        }

        public override Tensor Forward(Tensor x)
        {
            foreach (var stage in _bottlenecks) x = stage.Forward(x);
            return _ppm.Forward(x);
        }
    }

    /// <summary>
    /// PaddleSeg's <c>PPModule(bin_sizes=(1, 2, 3, 6), dim_reduction=True, align_corners=True)</c>: each stage pools to a
    /// bin×bin map and reduces to a quarter of the channels (<c>stages.{i}.1</c>, conv with bias), is upsampled to the input
    /// size, and the input and the stages in reverse order are concatenated and fused by a 3×3 conv-BN-ReLU.
    /// </summary>
    private sealed class PyramidPooling : TensorModule
    {
        private static readonly int[] BinSizes = [1, 2, 3, 6];

        private readonly ModuleList<Sequential> _stages;
        private readonly ConvBnAct _convBnRelu2;

        public PyramidPooling(int inChannels, int outChannels)
        {
            int reduced = inChannels / BinSizes.Length;
            _stages = Child("stages", new ModuleList<Sequential>());
            foreach (int bins in BinSizes)
                _stages.Add(new Sequential(new AdaptiveAvgPool2d(bins), new ConvBnAct(inChannels, reduced, 1, bias: true)));
            _convBnRelu2 = Child("conv_bn_relu2", new ConvBnAct(inChannels + reduced * BinSizes.Length, outChannels, 3, bias: true));
        }

        public override Tensor Forward(Tensor x)
        {
            var size = new Size2(x.Shape[2], x.Shape[3]);
            var concatenated = new Tensor[_stages.Count + 1];
            concatenated[0] = x;
            for (int i = 0; i < _stages.Count; i++)
                concatenated[_stages.Count - i] = Functional.Interpolate(_stages[i].Forward(x), size: size, mode: InterpolationMode.Bilinear,
                    alignCorners: true);
            return _convBnRelu2.Forward(Tensor.Cat(concatenated, axis: 1));
        }
    }

    /// <summary>PaddleSeg's <c>FeatureFusionModule(64, 128, 128)</c>.</summary>
    private sealed class FeatureFusionModule : Module
    {
        private readonly ConvBnAct _dwconv;
        private readonly ConvBnAct _convLowRes;
        private readonly ConvBnAct _convHighRes;
        private readonly bool _alignCorners;

        public FeatureFusionModule(bool alignCorners)
        {
            _alignCorners = alignCorners;
            _dwconv = Child("dwconv", new ConvBnAct(LowerChannels, LowerChannels, 3, groups: LowerChannels));
            _convLowRes = Child("conv_low_res", new ConvBnAct(LowerChannels, LowerChannels, 1, activation: Activation.None, bias: true));
            _convHighRes = Child("conv_high_res", new ConvBnAct(HigherChannels, LowerChannels, 1, activation: Activation.None, bias: true));
        }

        public Tensor Forward(Tensor higher, Tensor lower)
        {
            var upsampled = Functional.Interpolate(lower, size: (higher.Shape[2], higher.Shape[3]), mode: InterpolationMode.Bilinear,
                alignCorners: _alignCorners);
            return (_convHighRes.Forward(higher) + _convLowRes.Forward(_dwconv.Forward(upsampled))).Relu();
        }
    }

    /// <summary>PaddleSeg's <c>Classifier(128, num_classes)</c>: two separable convolutions, dropout 0.1, 1×1 convolution.</summary>
    private sealed class Classifier : TensorModule
    {
        private readonly SeparableConvBnRelu _dsconv1;
        private readonly SeparableConvBnRelu _dsconv2;
        private readonly Conv2d _conv;
        private readonly Dropout _dropout;

        public Classifier(int numClasses)
        {
            _dsconv1 = Child("dsconv1", new SeparableConvBnRelu(LowerChannels, LowerChannels));
            _dsconv2 = Child("dsconv2", new SeparableConvBnRelu(LowerChannels, LowerChannels));
            _conv = Child("conv", new Conv2d(LowerChannels, numClasses, 1));
            _dropout = Child("dropout", new Dropout(0.1));
        }

        public override Tensor Forward(Tensor x) => _conv.Forward(_dropout.Forward(_dsconv2.Forward(_dsconv1.Forward(x))));
    }

    /// <summary>
    /// PaddleX 1.x's <c>_aux_layer</c>: a 3×3 conv-BN-ReLU to 32 channels without bias, channel dropout 0.1
    /// (<c>_dropout2d</c>), a 1×1 convolution with bias; children named as PaddleSeg's <c>AuxLayer</c>.
    /// </summary>
    private sealed class AuxLayer : TensorModule
    {
        private readonly ConvBnAct _convBnRelu;
        private readonly Dropout2d _dropout;
        private readonly Conv2d _conv;

        public AuxLayer(int inChannels, int numClasses)
        {
            _convBnRelu = Child("conv_bn_relu", new ConvBnAct(inChannels, AuxChannels, 3));
            _dropout = Child("dropout", new Dropout2d(0.1));
            _conv = Child("conv", new Conv2d(AuxChannels, numClasses, 1));
        }

        public override Tensor Forward(Tensor x) => _conv.Forward(_dropout.Forward(_convBnRelu.Forward(x)));
    }
}
