using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Models;

/// <summary>
/// One of HRNet's multi-branch stages (2, 3 or 4): how many high-resolution modules it chains and, per branch (highest
/// resolution first), the basic blocks of each module and the branch width. Equivalent to PaddleSeg's
/// <c>stage{k}_num_modules</c>, <c>stage{k}_num_blocks</c> and <c>stage{k}_num_channels</c>.
/// </summary>
/// <param name="NumModules">High-resolution modules chained in the stage (<c>stage{k}_num_modules</c>).</param>
/// <param name="NumBlocks">Basic blocks per branch in every module (<c>stage{k}_num_blocks</c>).</param>
/// <param name="NumChannels">Channels per branch (<c>stage{k}_num_channels</c>).</param>
public sealed record HRNetStage(int NumModules, IReadOnlyList<int> NumBlocks, IReadOnlyList<int> NumChannels);

/// <summary>
/// The stage configuration of an HRNet: stage 1's bottleneck blocks and width, then stages 2–4 with two, three and four
/// branches. Equivalent to the stage arguments of PaddleSeg's <c>paddleseg.models.backbones.HRNet</c>; PaddleSeg's
/// <c>stage1_num_modules</c> has no effect there (stage 1 is always one <c>Layer1</c>) and has no counterpart here.
/// </summary>
/// <param name="Stage1Blocks">Bottleneck blocks of stage 1 (<c>stage1_num_blocks[0]</c>).</param>
/// <param name="Stage1Channels">Inner width of stage 1's bottlenecks; they output four times as many (<c>stage1_num_channels[0]</c>).</param>
/// <param name="Stage2">Stage 2 (two branches).</param>
/// <param name="Stage3">Stage 3 (three branches).</param>
/// <param name="Stage4">Stage 4 (four branches): its widths are the backbone's feature channels.</param>
public sealed record HRNetArchitecture(int Stage1Blocks, int Stage1Channels, HRNetStage Stage2, HRNetStage Stage3, HRNetStage Stage4)
{
    /// <summary>PaddleSeg <c>HRNet_W18_Small_V1</c>: widths 16/32/64/128, one module per stage, one or two blocks per branch.</summary>
    public static HRNetArchitecture W18SmallV1 { get; } = new(1, 32,
        new HRNetStage(1, [2, 2], [16, 32]), new HRNetStage(1, [2, 2, 2], [16, 32, 64]), new HRNetStage(1, [2, 2, 2, 2], [16, 32, 64, 128]));

    /// <summary>PaddleSeg <c>HRNet_W18_Small_V2</c>: widths 18/36/72/144, 1/3/2 modules, two blocks per branch.</summary>
    public static HRNetArchitecture W18SmallV2 { get; } = new(2, 64,
        new HRNetStage(1, [2, 2], [18, 36]), new HRNetStage(3, [2, 2, 2], [18, 36, 72]), new HRNetStage(2, [2, 2, 2, 2], [18, 36, 72, 144]));

    /// <summary>
    /// PaddleSeg <c>HRNet_W{width}</c> (18, 30, 32, 40, 44, 48, 60, 64): four bottlenecks of width 64 in stage 1, then
    /// 1/4/3 modules of four blocks per branch with widths w, 2w, 4w, 8w.
    /// </summary>
    public static HRNetArchitecture Standard(int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        return new(4, 64,
            new HRNetStage(1, [4, 4], [width, 2 * width]),
            new HRNetStage(4, [4, 4, 4], [width, 2 * width, 4 * width]),
            new HRNetStage(3, [4, 4, 4, 4], [width, 2 * width, 4 * width, 8 * width]));
    }

    /// <summary>The widths PaddleX 1.x's <c>paddlex.seg.HRNet(width=…)</c> accepts, as strings.</summary>
    public static IReadOnlyList<string> Widths { get; } = ["18_small_v1", "18_small_v2", "18", "30", "32", "40", "44", "48", "60", "64"];

