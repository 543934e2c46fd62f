using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Max, average and adaptive average pooling over NCHW tensors.</summary>
internal static class Pooling
{
    public static (Tensor Output, Tensor Indices) MaxPool2d(Tensor x, Size2 kernel, Size2? stride, Size2 padding, Size2 dilation, bool ceilMode)
    {
        var g = Geometry("MaxPool2d", x, kernel, stride, padding, dilation, ceilMode);
        var y = NewFloat(new Shape(g.Batch, g.Channels, g.OutH, g.OutW));
        var argmax = new Tensor(Storage.AllocateUninitialized(DType.Int32, y.Numel), y.Shape);
        Kernel.MaxPool2dForward(g, Dense(x).Data, y.Data, argmax.Span<int>());
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new MaxPool2dFn(g, x, argmax));
        return (y, argmax);
    }

    public static Tensor AvgPool2d(Tensor x, Size2 kernel, Size2? stride, Size2 padding, bool ceilMode, bool countIncludePad)
    {
        var g = Geometry("AvgPool2d", x, kernel, stride, padding, 1, ceilMode);
        var y = NewFloat(new Shape(g.Batch, g.Channels, g.OutH, g.OutW));
        Kernel.AvgPool2dForward(g, countIncludePad, Dense(x).Data, y.Data);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new AvgPool2dFn(g, countIncludePad, x));
        return y;
    }

    public static Tensor AdaptiveAvgPool2d(Tensor x, Size2 outputSize)
    {
        Check.Float(x, "AdaptiveAvgPool2d", "input");
        Check.Rank(x, 4, "AdaptiveAvgPool2d", "input");
        Check.That(outputSize.H > 0 && outputSize.W > 0, "AdaptiveAvgPool2d", $"output size {outputSize} must be positive");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var y = NewFloat(new Shape(n, c, outputSize.H, outputSize.W));
        Kernel.AdaptiveAvgPool2dForward(n, c, h, w, outputSize.H, outputSize.W, Dense(x).Data, y.Data);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new AdaptiveAvgPool2dFn(x, outputSize));
        return y;
    }

    private static Pool2dGeometry Geometry(string op, Tensor x, Size2 kernel, Size2? stride, Size2 padding, Size2 dilation, bool ceilMode)
    {
        Check.Float(x, op, "input");
        Check.Rank(x, 4, op, "input");
        var s = stride ?? kernel;
        Check.That(kernel.H > 0 && kernel.W > 0 && s.H > 0 && s.W > 0 && dilation.H > 0 && dilation.W > 0, op,
            $"kernel {kernel}, stride {s} and dilation {dilation} must be positive");
        Check.That(padding.H >= 0 && padding.W >= 0 && padding.H * 2 <= kernel.H && padding.W * 2 <= kernel.W, op,
            $"padding {padding} must be at most half the kernel {kernel}");
        int outH = PoolShape.OutputSize(x.Shape[2], kernel.H, s.H, padding.H, dilation.H, ceilMode);
        int outW = PoolShape.OutputSize(x.Shape[3], kernel.W, s.W, padding.W, dilation.W, ceilMode);
        Check.That(outH > 0 && outW > 0, op, $"input {x.Shape} is too small for kernel {kernel} with padding {padding}");
        return new Pool2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], outH, outW, kernel.H, kernel.W, s.H, s.W,
            padding.H, padding.W, dilation.H, dilation.W);
    }
}

internal sealed class MaxPool2dFn(Pool2dGeometry g, Tensor x, Tensor argmax) : GradFn("MaxPool2d", keepInputs: false, x)
{
    private Tensor? _argmax = argmax;

    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = NewFloat(InputShape(0));
        Kernel.MaxPool2dBackward(g, Dense(grad).Data, _argmax!.Span<int>(), dx.Data);
        return [dx];
    }

    public override void Release()
    {
        base.Release();
        _argmax = null;
    }
}

internal sealed class AvgPool2dFn(Pool2dGeometry g, bool countIncludePad, Tensor x) : GradFn("AvgPool2d", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = NewFloat(InputShape(0));
        Kernel.AvgPool2dBackward(g, countIncludePad, Dense(grad).Data, dx.Data);
        return [dx];
    }
}

internal sealed class AdaptiveAvgPool2dFn(Tensor x, Size2 outputSize) : GradFn("AdaptiveAvgPool2d", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var s = InputShape(0);
        var dx = NewFloat(s);
        Kernel.AdaptiveAvgPool2dBackward(s[0], s[1], s[2], s[3], outputSize.H, outputSize.W, Dense(grad).Data, dx.Data);
        return [dx];
    }
}
