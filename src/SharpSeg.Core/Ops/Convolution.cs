using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>conv2d and conv_transpose2d on the convolution kernels.</summary>
internal static class Convolution
{
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation, int groups)
    {
        const string op = "Conv2d";
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

        var y = NewFloat(new Shape(g.Batch, cout, g.OutH, g.OutW));
        Kernel.Conv2dForward(g, Dense(x).Data, Dense(weight).Data, bias is null ? default : Dense(bias).Data, y.Data);
        FlopCounter.Add(g.Flops);
        if (GradMode.ShouldRecord(x, weight, bias))
            y.AttachGradFn(new Conv2dFn(g, bias is null ? [x, weight] : [x, weight, bias]));
        return y;
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