    /// <summary>
    /// The architecture of PaddleX's <c>width</c> (<c>18</c>, <c>30</c>, <c>32</c>, <c>40</c>, <c>44</c>, <c>48</c>,
    /// <c>60</c>, <c>64</c>, <c>18_small_v1</c>, <c>18_small_v2</c>; case ignored).
    /// </summary>
    /// <exception cref="ArgumentException">Any other width; the message lists the accepted ones.</exception>
    public static HRNetArchitecture FromWidth(string width)
    {
        ArgumentNullException.ThrowIfNull(width);
        return width.Trim().ToLowerInvariant() switch
        {
            "18_small_v1" => W18SmallV1,
            "18_small_v2" => W18SmallV2,
            "18" or "30" or "32" or "40" or "44" or "48" or "60" or "64" => Standard(int.Parse(width.Trim(), System.Globalization.CultureInfo.InvariantCulture)),
            _ => throw new ArgumentException($"HRNet: width must be one of {string.Join(", ", Widths)}; got '{width}'.", nameof(width)),
        };
    }
}

/// <summary>
/// HRNet (Wang et al., "Deep High-Resolution Representation Learning for Visual Recognition", 2019) exactly as
/// PaddleSeg 2.x's <c>paddleseg.models.backbones.HRNet</c> builds it: a stem of two 3×3/2 convolutions (64 channels,
/// BatchNorm, ReLU), stage 1 of bottleneck blocks (the first with a 1×1 projection shortcut), then stages of 2, 3 and 4
/// parallel branches at reductions 4, 8, 16 and 32. Transitions add each new branch with a 3×3/2 convolution of the
/// lowest-resolution one (and adapt an existing branch with a 3×3 convolution where its width changes); each
/// high-resolution module runs basic blocks per branch and then fuses: every output branch sums its own input, the
/// lower-resolution branches through a 1×1 convolution and bilinear upsampling (<see cref="AlignCorners"/>), and the
/// higher-resolution branches through chains of 3×3/2 convolutions (ReLU between them, none after the last), then applies
/// ReLU. With <see cref="HasSe"/> every block scales its residual branch by PaddleSeg's squeeze-excitation (global
/// average, linear to channels/16, ReLU, linear back, sigmoid) before the shortcut sum.
/// <para>
/// Every convolution pads as Paddle's <c>padding='same'</c> (PaddleSeg's default <c>padding_same=True</c>): a 3×3/2
/// convolution of an even size pads one row or column after and none before, so its windows start at 0 rather than −1;
/// odd sizes and stride 1 pad symmetrically. BatchNorm uses ε = 1e-5 and momentum 0.1 (Paddle's 0.9). Weights start as
/// PaddleSeg's <c>init_weight</c> leaves them: convolutions normal with σ = 0.001, BatchNorm scale 1 and shift 0; the
/// squeeze-excitation linears uniform in ±1/√fan_in with zero bias.
/// </para>
/// <para>
/// PaddleSeg's backbone upsamples branches 2–4 to branch 1 and returns their concatenation as one feature; this backbone
/// returns the four branches (<see cref="FeatureInfo"/>: reductions 4, 8, 16, 32, stage 4's widths) and
/// <see cref="HRNetFcn"/> concatenates them, which gives PaddleSeg's result. The output stride is 32 and cannot change.
/// <see cref="BackboneOptions.MultiGrid"/> and <see cref="BackboneOptions.LrMultList"/> do not apply (PaddleSeg's HRNet
/// has neither) and are ignored.
/// </para>
/// <para>
/// State-dict keys are PaddleSeg's module paths (<c>conv_layer1_1</c>, <c>la1.bb_layer2_1.conv1</c>,
/// <c>tr1.transition_tr1_layer_2</c>, <c>st2.stage_st2_1.branches_func.bb_st2_1_branch_layer_1_1.conv1</c>,
/// <c>st2.stage_st2_1.fuse_func.residual_st2_1_layer_1_2</c>, <c>…residual_st3_1_layer_3_1_2</c>, <c>…se.squeeze</c>) with
/// PaddleSeg's <c>ConvBN</c> children <c>_conv</c>/<c>_batch_norm</c> called <c>conv</c>/<c>bn</c> and PyTorch's leaf
/// names. <see cref="PaddleSegKeyMap"/> loads PaddleSeg's own names.
/// </para>
/// </summary>
public sealed class HRNet : Module, IPretrainedBackbone
{
    private const string Family = "HRNet";
    private const string FirstConvKey = "conv_layer1_1.conv.weight";

    private readonly SameConvBn _stem1, _stem2;
    private readonly Layer1 _layer1;
    private readonly Transition[] _transitions = new Transition[3];
    private readonly Stage[] _stages = new Stage[3];

