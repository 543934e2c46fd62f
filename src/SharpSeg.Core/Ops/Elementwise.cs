using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;
using SharpSeg.Tracing;

namespace SharpSeg.Ops;

/// <summary>Forward passes of the elementwise primitives and the broadcasting driver.</summary>
internal static class Elementwise
{
    public static Tensor Unary(UnaryOp op, Tensor x)
    {
        var recorder = OpRecorder.Enter();
        Check.Float(x, op.ToString(), "input");
        var input = Dense(x);
        var y = NewFloat(x.Shape);
        Kernel.Unary(op, input.Data, y.Data);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new UnaryFn(op, x, y.Detach()));
        return recorder is null ? y : recorder.Exit(y, op.ToString(), [x]);
    }

    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b, string name)
    {
        var recorder = OpRecorder.Enter();
        var y = Compute(op, a, b, name);
        if (GradMode.ShouldRecord(a, b))
            y.AttachGradFn(op switch
            {
                BinaryOp.Add => new AddFn(a, b),
                BinaryOp.Sub => new SubFn(a, b),
                BinaryOp.Mul => new MulFn(a, b),
                BinaryOp.Div => new DivFn(a, b),
                BinaryOp.Max or BinaryOp.Min => new MaxMinFn(op, a, b),
                _ => new PowFn(a, b, y.Detach()),
            });
        return recorder is null ? y : recorder.Exit(y, op.ToString(), [a, b]);
    }

    public static Tensor Compare(BinaryOp op, Tensor a, Tensor b, string name)
    {
        var recorder = OpRecorder.Enter();
        var y = Compute(op, a, b, name);
        return recorder is null ? y : recorder.Exit(y, op.ToString(), [a, b]);
    }

    public static Tensor LeakyRelu(Tensor x, float slope)
    {
        // max(x, slope·x) is leaky ReLU for slope ≤ 1 and its gradient routes to the larger branch.
        Check.That(slope <= 1f, "LeakyRelu", $"negative slope {slope} > 1 is not supported");
        return x.Maximum(x * slope);
    }

    public static Tensor Clamp(Tensor x, float? min, float? max)
    {
        var recorder = OpRecorder.Enter();
        Check.Float(x, "Clamp", "input");
        var input = Dense(x);
        var y = NewFloat(x.Shape);
        var src = input.Data;
        var dst = y.Data;
        float lo = min ?? float.NegativeInfinity, hi = max ?? float.PositiveInfinity;
        for (int i = 0; i < dst.Length; i++) dst[i] = Math.Min(Math.Max(src[i], lo), hi);
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new ClampFn(x, lo, hi));
        return recorder is null ? y : recorder.Exit(y, "Clamp", [x], ("min", min), ("max", max));
    }

    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        var recorder = OpRecorder.Enter();
        var shape = Shape.Broadcast(Shape.Broadcast(condition.Shape, a.Shape, "Where"), b.Shape, "Where");
        var c = Dense(condition.Detach().To(DType.Float32).Expand(shape));
        var av = Dense(a.Detach().Expand(shape));
        var bv = Dense(b.Detach().Expand(shape));
        var y = NewFloat(shape);
        Span<float> cs = c.Data, aSpan = av.Data, bSpan = bv.Data, dst = y.Data;
        for (int i = 0; i < dst.Length; i++) dst[i] = cs[i] != 0f ? aSpan[i] : bSpan[i];
        if (GradMode.ShouldRecord(a, b)) y.AttachGradFn(new WhereFn(c, a, b));
        return recorder is null ? y : recorder.Exit(y, "Where", [condition, a, b]);
    }

    /// <summary>
    /// Runs a binary kernel over the broadcast of a and b: the output is cut into runs along the innermost
    /// (coalesced) dimension in which each operand is either contiguous or a single repeated value.
    /// </summary>
    public static Tensor Compute(BinaryOp op, Tensor a, Tensor b, string name)
    {
        Check.Float(a, name, "left operand");
        Check.Float(b, name, "right operand");
        var shape = a.Shape == b.Shape ? a.Shape : Shape.Broadcast(a.Shape, b.Shape, name);
        var ad = Dense(a);
        var bd = Dense(b);
        var y = NewFloat(shape);
        if (a.Shape == shape && b.Shape == shape)
        {
            Kernel.Binary(op, ad.Data, false, bd.Data, false, y.Data);
            return y;
        }
        if (b.Numel == 1 && a.Shape == shape)
        {
            Kernel.Binary(op, ad.Data, false, bd.Data, true, y.Data);
            return y;
        }
        if (a.Numel == 1 && b.Shape == shape)
        {
            Kernel.Binary(op, ad.Data, true, bd.Data, false, y.Data);
            return y;
        }

        var (dims, sa, sb) = BroadcastRuns(shape, a.Shape, b.Shape);
        int rank = dims.Length;
        int inner = dims[rank - 1];
        bool aScalar = sa[rank - 1] == 0, bScalar = sb[rank - 1] == 0;
        var index = new int[rank];
        int offA = 0, offB = 0;
        var aData = ad.Data;
        var bData = bd.Data;
        var yData = y.Data;
        for (int written = 0; written < yData.Length; written += inner)
        {
            Kernel.Binary(op, aData.Slice(offA, aScalar ? 1 : inner), aScalar, bData.Slice(offB, bScalar ? 1 : inner), bScalar,
                yData.Slice(written, inner));
            for (int axis = rank - 2; axis >= 0; axis--)
            {
                offA += sa[axis];
                offB += sb[axis];
                if (++index[axis] < dims[axis]) break;
                offA -= sa[axis] * dims[axis];
                offB -= sb[axis] * dims[axis];
                index[axis] = 0;
            }
        }
        return y;
    }

    /// <summary>Output dims with each operand's strides (0 where broadcast), neighbouring dims merged where both allow.</summary>
    private static (int[] Dims, int[] StridesA, int[] StridesB) BroadcastRuns(Shape output, Shape a, Shape b)
    {
        int rank = output.Rank;
        int[] ra = AlignedStrides(a, rank), rb = AlignedStrides(b, rank);
        var dims = new List<int>();
        var sa = new List<int>();
        var sb = new List<int>();
        for (int i = 0; i < rank; i++)
        {
            int d = output[i];
            if (d == 1) continue;
            if (dims.Count > 0 && sa[^1] == ra[i] * d && sb[^1] == rb[i] * d)
            {
                dims[^1] *= d;
                sa[^1] = ra[i];
                sb[^1] = rb[i];
            }
            else
            {
                dims.Add(d);
                sa.Add(ra[i]);
                sb.Add(rb[i]);
            }
        }
        if (dims.Count == 0) return ([1], [0], [0]);
        return ([.. dims], [.. sa], [.. sb]);
    }

    private static int[] AlignedStrides(Shape s, int rank)
    {
        var contiguous = s.ContiguousStrides();
        var strides = new int[rank];
        for (int i = 0; i < s.Rank; i++)
            strides[rank - s.Rank + i] = s[i] == 1 ? 0 : contiguous[i];
        return strides;
    }
}

