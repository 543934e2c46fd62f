using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Onnx.Tests;

/// <summary>
/// A model that runs the ops the zoo's models leave out, each where its ONNX form is easy to get subtly wrong:
/// ceil-mode and dilated max pooling, average pooling without padding counted, grouped dilated convolution, a
/// transposed convolution with output padding and groups, BatchNorm after an activation (not foldable) and after a conv
/// whose output is also used elsewhere (not foldable), reflect and replicate padding, nearest resizing by a factor and to
/// a size, adaptive pooling to a non-square grid, a linear layer on channels, the remaining activations and arithmetic.
/// </summary>
internal sealed class OpCoverageModel : SegmentationModel
{
    private readonly Conv2d _stem, _grouped, _head;
    private readonly ConvTranspose2d _up;
    private readonly BatchNorm2d _afterRelu, _sharedBn;
    private readonly Linear _channelMix;

    public OpCoverageModel(int numClasses) : base(new ModelOptions(numClasses))
    {
        _stem = Child("stem", new Conv2d(3, 8, 3, padding: 1));
        _sharedBn = Child("shared_bn", new BatchNorm2d(8));
        _afterRelu = Child("after_relu", new BatchNorm2d(8));
        _grouped = Child("grouped", new Conv2d(8, 8, 3, padding: 2, dilation: 2, groups: 4));
        _up = Child("up", new ConvTranspose2d(8, 8, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2));
        _channelMix = Child("channel_mix", new Linear(8, 8));
        _head = Child("head", new Conv2d(24, numClasses, 1));
    }

    public override int SizeDivisor => 8;

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var stem = _stem.Forward(x);
        var normalized = _sharedBn.Forward(stem) + stem * 0.5f;
        var y = _afterRelu.Forward(normalized.Relu());
        y = _grouped.Forward(Functional.Pad(y, [1, 2, 2, 1], PadMode.Reflect));
        y = Functional.Pad(y, [1, 0, 0, 1], PadMode.Replicate).Narrow(2, 0, x.Shape[2]).Narrow(3, 1, x.Shape[3]);
        var pooled = Functional.MaxPool2d(y, 3, stride: 2, padding: 1, ceilMode: true);
        pooled = Functional.AvgPool2d(pooled, 3, stride: 1, padding: 1, countIncludePad: false);
        var dilatedPool = Functional.MaxPool2d(y.Flip(2, 3), 3, stride: 1, padding: 1, dilation: 2);
        var up = _up.Forward(pooled);
        up = Functional.Interpolate(up, size: (x.Shape[2], x.Shape[3]), mode: InterpolationMode.Nearest);

        var gate = _channelMix.Forward(y.Mean([2, 3])).Reshape(y.Shape[0], 8, 1, 1).Sigmoid();
        var activated = (y * gate).LeakyRelu(0.1f) + y.Gelu() * 0.3f - y.Tanh() / 4f + (y.Abs() + 1f).Sqrt().Log() * y.Clamp(-1f, 1f);
        activated = activated + y.Square().Neg().Exp() + y.Hardswish() * y.Hardsigmoid() + y.Silu().Maximum(y.Relu6() - 1f);
        var softened = Functional.Softmax(activated, 1) * 8f;

        var grid = Functional.AdaptiveAvgPool2d(dilatedPool, (3, 2));
        var gridUp = Functional.Interpolate(grid, size: (x.Shape[2], x.Shape[3]), mode: InterpolationMode.Bilinear, alignCorners: true);
        var doubled = Functional.Interpolate(Functional.AvgPool2d(softened, 2), scaleFactor: 2.0, mode: InterpolationMode.Nearest);
        var mixed = Tensor.Cat([up + gridUp, softened - doubled.Pow(2f) / 10f, normalized.Permute(0, 1, 3, 2).Transpose(2, 3)], axis: 1);
        return [_head.Forward(mixed)];
    }
}

/// <summary>A model whose graph has a size only its trace knows (a reshape by height × width): export must refuse it.</summary>
internal sealed class SpatialReshapeModel : SegmentationModel
{
    private readonly Conv2d _head = new(3, 2, 1);

    public SpatialReshapeModel() : base(new ModelOptions(2)) => Child("head", _head);

    public override int SizeDivisor => 1;

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var y = _head.Forward(x);
        var flat = y.Reshape(y.Shape[0], 2, y.Shape[2] * y.Shape[3]);
        return [(flat * 2f).Reshape(y.Shape[0], 2, y.Shape[2], y.Shape[3])];
    }
}

/// <summary>A model using an op the recorder does not see (a round trip through int32): export must refuse rather than freeze its result.</summary>
internal sealed class UnrecordedOpModel : SegmentationModel
{
    private readonly Conv2d _head = new(3, 2, 1);

    public UnrecordedOpModel() : base(new ModelOptions(2)) => Child("head", _head);

    public override int SizeDivisor => 1;

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x) => [_head.Forward(x.To(DType.Int32).To(DType.Float32))];
}
