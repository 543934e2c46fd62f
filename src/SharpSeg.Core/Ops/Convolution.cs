using System.Runtime.CompilerServices;
using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>conv2d and conv_transpose2d on the convolution kernels.</summary>
internal static class Convolution
{
    /// <summary>Kernel-ready (packed, and BatchNorm-folded where asked) inference weights, per convolution weight tensor.</summary>
    private static readonly ConditionalWeakTable<Tensor, InferenceWeight> InferenceWeights = new();

    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation, int groups)
    {
        var g = Geometry("Conv2d", x, weight, bias, stride, padding, dilation, groups);
        var y = NewFloat(new Shape(g.Batch, g.OutChannels, g.OutH, g.OutW));
        bool record = GradMode.ShouldRecord(x, weight, bias);
        Kernel.Conv2dForward(g, Dense(x).Data, Dense(weight).Data, bias is null ? default : Dense(bias).Data, y.Data);
        FlopCounter.Add(g.Flops);
        if (record)
            y.AttachGradFn(new Conv2dFn(g, bias is null ? [x, weight] : [x, weight, bias]));
        return y;
    }

    /// <summary>
    /// act(batch_norm_eval(conv2d(x)) + residual) with the weights kept kernel-ready across calls and the normalisation,
    /// when given, folded into them; for callers that record no graph (see <see cref="Functional.Conv2dFused"/>).
    /// </summary>
    public static Tensor Conv2dFusedInference(Tensor x, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation,
        int groups, BatchNormStatistics? batchNorm, Tensor? residual, FusedActivation activation, Tensor? outputBuffer = null)
    {
        const string op = "Conv2dFused";
        var g = Geometry(op, x, weight, bias, stride, padding, dilation, groups);
        if (batchNorm is { } bn)
        {
            foreach (var (t, name) in new[] { (bn.RunningMean, "running_mean"), (bn.RunningVar, "running_var"), (bn.Weight, "bn weight"), (bn.Bias, "bn bias") })
                if (t is not null)
                    Check.That(t.DType == DType.Float32 && t.Rank == 1 && t.Shape[0] == g.OutChannels, op,
                        $"{name} {t.Shape} must be float32 [{g.OutChannels}] for weight {weight.Shape}");
            Check.That(bn.Eps > 0, op, $"eps must be positive, got {bn.Eps}");
        }
        var outShape = new Shape(g.Batch, g.OutChannels, g.OutH, g.OutW);
        if (residual is not null)
        {
            Check.Float(residual, op, "residual");
            Check.That(residual.Shape == outShape, op, $"residual {residual.Shape} must have the output's shape {outShape}");
        }

        var entry = InferenceWeights.GetValue(weight, _ => new InferenceWeight());
        var y = CanWriteInto(outputBuffer, outShape, x, residual)
            ? new Tensor(outputBuffer!.Storage, outShape, outShape.ContiguousStrides(), outputBuffer.Offset)
            : NewFloat(outShape);
        lock (entry)
        {
            if (batchNorm is { } b) entry.Folded(g, weight, bias, b);
            else entry.Plain(g, weight);
            var biasData = batchNorm is not null ? entry.Bias : bias is null ? default : Dense(bias).Data;
            Kernel.Conv2dForwardFused(g, Dense(x).Data, entry.Weight, biasData, residual is null ? default : Dense(residual).Data,
                activation, y.Data, entry.Kernel);
        }
        FlopCounter.Add(g.Flops);
        return y;
    }

    /// <summary>
    /// Whether the result may go into the first elements of <paramref name="buffer"/>: dense float32 with room for the
    /// output, in no graph, and not sharing a storage the kernel reads while writing (the input, the residual).
    /// </summary>
    private static bool CanWriteInto(Tensor? buffer, Shape outShape, Tensor x, Tensor? residual) =>
        buffer is not null && buffer.DType == DType.Float32 && buffer.IsContiguous && buffer.Numel >= outShape.Numel
        && buffer.GradFn is null && !buffer.RequiresGrad
        && !ReferenceEquals(buffer.Storage, x.Storage) && (residual is null || !ReferenceEquals(buffer.Storage, residual.Storage));

    private static Conv2dGeometry Geometry(string op, Tensor x, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation, int groups)
    {
        Check.Float(x, op, "input");
        Check.Rank(x, 4, op, "input");
        Check.Rank(weight, 4, op, "weight");
        int cin = x.Shape[1], cout = weight.Shape[0];
        Check.That(groups >= 1 && cin % groups == 0 && cout % groups == 0 && weight.Shape[1] * groups == cin, op,
            $"input {x.Shape} and weight {weight.Shape} do not fit groups={groups} (weight must be [out, in/groups, kh, kw])");
        CheckBias(bias, cout, op);
        CheckPositive(stride, padding, dilation, op);
        var g = new Conv2dGeometry(x.Shape[0], cin, x.Shape[2], x.Shape[3], cout, weight.Shape[2], weight.Shape[3],
            stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        Check.That(g.OutH > 0 && g.OutW > 0, op,
            $"input {x.Shape} is smaller than the dilated kernel {weight.Shape} with padding {padding}");
        Check.Float(weight, op, "weight");
        if (bias is not null) Check.Float(bias, op, "bias");
        return g;
    }

    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 outputPadding, int groups, Size2 dilation)
    {
        const string op = "ConvTranspose2d";
        Check.Float(x, op, "input");
        Check.Rank(x, 4, op, "input");
        Check.Rank(weight, 4, op, "weight");
        int cin = x.Shape[1], cout = weight.Shape[1] * groups;
        Check.That(groups >= 1 && weight.Shape[0] == cin && cin % groups == 0, op,
            $"input {x.Shape} and weight {weight.Shape} do not fit groups={groups} (weight must be [in, out/groups, kh, kw])");
        CheckBias(bias, cout, op);
        CheckPositive(stride, padding, dilation, op);
        Check.That(outputPadding.H >= 0 && outputPadding.W >= 0 && (outputPadding.H < stride.H || outputPadding.H < dilation.H)
            && (outputPadding.W < stride.W || outputPadding.W < dilation.W), op,
            $"output_padding {outputPadding} must be smaller than stride {stride} or dilation {dilation}");
        int kh = weight.Shape[2], kw = weight.Shape[3];
        int outH = (x.Shape[2] - 1) * stride.H - 2 * padding.H + dilation.H * (kh - 1) + outputPadding.H + 1;
        int outW = (x.Shape[3] - 1) * stride.W - 2 * padding.W + dilation.W * (kw - 1) + outputPadding.W + 1;
        Check.That(outH > 0 && outW > 0, op, $"input {x.Shape} with weight {weight.Shape} and padding {padding} gives an empty output");

        // conv_transpose2d is the input gradient of the convolution that maps its output back to its input.
        var g = new Conv2dGeometry(x.Shape[0], cout, outH, outW, cin, kh, kw, stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        var y = NewFloat(new Shape(g.Batch, cout, outH, outW));
        Kernel.Conv2dBackwardInput(g, Dense(x).Data, Dense(weight).Data, y.Data);
        FlopCounter.Add(g.Flops);
        if (bias is not null) y = AddChannelBias(y, bias);
        if (GradMode.ShouldRecord(x, weight, bias))
            y.AttachGradFn(new ConvTranspose2dFn(g, bias is null ? [x, weight] : [x, weight, bias]));
        return y;
    }

    private static Tensor AddChannelBias(Tensor y, Tensor bias)
    {
        using var _ = GradMode.NoGrad();
        return y + bias.Detach().Reshape(1, -1, 1, 1);
    }

    private static void CheckBias(Tensor? bias, int channels, string op)
    {
        if (bias is not null)
            Check.That(bias.Rank == 1 && bias.Shape[0] == channels, op, $"bias {bias.Shape} must be [{channels}]");
    }

    private static void CheckPositive(Size2 stride, Size2 padding, Size2 dilation, string op) =>
        Check.That(stride.H > 0 && stride.W > 0 && dilation.H > 0 && dilation.W > 0 && padding.H >= 0 && padding.W >= 0, op,
            $"stride {stride} and dilation {dilation} must be positive and padding {padding} non-negative");

    /// <summary>Sum of dy over batch and space: the bias gradient.</summary>
    public static Tensor ChannelSum(Tensor dy) => dy.Sum([0, 2, 3]);

    /// <summary>
    /// The kernel-ready form of one convolution weight for inference, remade only when a tensor it derives from has been
    /// handed out for writing since (see <see cref="Storage.Version"/>): the sources' references and versions are
    /// compared on every call, and none of their data is touched while they match.
    /// </summary>
    private sealed class InferenceWeight
    {
        private Tensor?[] _sources = [];
        private int[] _versions = [];
        private (int OutChannels, int InPerGroup, int KernelH, int KernelW, int Groups) _layout;
        private float[] _weight = [];
        private float[] _bias = [];
        private object? _kernel;
        private double _epsilon;

        /// <summary>The weight for the kernel: empty when the prepared form replaces it.</summary>
        public ReadOnlySpan<float> Weight => _weight;

        /// <summary>The folded bias (empty for <see cref="Plain"/>).</summary>
        public ReadOnlySpan<float> Bias => _bias;

        /// <summary>The backend's prepared weight, or null.</summary>
        public object? Kernel => _kernel;

        /// <summary>Makes the weight itself kernel-ready for <paramref name="g"/> unless it already is. Caller holds the lock.</summary>
        public void Plain(in Conv2dGeometry g, Tensor weight)
        {
            if (Matches(g, [weight], 0)) return;
            Prepare(g, Dense(weight).Data);
            _bias = [];
            Remember(g, [weight], 0);
        }

        /// <summary>Makes the weight and bias with the eval-mode BatchNorm folded in kernel-ready unless they already are. Caller holds the lock.</summary>
        public void Folded(in Conv2dGeometry g, Tensor weight, Tensor? bias, BatchNormStatistics bn)
        {
            Tensor?[] sources = [weight, bias, bn.RunningMean, bn.RunningVar, bn.Weight, bn.Bias];
            if (Matches(g, sources, bn.Eps)) return;
            var folded = new float[weight.Numel];
            var foldedBias = new float[g.OutChannels];
            BatchNormFolding.Fold(Dense(weight).Data, Data(bias), Data(bn.RunningMean), Data(bn.RunningVar), Data(bn.Weight), Data(bn.Bias),
                bn.Eps, folded, foldedBias);
            Prepare(g, folded);
            _bias = foldedBias;
            Remember(g, sources, bn.Eps);
        }

        private static ReadOnlySpan<float> Data(Tensor? t) => t is null ? default : Dense(t).Data;

        private void Prepare(in Conv2dGeometry g, ReadOnlySpan<float> weight)
        {
            _kernel = Backend.Kernel.PrepareConv2dWeight(g, weight, _kernel);
            // Where the backend keeps no prepared form it reads the plain weight: keep a copy, since reading the source
            // tensor on every call would itself count as a possible write.
            _weight = _kernel is null ? weight.ToArray() : [];
        }

        private bool Matches(in Conv2dGeometry g, Tensor?[] sources, double eps)
        {
            if (_layout != Layout(g) || sources.Length != _sources.Length || !_epsilon.Equals(eps)) return false;
            for (int i = 0; i < sources.Length; i++)
            {
                if (!ReferenceEquals(sources[i], _sources[i])) return false;
                if (sources[i] is { } t && t.Storage.Version != _versions[i]) return false;
            }
            return true;
        }

        private void Remember(in Conv2dGeometry g, Tensor?[] sources, double eps)
        {
            _epsilon = eps;
            _layout = Layout(g);
            _sources = sources;
            _versions = [.. sources.Select(t => t?.Storage.Version ?? 0)];
        }

        private static (int, int, int, int, int) Layout(in Conv2dGeometry g) =>
            (g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW, g.Groups);
    }
}