/// <summary>
/// Backward of an elementwise function, keeping one tensor: the output where the derivative is a function of it
/// (exp, sqrt, sigmoid, tanh …), else the input. ReLU and ReLU6 keep only their output, as PyTorch does: y &gt; 0
/// exactly where x &gt; 0 (and 0 &lt; y &lt; 6 exactly where 0 &lt; x &lt; 6), so the output stands in for the input and
/// the gradient is bit-identical, while the input — usually a batch-norm output nothing else needs — can be freed.
/// </summary>
internal sealed class UnaryFn(UnaryOp op, Tensor x, Tensor y) : GradFn(op.ToString(), keepInputs: false, x)
{
    private Tensor? _saved = KeepsOutput(op) ? y : x;

    private static bool KeepsOutput(UnaryOp op) => op is UnaryOp.Relu or UnaryOp.Relu6 or UnaryOp.Neg or UnaryOp.Exp or UnaryOp.Sqrt
        or UnaryOp.Rsqrt or UnaryOp.Reciprocal or UnaryOp.Sigmoid or UnaryOp.Tanh;

    public override Tensor?[] Backward(Tensor grad)
    {
        var saved = Dense(_saved!).Data;
        var dx = NewFloat(grad.Shape);
        bool outputOnly = KeepsOutput(op);
        // The derivative reads x for ReLU/ReLU6 and the output for the others that keep it.
        ReadOnlySpan<float> x = !outputOnly || op is UnaryOp.Relu or UnaryOp.Relu6 ? saved : default;
        ReadOnlySpan<float> y = outputOnly ? saved : default;
        Kernel.UnaryBackward(op, x, y, Dense(grad).Data, dx.Data);
        return [dx];
    }

    public override void Release()
    {
        base.Release();
        _saved = null;
    }
}

