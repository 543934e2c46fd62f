using SharpSeg.Ops;
using SharpSeg.Tracing;

namespace SharpSeg;

/// <summary>
/// Neural-network functions on tensors, each differentiable. Equivalent to <c>torch.nn.functional</c>; argument
/// names and defaults follow it (in .NET casing).
/// </summary>
public static class Functional
{
    /// <summary>
    /// 2-D convolution of input [N, Cin, H, W] with weight [Cout, Cin/groups, kh, kw] and optional bias [Cout].
    /// Equivalent to <c>torch.nn.functional.conv2d</c>.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, int groups = 1)
    {
        var recorder = OpRecorder.Enter();
        var y = Convolution.Conv2d(input, weight, bias, stride ?? 1, padding ?? 0, dilation ?? 1, groups);
        return recorder is null ? y : recorder.Exit(y, "Conv2d", [input, weight, bias], ("stride", stride ?? 1), ("padding", padding ?? 0),
            ("dilation", dilation ?? 1), ("groups", groups));
    }

    /// <summary>
    /// act(batch_norm(conv2d(input, weight, bias)) + residual), the normalisation in evaluation mode and optional, like
    /// the residual. When no graph is recorded (and no <see cref="Tracing.OpRecorder"/> traces) this is the inference
    /// path: the weight is kept packed for the kernel across calls, the normalisation folded into it (weight·γ/√(σ²+ε),
    /// bias (b − μ)·γ/√(σ²+ε) + β), both remade only after one of those tensors was handed out for writing (an optimizer
    /// step, a state-dict load, an in-place op; not a write through a span obtained before the call), and the residual add
    /// and activation run on each output tile while it is in cache. The result differs from the separate ops only by
    /// the rounding of the folding (exactly equal without a normalisation). Otherwise it runs the separate
    /// differentiable ops. Equivalent to PyTorch's <c>fuse_conv_bn_eval</c> followed by a convolution with oneDNN's sum
    /// and relu post-ops (<c>torch.ao.nn.intrinsic.ConvBnReLU2d</c> in eval).
    /// </summary>
    /// <param name="input">[N, Cin, H, W].</param>
    /// <param name="weight">Convolution weight [Cout, Cin/groups, kh, kw].</param>
    /// <param name="bias">Convolution bias [Cout], or null.</param>
    /// <param name="stride">Convolution stride.</param>
    /// <param name="padding">Convolution zero padding.</param>
    /// <param name="dilation">Convolution dilation.</param>
    /// <param name="groups">Convolution groups.</param>
    /// <param name="batchNorm">The evaluation-mode normalisation after the convolution, or null.</param>
    /// <param name="residual">Added after the normalisation, shaped like the output, or null.</param>
    /// <param name="activation">Applied last.</param>
    /// <param name="outputBuffer">
    /// Memory the inference path may write the result into instead of allocating (PyTorch's <c>out=</c>, without the
    /// resize): when it is a contiguous float32 tensor with at least as many elements as the output, records no graph
    /// and shares no storage with <paramref name="input"/> or <paramref name="residual"/>, the result is a view of its
    /// first elements; otherwise it is ignored (and the graph path always ignores it). For blocks whose intermediate
    /// results die inside one call: reusing their memory saves the allocation and the page faults of fresh memory.
    /// </param>
    public static Tensor Conv2dFused(Tensor input, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation, int groups,
        BatchNormStatistics? batchNorm = null, Tensor? residual = null, FusedActivation activation = FusedActivation.None,
        Tensor? outputBuffer = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (!OpRecorder.IsActive && !GradMode.ShouldRecord(input, weight, bias, batchNorm?.RunningMean, batchNorm?.RunningVar,
                batchNorm?.Weight, batchNorm?.Bias, residual))
            return Convolution.Conv2dFusedInference(input, weight, bias, stride, padding, dilation, groups, batchNorm, residual, activation,
                outputBuffer);

        var y = Conv2d(input, weight, bias, stride, padding, dilation, groups);
        if (batchNorm is not null)
            y = BatchNorm(y, batchNorm.RunningMean, batchNorm.RunningVar, batchNorm.Weight, batchNorm.Bias, training: false, eps: batchNorm.Eps);
        return AddAndActivate(y, residual, activation);
    }

    /// <summary>
    /// activation(<paramref name="y"/> + <paramref name="residual"/>) as separate differentiable ops: the unfused form of
    /// <see cref="Conv2dFused"/>'s epilogue, for callers that ran the convolution and normalisation themselves. Equivalent
    /// to PyTorch's <c>F.relu(y + residual)</c> (or <c>relu6</c>, <c>hardswish</c>).
    /// </summary>
    public static Tensor AddAndActivate(Tensor y, Tensor? residual, FusedActivation activation)
    {
        ArgumentNullException.ThrowIfNull(y);
        if (residual is not null) y += residual;
        return activation switch
        {
            FusedActivation.Relu => y.Relu(),
            FusedActivation.Relu6 => y.Relu6(),
            FusedActivation.Hardswish => y.Hardswish(),
            _ => y,
        };
    }