    /// <summary>
    /// Builds the backbone. Equivalent to PaddleSeg's <c>HRNet(in_channels, stage1_num_blocks, stage1_num_channels, …,
    /// stage4_num_channels, has_se, align_corners)</c> with <c>padding_same=True</c> and <c>use_psa=False</c>.
    /// </summary>
    /// <param name="architecture">Stage configuration (e.g. <see cref="HRNetArchitecture.W18SmallV1"/>, <see cref="HRNetArchitecture.Standard"/>).</param>
    /// <param name="options">Input channels; the output stride must be null or 32.</param>
    /// <param name="hasSe">Squeeze-excitation in every block (PaddleSeg <c>has_se</c>); needs every block width ≥ 16.</param>
    /// <param name="alignCorners">Bilinear <c>align_corners</c> of the fuse layers' upsampling (PaddleSeg <c>align_corners</c>).</param>
    /// <param name="initializeWeights">
    /// Draw the weights as PaddleSeg's <c>init_weight</c> does; false keeps the layers' PyTorch defaults, cheaper for a model
    /// whose weights are loaded right after (torch's <c>skip_init</c>).
    /// </param>
    /// <exception cref="ArgumentException">An inconsistent architecture, an output stride other than 32, or SE on a width below 16.</exception>
    public HRNet(HRNetArchitecture architecture, BackboneOptions? options = null, bool hasSe = false, bool alignCorners = false,
        bool initializeWeights = true)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        options ??= new BackboneOptions();
        if (options.OutputStride is { } stride && stride != 32)
            throw new ArgumentException(
                $"{Family}: the output stride is fixed at 32 (its four branches run at reductions 4, 8, 16 and 32); got {stride}.", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InChannels, 1, nameof(options.InChannels));
        Validate(architecture, hasSe);

        Architecture = architecture;
        InChannels = options.InChannels;
        HasSe = hasSe;
        AlignCorners = alignCorners;
        var stages = new[] { architecture.Stage2, architecture.Stage3, architecture.Stage4 };
        FeatureInfo = [.. architecture.Stage4.NumChannels.Select((c, b) => new FeatureInfo(c, 4 << b, "st4"))];

        _stem1 = Child("conv_layer1_1", new SameConvBn(InChannels, 64, 3, stride: 2));
        _stem2 = Child("conv_layer1_2", new SameConvBn(64, 64, 3, stride: 2));
        _layer1 = Child("la1", new Layer1(64, architecture.Stage1Channels, architecture.Stage1Blocks, hasSe));
        IReadOnlyList<int> channels = [architecture.Stage1Channels * Bottleneck.Expansion];
        for (int s = 0; s < 3; s++)
        {
            var stage = stages[s];
            _transitions[s] = Child($"tr{s + 1}", new Transition(channels, stage.NumChannels, $"tr{s + 1}"));
            _stages[s] = Child($"st{s + 2}", new Stage(stage, hasSe, $"st{s + 2}", alignCorners));
            channels = stage.NumChannels;
        }