internal sealed class AddFn(Tensor a, Tensor b) : GradFn("Add", keepInputs: false, a, b)
{
    public override Tensor?[] Backward(Tensor grad) => [grad.SumTo(InputShape(0)), grad.SumTo(InputShape(1))];
}

internal sealed class SubFn(Tensor a, Tensor b) : GradFn("Sub", keepInputs: false, a, b)
{
    public override Tensor?[] Backward(Tensor grad) =>
        [grad.SumTo(InputShape(0)), InputRequiresGrad(1) ? (-grad).SumTo(InputShape(1)) : null];
}

/// <summary>Each operand's gradient needs the other operand, so an operand is kept only if the other one wants a gradient (dropout keeps its mask, not its input).</summary>
internal sealed class MulFn(Tensor a, Tensor b) : GradFn("Mul", keepInputs: false, a, b)
{
    private Tensor? _a = b.RequiresGrad ? a : null, _b = a.RequiresGrad ? b : null;

    public override Tensor?[] Backward(Tensor grad) =>
    [
        InputRequiresGrad(0) && _b is not null ? (grad * _b).SumTo(InputShape(0)) : null,
        InputRequiresGrad(1) && _a is not null ? (grad * _a).SumTo(InputShape(1)) : null,
    ];

    public override void Release()
    {
        base.Release();
        _a = _b = null;
    }
}

internal sealed class DivFn(Tensor a, Tensor b) : GradFn("Div", a, b)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var gradA = grad / Input(1);
        return
        [
            Input(0).RequiresGrad ? gradA.SumTo(Input(0).Shape) : null,
            Input(1).RequiresGrad ? (-gradA * Input(0) / Input(1)).SumTo(Input(1).Shape) : null,
        ];
    }
}

/// <summary>torch.maximum / minimum: the gradient goes to the winning operand, half to each on a tie.</summary>
internal sealed class MaxMinFn(BinaryOp op, Tensor a, Tensor b) : GradFn(op == BinaryOp.Max ? "Maximum" : "Minimum", a, b)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var wins = Elementwise.Compute(op == BinaryOp.Max ? BinaryOp.Greater : BinaryOp.Less, Input(0), Input(1), Name);
        var ties = Elementwise.Compute(BinaryOp.Equal, Input(0), Input(1), Name);
        var shareA = wins + ties * 0.5f;
        return
        [
            Input(0).RequiresGrad ? (grad * shareA).SumTo(Input(0).Shape) : null,
            Input(1).RequiresGrad ? (grad * (1f - shareA)).SumTo(Input(1).Shape) : null,
        ];
    }
}

/// <summary>a^b: ∂a = b·a^(b−1), ∂b = a^b·ln a (0 where a = 0 and b ≥ 0, as torch).</summary>
internal sealed class PowFn(Tensor a, Tensor b, Tensor y) : GradFn("Pow", a, b)
{
    private Tensor? _output = y;

    public override Tensor?[] Backward(Tensor grad)
    {
        Tensor a = Input(0), b = Input(1);
        Tensor? gradA = a.RequiresGrad ? (grad * b * a.Pow(b - 1f)).SumTo(a.Shape) : null;
        Tensor? gradB = null;
        if (b.RequiresGrad)
        {
            var safeLog = Tensor.Where(a.Eq(0f), Tensor.Scalar(0f), a.Log());
            gradB = (grad * _output! * safeLog).SumTo(b.Shape);
        }
        return [gradA, gradB];
    }

    public override void Release()
    {
        base.Release();
        _output = null;
    }
}

internal sealed class ClampFn(Tensor x, float min, float max) : GradFn("Clamp", x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var x = Dense(Input(0)).Data;
        var g = Dense(grad).Data;
        var dx = NewFloat(grad.Shape);
        var d = dx.Data;
        for (int i = 0; i < d.Length; i++) d[i] = x[i] >= min && x[i] <= max ? g[i] : 0f;
        return [dx];
    }
}

internal sealed class WhereFn(Tensor condition, Tensor a, Tensor b) : GradFn("Where", a, b)
{
    private Tensor? _condition = condition;

    public override Tensor?[] Backward(Tensor grad)
    {
        var c = _condition!;
        return
        [
            Input(0).RequiresGrad ? (grad * c).SumTo(Input(0).Shape) : null,
            Input(1).RequiresGrad ? (grad * (1f - c)).SumTo(Input(1).Shape) : null,
        ];
    }

    public override void Release()
    {
        base.Release();
        _condition = null;
    }
}