    /// <summary>
    /// Transposed 2-D convolution of input [N, Cin, H, W] with weight [Cin, Cout/groups, kh, kw]; output size
    /// (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1. Equivalent to <c>torch.nn.functional.conv_transpose2d</c>.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null,
        Size2? outputPadding = null, int groups = 1, Size2? dilation = null)
    {
        var recorder = OpRecorder.Enter();
        var y = Convolution.ConvTranspose2d(input, weight, bias, stride ?? 1, padding ?? 0, outputPadding ?? 0, groups, dilation ?? 1);
        return recorder is null ? y : recorder.Exit(y, "ConvTranspose2d", [input, weight, bias], ("stride", stride ?? 1),
            ("padding", padding ?? 0), ("outputPadding", outputPadding ?? 0), ("groups", groups), ("dilation", dilation ?? 1));
    }

    /// <summary>y = x·Wᵀ + b with weight [out, in]. Equivalent to <c>torch.nn.functional.linear</c>.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        var recorder = OpRecorder.Enter();
        var y = LinearAlgebra.Linear(input, weight, bias);
        return recorder is null ? y : recorder.Exit(y, "Linear", [input, weight, bias]);
    }

    /// <summary>Max pooling (stride defaults to the kernel size; padding counts as −∞). Equivalent to <c>torch.nn.functional.max_pool2d</c>.</summary>
    public static Tensor MaxPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null,
        bool ceilMode = false)
    {
        var recorder = OpRecorder.Enter();
        var y = Pooling.MaxPool2d(input, kernelSize, stride, padding ?? 0, dilation ?? 1, ceilMode).Output;
        return recorder is null ? y : recorder.Exit(y, "MaxPool2d", [input], ("kernelSize", kernelSize), ("stride", stride ?? kernelSize),
            ("padding", padding ?? 0), ("dilation", dilation ?? 1), ("ceilMode", ceilMode));
    }

    /// <summary>
    /// Max pooling that also returns, for each output, the flat index of its maximum within the input plane (int64).
    /// Equivalent to <c>torch.nn.functional.max_pool2d(..., return_indices=True)</c>.
    /// </summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor input, Size2 kernelSize, Size2? stride = null,
        Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        var (output, indices) = Pooling.MaxPool2d(input, kernelSize, stride, padding ?? 0, dilation ?? 1, ceilMode);
        return (output, indices.Detach().To(DType.Int64));
    }

    /// <summary>Average pooling. Equivalent to <c>torch.nn.functional.avg_pool2d</c>.</summary>
    public static Tensor AvgPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false,
        bool countIncludePad = true)
    {
        var recorder = OpRecorder.Enter();
        var y = Pooling.AvgPool2d(input, kernelSize, stride, padding ?? 0, ceilMode, countIncludePad);
        return recorder is null ? y : recorder.Exit(y, "AvgPool2d", [input], ("kernelSize", kernelSize), ("stride", stride ?? kernelSize),
            ("padding", padding ?? 0), ("ceilMode", ceilMode), ("countIncludePad", countIncludePad));
    }

    /// <summary>Average pooling to a fixed output size. Equivalent to <c>torch.nn.functional.adaptive_avg_pool2d</c>.</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Size2 outputSize)
    {
        var recorder = OpRecorder.Enter();
        var y = Pooling.AdaptiveAvgPool2d(input, outputSize);
        return recorder is null ? y : recorder.Exit(y, "AdaptiveAvgPool2d", [input], ("outputSize", outputSize));
    }

    /// <summary>
    /// Resizes [N, C, H, W] to <paramref name="size"/> or by <paramref name="scaleFactor"/> (output = floor(in · factor), coordinates
    /// mapped with the factor itself as torch does). Equivalent to <c>torch.nn.functional.interpolate</c>.
    /// </summary>
    public static Tensor Interpolate(Tensor input, Size2? size = null, double? scaleFactor = null,
        InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null) =>
        Interpolate(input, size, scaleFactor is { } f ? (f, f) : null, mode, alignCorners);

    /// <summary>Resizes with separate height and width factors (see <see cref="Interpolate(Tensor, Size2?, double?, InterpolationMode, bool?)"/>).</summary>
    public static Tensor Interpolate(Tensor input, (double H, double W) scaleFactor, InterpolationMode mode = InterpolationMode.Nearest,
        bool? alignCorners = null) =>
        Interpolate(input, null, scaleFactor, mode, alignCorners);

    private static Tensor Interpolate(Tensor input, Size2? size, (double H, double W)? scaleFactor, InterpolationMode mode, bool? alignCorners)
    {
        var recorder = OpRecorder.Enter();
        var y = Resampling.Interpolate(input, size, scaleFactor, mode, alignCorners);
        return recorder is null ? y : recorder.Exit(y, "Interpolate", [input], ("size", size), ("scaleFactor", scaleFactor), ("mode", mode),
            ("alignCorners", alignCorners ?? false));
    }

    /// <summary>
    /// Batch normalisation over axis 1. Training: normalises with the batch statistics and updates the running
    /// statistics in place (running = (1 − momentum)·running + momentum·batch, unbiased variance); evaluation: uses
    /// the running statistics. Equivalent to <c>torch.nn.functional.batch_norm</c>.
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        var recorder = OpRecorder.Enter();
        var y = Normalization.BatchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps);
        return recorder is null ? y : recorder.Exit(y, "BatchNorm", [input, runningMean, runningVar, weight, bias], ("training", training),
            ("eps", eps));
    }

    /// <summary>
    /// ReLU(batch_norm(x) + residual): <see cref="BatchNorm"/>, the add of <paramref name="residual"/> (when given) and
    /// <see cref="Tensor.Relu"/>, with the same values bit for bit. In training mode with a graph recorded they run as
    /// one op writing one tensor: the ReLU is applied as the normalised values are stored and backward masks the
    /// gradient inside the batch-norm kernels, so neither the pre-activation tensor nor (without a residual) the ReLU's
    /// gradient is ever stored. Equivalent to PyTorch's <c>torch.ao.nn.intrinsic.BNReLU2d</c>
    /// (<c>F.relu(F.batch_norm(...) + residual)</c>).
    /// </summary>
    /// <param name="input">[N, C, …].</param>
    /// <param name="runningMean">Running mean [C], updated in training, or null.</param>
    /// <param name="runningVar">Running variance [C], updated in training, or null.</param>
    /// <param name="weight">γ [C], or null.</param>
    /// <param name="bias">β [C], or null.</param>
    /// <param name="training">Normalise with the batch statistics (and update the running ones).</param>
    /// <param name="momentum">Weight of the batch statistics in the running ones.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="residual">Added before the ReLU, or null; one shaped like <paramref name="input"/> is fused.</param>
    public static Tensor BatchNormRelu(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5, Tensor? residual = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        // Evaluation folds into the convolution instead, a recorder (ONNX export) must see the ops it exports, and a
        // residual that broadcasts takes the general add.
        if (!training || OpRecorder.IsActive || (residual is not null && residual.Shape != input.Shape))
            return AddAndActivate(BatchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps), residual, FusedActivation.Relu);
        return Normalization.BatchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true, residual);
    }

    /// <summary>Softmax along <paramref name="axis"/>. Equivalent to <c>torch.softmax</c>.</summary>
    public static Tensor Softmax(Tensor input, int axis)
    {
        var recorder = OpRecorder.Enter();
        var y = Losses.Softmax(input, axis, log: false);
        return recorder is null ? y : recorder.Exit(y, "Softmax", [input], ("axis", axis));
    }

    /// <summary>Log-softmax along <paramref name="axis"/>, computed stably. Equivalent to <c>torch.log_softmax</c>.</summary>
    public static Tensor LogSoftmax(Tensor input, int axis)
    {
        var recorder = OpRecorder.Enter();
        var y = Losses.Softmax(input, axis, log: true);
        return recorder is null ? y : recorder.Exit(y, "LogSoftmax", [input], ("axis", axis));
    }

    /// <summary>
    /// Negative log-likelihood of log-probabilities [N, C, d…] at integer targets [N, d…]. Equivalent to
    /// <c>torch.nn.functional.nll_loss</c>.
    /// </summary>
    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean) =>
        Losses.NllLoss(input, target, weight, ignoreIndex, reduction);

    /// <summary>
    /// Cross-entropy of logits [N, C, d…] (e.g. NCHW) against integer targets [N, d…], with optional class weights; the
    /// mean divides by the summed weight of non-ignored targets. Equivalent to <c>torch.nn.functional.cross_entropy</c>.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, int ignoreIndex = -100,
        Reduction reduction = Reduction.Mean) =>
        Losses.NllLoss(LogSoftmax(input, 1), target, weight, ignoreIndex, reduction);

    /// <summary>
    /// Binary cross-entropy on logits, stable for large |x|: ℓ = (1 − t)·x + (1 + (p − 1)·t)·log(1 + e^−x), times
    /// <paramref name="weight"/>. Equivalent to <c>torch.nn.functional.binary_cross_entropy_with_logits</c>.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null,
        Reduction reduction = Reduction.Mean)
    {
        Check.That(input.Shape == target.Shape, "BinaryCrossEntropyWithLogits", $"input {input.Shape} and target {target.Shape} differ");
        // log(1 + e^−x) = max(−x, 0) + log(e^−max(−x,0) + e^(−x−max(−x,0))), never overflowing.
        var maxVal = (-input).Relu();
        var softplusNeg = maxVal + ((-maxVal).Exp() + (-input - maxVal).Exp()).Log();
        var logWeight = posWeight is null ? null : 1f + (posWeight - 1f) * target;
        var loss = (1f - target) * input + (logWeight is null ? softplusNeg : logWeight * softplusNeg);
        if (weight is not null) loss = loss * weight;
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            _ => loss.Mean(),
        };
    }

    /// <summary>
    /// Smooth-L1 (Huber divided by <paramref name="beta"/>): 0.5·d²/β where |d| &lt; β, |d| − 0.5·β elsewhere, d = input − target;
    /// β = 0 is plain L1. torchvision's detection heads use β = 1/9 with the sum. Equivalent to
    /// <c>torch.nn.functional.smooth_l1_loss</c>.
    /// </summary>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, float beta = 1f)
    {
        Check.That(input.Shape == target.Shape, "SmoothL1Loss", $"input {input.Shape} and target {target.Shape} differ");
        Check.That(beta >= 0, "SmoothL1Loss", $"beta {beta} must not be negative");
        var distance = (input - target).Abs();
        var loss = beta == 0 ? distance : Tensor.Where(distance.Detach().Lt(beta), 0.5f * distance.Square() / beta, distance - 0.5f * beta);
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            _ => loss.Mean(),
        };
    }

    /// <summary>
    /// One-hot encoding of integer class ids: shape [..., numClasses], int64 as torch. Throws naming any id outside
    /// [0, numClasses). Equivalent to <c>torch.nn.functional.one_hot</c>.
    /// </summary>
    public static Tensor OneHot(Tensor labels, int numClasses)
    {
        Check.That(labels.DType != DType.Float32, "OneHot", $"labels must be integers, got {labels.DType.Name()} {labels.Shape}");
        var ids = labels.To(DType.Int64).Detach().Contiguous().Span<long>();
        var result = Tensor.Zeros(new Shape([.. labels.Shape.ToArray(), numClasses]), DType.Int64);
        var data = result.Span<long>();
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= numClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), $"OneHot: class id {ids[i]} at element {i} is outside [0, {numClasses}).");
            data[i * numClasses + (int)ids[i]] = 1;
        }
        return result;
    }

    /// <summary>
    /// Zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1 − p) while
    /// <paramref name="training"/>; identity otherwise. Equivalent to <c>torch.nn.functional.dropout</c>.
    /// </summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Random? random = null) =>
        DropoutWithMask(input, p, training, input.Shape, random);

    /// <summary>
    /// Zeroes whole channels of [N, C, H, W] with probability <paramref name="p"/> while training. Equivalent to
    /// <c>torch.nn.functional.dropout2d</c>.
    /// </summary>
    public static Tensor Dropout2d(Tensor input, double p = 0.5, bool training = true, Random? random = null)
    {
        Check.That(input.Rank == 4, "Dropout2d", $"input must be [N, C, H, W], got {input.Shape}");
        return DropoutWithMask(input, p, training, new Shape(input.Shape[0], input.Shape[1], 1, 1), random);
    }

    private static Tensor DropoutWithMask(Tensor input, double p, bool training, Shape maskShape, Random? random)
    {
        Check.That(p is >= 0 and <= 1, "Dropout", $"probability {p} is outside [0, 1]");
        if (!training || p == 0) return input;
        random ??= Engine.Random;
        var mask = Tensor.Zeros(maskShape);
        var m = mask.Data;
        float keep = p == 1 ? 0f : (float)(1 / (1 - p));
        for (int i = 0; i < m.Length; i++) m[i] = random.NextDouble() >= p ? keep : 0f;
        return input * mask;
    }

    /// <summary>
    /// Pads the last axis by (left, right) or the last two by (left, right, top, bottom). Equivalent to
    /// <c>torch.nn.functional.pad</c> with modes constant, reflect and replicate.
    /// </summary>
    public static Tensor Pad(Tensor input, int[] pads, PadMode mode = PadMode.Constant, float value = 0f)
    {
        var recorder = OpRecorder.Enter();
        var y = Padding.Pad(input, pads, mode, value);
        return recorder is null ? y : recorder.Exit(y, "Pad", [input], ("pads", pads.ToArray()), ("mode", mode), ("value", value));
    }

    /// <summary>Matrix product with broadcast batch axes. Equivalent to <c>torch.matmul</c>.</summary>
    public static Tensor Matmul(Tensor a, Tensor b) => a.Matmul(b);
}
