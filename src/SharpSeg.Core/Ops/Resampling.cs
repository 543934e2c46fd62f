using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Bilinear and nearest resizing of NCHW tensors.</summary>
internal static class Resampling
{
    public static Tensor Interpolate(Tensor x, Size2? size, (double H, double W)? scaleFactor, InterpolationMode mode, bool? alignCorners)
    {
        const string op = "Interpolate";
        Check.Float(x, op, "input");
        Check.Rank(x, 4, op, "input");
        Check.That(size.HasValue != scaleFactor.HasValue, op, "give exactly one of size and scale factor");
        Check.That(mode == InterpolationMode.Bilinear || alignCorners is null, op, "align_corners only applies to bilinear mode");
        int inH = x.Shape[2], inW = x.Shape[3];
        int outH, outW;
        double scaleH = 0, scaleW = 0;
        if (size is { } s)
        {
            (outH, outW) = (s.H, s.W);
        }
        else
        {
            var f = scaleFactor!.Value;
            Check.That(f.H > 0 && f.W > 0, op, $"scale factor ({f.H}, {f.W}) must be positive");
            outH = (int)Math.Floor(inH * f.H);
            outW = (int)Math.Floor(inW * f.W);
            // torch maps coordinates with the user's factor (recompute_scale_factor=None), not with in/out.
            (scaleH, scaleW) = (1.0 / f.H, 1.0 / f.W);
        }
        Check.That(outH > 0 && outW > 0, op, $"output size ({outH}, {outW}) of input {x.Shape} must be positive");
        var geometry = new ResizeGeometry(x.Shape[0] * x.Shape[1], inH, inW, outH, outW, mode, alignCorners ?? false, scaleH, scaleW);
        var y = NewFloat(new Shape(x.Shape[0], x.Shape[1], outH, outW));
        geometry.Forward(Dense(x).Data, y.Data);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new InterpolateFn(geometry, x));
        return y;
    }
}

internal readonly record struct ResizeGeometry(int Planes, int InH, int InW, int OutH, int OutW, InterpolationMode Mode, bool AlignCorners, double ScaleH, double ScaleW)
{
    public void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        if (Mode == InterpolationMode.Bilinear) Kernel.BilinearForward(Planes, InH, InW, OutH, OutW, AlignCorners, ScaleH, ScaleW, x, y);
        else Kernel.NearestForward(Planes, InH, InW, OutH, OutW, ScaleH, ScaleW, x, y);
    }

    public void Backward(ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (Mode == InterpolationMode.Bilinear) Kernel.BilinearBackward(Planes, InH, InW, OutH, OutW, AlignCorners, ScaleH, ScaleW, dy, dx);
        else Kernel.NearestBackward(Planes, InH, InW, OutH, OutW, ScaleH, ScaleW, dy, dx);
    }
}

internal sealed class InterpolateFn(ResizeGeometry g, Tensor x) : GradFn("Interpolate", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = NewFloat(InputShape(0));
        g.Backward(Dense(grad).Data, dx.Data);
        return [dx];
    }
}