        if (!initializeWeights) return;
        foreach (var module in Modules())
        {
            if (module is Conv2d conv) Init.Normal(conv.Weight, std: 0.001);
            else if (module is SELayer se) se.ZeroBiases();
        }
    }

    /// <summary>
    /// PaddleSeg's HRNet state-dict names (a converted <c>.pdparams</c>) to this class's keys: <c>_conv</c> → <c>conv</c>,
    /// <c>_batch_norm</c> → <c>bn</c>, <c>_mean</c>/<c>_variance</c> → <c>running_mean</c>/<c>running_var</c>, and the
    /// squeeze-excitation Linear weights transposed from Paddle's [in, out]. Equivalent to <see cref="KeyMap.PaddleSeg"/>.
    /// </summary>
    public static KeyMap PaddleSegKeyMap => KeyMap.PaddleSeg;

    /// <summary>The stage configuration.</summary>
    public HRNetArchitecture Architecture { get; }

    /// <summary>Whether every block has squeeze-excitation (PaddleSeg <c>has_se</c>).</summary>
    public bool HasSe { get; }

    /// <summary>Bilinear <c>align_corners</c> of the fuse layers (PaddleSeg <c>align_corners</c>).</summary>
    public bool AlignCorners { get; }

    /// <inheritdoc/>
    public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <summary>Always 32: the lowest-resolution branch runs at reduction 32.</summary>
    public int OutputStride => 32;

    /// <inheritdoc/>
    public int InChannels { get; }

    /// <inheritdoc/>
    Module IBackbone.Module => this;

    /// <summary>
    /// The four branches of the last stage, [N, C_b, ⌈H/r⌉, ⌈W/r⌉] for r = 4, 8, 16, 32. Equivalent to PaddleSeg's
    /// <c>HRNet.forward</c> before its upsampling and concatenation (the list <c>st4</c>).
    /// </summary>
    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        this.CheckInput(x, Family);
        IReadOnlyList<Tensor> branches = [_layer1.Forward(_stem2.Forward(_stem1.Forward(x)))];
        for (int s = 0; s < 3; s++) branches = _stages[s].Forward(_transitions[s].Forward(branches));
        return branches;
    }

    /// <summary>
    /// Loads a weight file (safetensors, PyTorch <c>.pth</c> or Paddle <c>.pdparams</c>; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) in this class's keys, or in PaddleSeg's (recognised by <c>._conv.</c> or
    /// <c>._mean</c>) through <see cref="PaddleSegKeyMap"/>, strictly, adapting the first convolution to
    /// <see cref="InChannels"/>. Equivalent to PaddleSeg's <c>load_pretrained_model</c>.
    /// </summary>
    public LoadReport LoadPretrained(string path)
    {
        var tensors = WeightFile.Load(path);
        bool paddle = tensors.Keys.Any(k => k.Contains("._conv.", StringComparison.Ordinal) || k.EndsWith("._mean", StringComparison.Ordinal));
        return PretrainedWeights.Load(this, paddle ? PaddleSegKeyMap.Apply(tensors) : tensors, FirstConvKey);
    }

    private static void Validate(HRNetArchitecture a, bool hasSe)
    {
        void Require(bool condition, string what)
        {
            if (!condition) throw new ArgumentException($"{Family}: {what}.", "architecture");
        }

        Require(a.Stage1Blocks >= 1 && a.Stage1Channels >= 1, $"stage 1 needs at least one block and one channel, got {a.Stage1Blocks} blocks of {a.Stage1Channels}");
        var stages = new[] { a.Stage2, a.Stage3, a.Stage4 };
        for (int s = 0; s < 3; s++)
        {
            var stage = stages[s];
            int branches = s + 2;
            Require(stage is not null, $"stage {branches} is missing");
            Require(stage!.NumBlocks.Count == branches && stage.NumChannels.Count == branches,
                $"stage {branches} has {branches} branches, so it needs {branches} block counts and {branches} widths; got ({string.Join(", ", stage.NumBlocks)}) and ({string.Join(", ", stage.NumChannels)})");
            Require(stage.NumModules >= 1 && stage.NumBlocks.All(b => b >= 1) && stage.NumChannels.All(c => c >= 1),
                $"stage {branches} needs at least one module, one block per branch and one channel per branch");
        }
        if (!hasSe) return;
        var widths = stages.SelectMany(st => st.NumChannels).Append(a.Stage1Channels * Bottleneck.Expansion);
        Require(widths.All(c => c >= SELayer.Reduction),
            $"squeeze-excitation reduces every block width by {SELayer.Reduction}, so each must be at least {SELayer.Reduction}; got ({string.Join(", ", widths)})");
    }

    /// <summary>
    /// PaddleSeg's <c>ConvBN</c>/<c>ConvBNReLU</c> with Paddle's <c>padding='same'</c>: per axis of size n the output has
    /// ⌈n/stride⌉ positions and the total padding max((out − 1)·stride + k − n, 0) is split with the odd one after.
    /// Keys <c>conv</c>, <c>bn</c>.
    /// </summary>
    private sealed class SameConvBn : TensorModule
    {
        private readonly Conv2d _conv;
        private readonly BatchNorm2d _bn;
        private readonly int _kernel, _stride;
        private readonly bool _relu;

        public SameConvBn(int inChannels, int outChannels, int kernel, int stride = 1, bool relu = true)
        {
            _kernel = kernel;
            _stride = stride;
            _relu = relu;
            _conv = Child("conv", new Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, bias: false));
            _bn = Child("bn", new BatchNorm2d(outChannels));
        }

        public override Tensor Forward(Tensor x) => Forward(x, null, _relu);

        /// <summary>
        /// relu?(bn(conv(x)) + residual); at stride 1 in evaluation the normalisation, the add and the ReLU run fused
        /// into the convolution (<see cref="Conv2d.ForwardWithBatchNorm"/>).
        /// </summary>
        public Tensor Forward(Tensor x, Tensor? residual, bool relu) => Forward(x, residual, relu, null);

        /// <summary>As above, the stride-1 inference result written into <paramref name="buffers"/>' <paramref name="slot"/>.</summary>
        public Tensor Forward(Tensor x, IntermediateBuffers buffers, int slot) =>
            buffers.Keep(slot, Forward(x, null, _relu, buffers[slot]));

        private Tensor Forward(Tensor x, Tensor? residual, bool relu, Tensor? outputBuffer)
        {
            var activation = relu ? FusedActivation.Relu : FusedActivation.None;
            if (_stride == 1) return _conv.ForwardWithBatchNorm(x, _bn, activation, residual, outputBuffer);
            if (!_bn.IsTraining && _bn.RunningMean is { } mean && _bn.RunningVar is { } variance)
            {
                // Strided, in evaluation: the same folding and epilogue as at stride 1, after the uneven part of the
                // 'same' padding (when there is one) is made explicit.
                var (padded, padding) = PadUnevenly(x);
                return Functional.Conv2dFused(padded, _conv.Weight, null, _stride, padding, 1, 1,
                    new BatchNormStatistics(mean, variance, _bn.Weight, _bn.Bias, _bn.Eps), residual, activation);
            }
            var y = _bn.Forward(Convolve(x));
            if (residual is not null) y += residual;
            return relu ? y.Relu() : y;
        }

        private Tensor Convolve(Tensor x)
        {
            // At stride 1 an odd kernel pads (k − 1)/2 on both sides, which the convolution's own padding does.
            if (_stride == 1) return _conv.Forward(x);
            var (padded, padding) = PadUnevenly(x);
            return Functional.Conv2d(padded, _conv.Weight, stride: _stride, padding: padding);
        }

        /// <summary>x with the extra bottom/right row and column of an uneven 'same' padding, and the even part left to the convolution.</summary>
        private (Tensor Padded, Size2 Padding) PadUnevenly(Tensor x)
        {
            var (top, bottom) = Pads(x.Shape[2]);
            var (left, right) = Pads(x.Shape[3]);
            if (bottom > top || right > left) x = Functional.Pad(x, [0, right - left, 0, bottom - top]);
            return (x, new Size2(top, left));
        }

        private (int Before, int After) Pads(int size)
        {
            int output = (size + _stride - 1) / _stride;
            int total = Math.Max((output - 1) * _stride + _kernel - size, 0);
            return (total / 2, total - total / 2);
        }
    }

    /// <summary>
    /// PaddleSeg's <c>SELayer</c>: global average, <c>squeeze</c> Linear to ⌊C/16⌋, ReLU, <c>excitation</c> Linear back to
    /// C, sigmoid, and the input scaled per channel.
    /// </summary>
    private sealed class SELayer : TensorModule
    {
        public const int Reduction = 16;

        private readonly Linear _squeeze, _excitation;

        public SELayer(int channels)
        {
            _squeeze = Child("squeeze", new Linear(channels, channels / Reduction));
            _excitation = Child("excitation", new Linear(channels / Reduction, channels));
        }

        /// <summary>Paddle's Linear starts with zero bias (its weights start as PyTorch's do).</summary>
        public void ZeroBiases()
        {
            Init.Zeros(_squeeze.Bias!);
            Init.Zeros(_excitation.Bias!);
        }

        public override Tensor Forward(Tensor x)
        {
            var scale = _excitation.Forward(_squeeze.Forward(x.Mean([2, 3])).Relu()).Sigmoid();
            return x * scale.Reshape(x.Shape[0], x.Shape[1], 1, 1);
        }
    }

    /// <summary>Stage 1's block (PaddleSeg <c>BottleneckBlock</c>): 1×1, 3×3, 1×1 to four times the width; keys <c>conv1</c>…<c>conv3</c>, <c>conv_down</c>, <c>se</c>.</summary>
    private sealed class Bottleneck : TensorModule
    {
        public const int Expansion = 4;

        private readonly SameConvBn _conv1, _conv2, _conv3;
        private readonly SameConvBn? _convDown;
        private readonly SELayer? _se;

        public Bottleneck(int inChannels, int width, bool hasSe, bool downsample)
        {
            _conv1 = Child("conv1", new SameConvBn(inChannels, width, 1));
            _conv2 = Child("conv2", new SameConvBn(width, width, 3));
            _conv3 = Child("conv3", new SameConvBn(width, width * Expansion, 1, relu: false));
            if (downsample) _convDown = Child("conv_down", new SameConvBn(inChannels, width * Expansion, 1, relu: false));
            if (hasSe) _se = Child("se", new SELayer(width * Expansion));
        }

        public override Tensor Forward(Tensor x)
        {
            // The inner results and the projected shortcut die in this call: in inference they reuse this thread's buffers.
            var buffers = IntermediateBuffers.Rent();
            var y = _conv2.Forward(_conv1.Forward(x, buffers, 0), buffers, 1);
            var shortcut = _convDown?.Forward(x, buffers, 2) ?? x;
            var output = _se is null ? _conv3.Forward(y, shortcut, relu: true) : (_se.Forward(_conv3.Forward(y)) + shortcut).Relu();
            buffers.Return();
            return output;
        }
    }

    /// <summary>A branch block (PaddleSeg <c>BasicBlock</c> without its unused <c>conv_down</c>): two 3×3; keys <c>conv1</c>, <c>conv2</c>, <c>se</c>.</summary>
    private sealed class BasicBlock : TensorModule
    {
        private readonly SameConvBn _conv1, _conv2;
        private readonly SELayer? _se;

        public BasicBlock(int channels, bool hasSe)
        {
            _conv1 = Child("conv1", new SameConvBn(channels, channels, 3));
            _conv2 = Child("conv2", new SameConvBn(channels, channels, 3, relu: false));
            if (hasSe) _se = Child("se", new SELayer(channels));
        }

        public override Tensor Forward(Tensor x)
        {
            // The inner result dies in this call: in inference it reuses this thread's buffers.
            var buffers = IntermediateBuffers.Rent();
            var y = _conv1.Forward(x, buffers, 0);
            var output = _se is null ? _conv2.Forward(y, x, relu: true) : (_se.Forward(_conv2.Forward(y)) + x).Relu();
            buffers.Return();
            return output;
        }
    }

    /// <summary>Stage 1 (PaddleSeg <c>Layer1</c>, named <c>layer2</c> inside): bottlenecks <c>bb_layer2_{i}</c>, the first with a projection.</summary>
    private sealed class Layer1 : TensorModule
    {
        private readonly Bottleneck[] _blocks;

        public Layer1(int inChannels, int width, int blocks, bool hasSe)
        {
            _blocks = new Bottleneck[blocks];
            for (int i = 0; i < blocks; i++)
                _blocks[i] = Child($"bb_layer2_{i + 1}", new Bottleneck(i == 0 ? inChannels : width * Bottleneck.Expansion, width, hasSe, downsample: i == 0));
        }

        public override Tensor Forward(Tensor x)
        {
            foreach (var block in _blocks) x = block.Forward(x);
            return x;
        }
    }

    /// <summary>
    /// PaddleSeg's <c>TransitionLayer</c>: branch i keeps its input when the width is unchanged, else a 3×3 convolution;
    /// a new branch is a 3×3/2 convolution of the last input branch. Keys <c>transition_{name}_layer_{i}</c>.
    /// </summary>
    private sealed class Transition : Module
    {
        private readonly SameConvBn?[] _convs;
        private readonly int _inputs;

        public Transition(IReadOnlyList<int> inChannels, IReadOnlyList<int> outChannels, string name)
        {
            _inputs = inChannels.Count;
            _convs = new SameConvBn?[outChannels.Count];
            for (int i = 0; i < outChannels.Count; i++)
            {
                string key = $"transition_{name}_layer_{i + 1}";
                if (i >= _inputs) _convs[i] = Child(key, new SameConvBn(inChannels[^1], outChannels[i], 3, stride: 2));
                else if (inChannels[i] != outChannels[i]) _convs[i] = Child(key, new SameConvBn(inChannels[i], outChannels[i], 3));
            }
        }

        public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> x)
        {
            var outputs = new Tensor[_convs.Length];
            for (int i = 0; i < _convs.Length; i++)
            {
                var input = i < _inputs ? x[i] : x[^1];
                outputs[i] = _convs[i]?.Forward(input) ?? input;
            }
            return outputs;
        }
    }

    /// <summary>PaddleSeg's <c>Stage</c>: high-resolution modules <c>stage_{name}_{m}</c> in sequence.</summary>
    private sealed class Stage : Module
    {
        private readonly HighResolutionModule[] _modules;

        public Stage(HRNetStage stage, bool hasSe, string name, bool alignCorners)
        {
            _modules = new HighResolutionModule[stage.NumModules];
            for (int m = 0; m < stage.NumModules; m++)
                _modules[m] = Child($"stage_{name}_{m + 1}", new HighResolutionModule(stage, hasSe, $"{name}_{m + 1}", alignCorners));
        }

        public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> x)
        {
            foreach (var module in _modules) x = module.Forward(x);
            return x;
        }
    }

    /// <summary>PaddleSeg's <c>HighResolutionModule</c>: <c>branches_func</c>, then <c>fuse_func</c>.</summary>
    private sealed class HighResolutionModule : Module
    {
        private readonly Branches _branches;
        private readonly Fuse _fuse;

        public HighResolutionModule(HRNetStage stage, bool hasSe, string name, bool alignCorners)
        {
            _branches = Child("branches_func", new Branches(stage, hasSe, name));
            _fuse = Child("fuse_func", new Fuse(stage.NumChannels, name, alignCorners));
        }

        public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> x) => _fuse.Forward(_branches.Forward(x));
    }

    /// <summary>PaddleSeg's <c>Branches</c>: basic blocks <c>bb_{name}_branch_layer_{b}_{j}</c> run along each branch.</summary>
    private sealed class Branches : Module
    {
        private readonly BasicBlock[][] _blocks;

        public Branches(HRNetStage stage, bool hasSe, string name)
        {
            _blocks = new BasicBlock[stage.NumChannels.Count][];
            for (int b = 0; b < _blocks.Length; b++)
            {
                _blocks[b] = new BasicBlock[stage.NumBlocks[b]];
                for (int j = 0; j < _blocks[b].Length; j++)
                    _blocks[b][j] = Child($"bb_{name}_branch_layer_{b + 1}_{j + 1}", new BasicBlock(stage.NumChannels[b], hasSe));
            }
        }

        public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> x)
        {
            var outputs = new Tensor[_blocks.Length];
            for (int b = 0; b < _blocks.Length; b++)
            {
                var y = x[b];
                foreach (var block in _blocks[b]) y = block.Forward(y);
                outputs[b] = y;
            }
            return outputs;
        }
    }

    /// <summary>
    /// PaddleSeg's <c>FuseLayers</c> with <c>multi_scale_output=True</c> (every branch is an output):
    /// <c>residual_{name}_layer_{i}_{j}</c> (1×1, then upsampling) from a lower resolution,
    /// <c>residual_{name}_layer_{i}_{j}_{k}</c> (3×3/2 chains) from a higher one.
    /// </summary>
    private sealed class Fuse : Module
    {
        private readonly int _count;
        private readonly bool _alignCorners;
        // _paths[i][j]: the convolutions taking input branch j to output branch i (empty for j = i).
        private readonly SameConvBn[][][] _paths;

        public Fuse(IReadOnlyList<int> channels, string name, bool alignCorners)
        {
            _count = channels.Count;
            _alignCorners = alignCorners;
            _paths = new SameConvBn[_count][][];
            for (int i = 0; i < _count; i++)
            {
                _paths[i] = new SameConvBn[_count][];
                for (int j = 0; j < _count; j++)
                {
                    if (j > i)
                    {
                        _paths[i][j] = [Child($"residual_{name}_layer_{i + 1}_{j + 1}", new SameConvBn(channels[j], channels[i], 1, relu: false))];
                        continue;
                    }
                    _paths[i][j] = new SameConvBn[i - j];
                    int inChannels = channels[j];
                    for (int k = 0; k < i - j; k++)
                    {
                        bool last = k == i - j - 1;
                        int outChannels = last ? channels[i] : channels[j];
                        _paths[i][j][k] = Child($"residual_{name}_layer_{i + 1}_{j + 1}_{k + 1}",
                            new SameConvBn(inChannels, outChannels, 3, stride: 2, relu: !last));
                        inChannels = outChannels;
                    }
                }
            }
        }

        public IReadOnlyList<Tensor> Forward(IReadOnlyList<Tensor> x)
        {
            var outputs = new Tensor[_count];
            for (int i = 0; i < _count; i++)
            {
                var sum = x[i];
                int lastJ = i == _count - 1 ? _count - 2 : _count - 1;
                for (int j = 0; j < _count; j++)
                {
                    if (j == i) continue;
                    var y = x[j];
                    var path = _paths[i][j];
                    if (j < i)
                    {
                        // The chain's last convolution adds the running sum (and, for the last input, applies the
                        // ReLU) in its epilogue: y + sum is the sum + y of the separate ops exactly.
                        for (int k = 0; k < path.Length - 1; k++) y = path[k].Forward(y);
                        sum = path[^1].Forward(y, sum, relu: j == lastJ);
                        continue;
                    }
                    y = Functional.Interpolate(path[0].Forward(y), size: (sum.Shape[2], sum.Shape[3]), mode: InterpolationMode.Bilinear,
                        alignCorners: _alignCorners);
                    sum += y;
                    if (j == lastJ) sum = sum.Relu();
                }
                outputs[i] = _count == 1 ? sum.Relu() : sum;
            }
            return outputs;
        }
    }

    /// <summary>PaddleSeg <c>HRNet_W18_Small_V1</c>.</summary>
    [RegisterBackbone("hrnet_w18_small_v1", Description = "PaddleSeg HRNet_W18_Small_V1 (branches 16/32/64/128, one module per stage)")]
    public static IBackbone HRNetW18SmallV1(BackboneOptions options) => new HRNet(HRNetArchitecture.W18SmallV1, options);

    /// <summary>PaddleSeg <c>HRNet_W18_Small_V2</c>.</summary>
    [RegisterBackbone("hrnet_w18_small_v2", Description = "PaddleSeg HRNet_W18_Small_V2 (branches 18/36/72/144, two blocks per branch)")]
    public static IBackbone HRNetW18SmallV2(BackboneOptions options) => new HRNet(HRNetArchitecture.W18SmallV2, options);

    /// <summary>PaddleSeg <c>HRNet_W18</c>.</summary>
    [RegisterBackbone("hrnet_w18", Description = "PaddleSeg HRNet_W18 (branches 18/36/72/144)")]
    public static IBackbone HRNetW18(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(18), options);

    /// <summary>PaddleSeg <c>HRNet_W30</c>.</summary>
    [RegisterBackbone("hrnet_w30", Description = "PaddleSeg HRNet_W30 (branches 30/60/120/240)")]
    public static IBackbone HRNetW30(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(30), options);

    /// <summary>PaddleSeg <c>HRNet_W32</c>.</summary>
    [RegisterBackbone("hrnet_w32", Description = "PaddleSeg HRNet_W32 (branches 32/64/128/256)")]
    public static IBackbone HRNetW32(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(32), options);

    /// <summary>PaddleSeg <c>HRNet_W40</c>.</summary>
    [RegisterBackbone("hrnet_w40", Description = "PaddleSeg HRNet_W40 (branches 40/80/160/320)")]
    public static IBackbone HRNetW40(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(40), options);

    /// <summary>PaddleSeg <c>HRNet_W44</c>.</summary>
    [RegisterBackbone("hrnet_w44", Description = "PaddleSeg HRNet_W44 (branches 44/88/176/352)")]
    public static IBackbone HRNetW44(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(44), options);

    /// <summary>PaddleSeg <c>HRNet_W48</c>.</summary>
    [RegisterBackbone("hrnet_w48", Description = "PaddleSeg HRNet_W48 (branches 48/96/192/384)")]
    public static IBackbone HRNetW48(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(48), options);

    /// <summary>PaddleSeg <c>HRNet_W60</c>.</summary>
    [RegisterBackbone("hrnet_w60", Description = "PaddleSeg HRNet_W60 (branches 60/120/240/480)")]
    public static IBackbone HRNetW60(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(60), options);

    /// <summary>PaddleSeg <c>HRNet_W64</c>.</summary>
    [RegisterBackbone("hrnet_w64", Description = "PaddleSeg HRNet_W64 (branches 64/128/256/512)")]
    public static IBackbone HRNetW64(BackboneOptions options) => new HRNet(HRNetArchitecture.Standard(64), options);
}