internal sealed class Conv2dFn(Conv2dGeometry g, Tensor[] inputs) : GradFn("Conv2d", inputs)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        Tensor x = Input(0), w = Input(1);
        bool hasBias = InputCount == 3;
        var dy = Backend.Dense(grad).Data;
        Tensor? dx = null, dw = null, db = null;
        if (x.RequiresGrad)
        {
            dx = Backend.NewFloat(x.Shape);
            Backend.Kernel.Conv2dBackwardInput(g, dy, Backend.Dense(w).Data, dx.Data);
            FlopCounter.Add(g.Flops);
        }
        if (w.RequiresGrad || (hasBias && Input(2).RequiresGrad))
        {
            dw = Backend.NewFloat(w.Shape);
            db = hasBias ? Backend.NewFloat(Input(2).Shape) : null;
            Backend.Kernel.Conv2dBackwardWeight(g, Backend.Dense(x).Data, dy, dw.Data, db is null ? default : db.Data);
            FlopCounter.Add(g.Flops);
        }
        return hasBias ? [dx, w.RequiresGrad ? dw : null, db] : [dx, w.RequiresGrad ? dw : null];
    }
}

internal sealed class ConvTranspose2dFn(Conv2dGeometry g, Tensor[] inputs) : GradFn("ConvTranspose2d", inputs)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        Tensor x = Input(0), w = Input(1);
        bool hasBias = InputCount == 3;
        var dy = Backend.Dense(grad).Data;
        Tensor? dx = null, dw = null;
        if (x.RequiresGrad)
        {
            dx = Backend.NewFloat(x.Shape);
            Backend.Kernel.Conv2dForward(g, dy, Backend.Dense(w).Data, default, dx.Data);
            FlopCounter.Add(g.Flops);
        }
        if (w.RequiresGrad)
        {
            dw = Backend.NewFloat(w.Shape);
            Backend.Kernel.Conv2dBackwardWeight(g, dy, Backend.Dense(x).Data, dw.Data, default);
            FlopCounter.Add(g.Flops);
        }
        return hasBias ? [dx, dw, Input(2).RequiresGrad ? Convolution.ChannelSum(grad) : null] : [dx, dw];
    }
}
