using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpSeg.Kernels;

internal sealed partial class CpuKernels
{
    // Below this many elements a thread hand-off costs more than the work.
    private const int ElementwiseGrain = 1 << 16;

    public void Unary(UnaryOp op, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length < 2 * ElementwiseGrain || Engine.Threads == 1)
        {
            UnaryRun(op, x, y);
            return;
        }
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                nint xp = (nint)px, yp = (nint)py;
                Parallelism.ForRange(x.Length, ElementwiseGrain, (s, e) =>
                    UnaryRun(op, new ReadOnlySpan<float>((float*)xp + s, (int)(e - s)), new Span<float>((float*)yp + s, (int)(e - s))));
            }
        }
    }

    public void Binary(BinaryOp op, ReadOnlySpan<float> a, bool aScalar, ReadOnlySpan<float> b, bool bScalar, Span<float> y)
    {
        if (y.Length < 2 * ElementwiseGrain || Engine.Threads == 1)
        {
            BinaryRun(op, a, aScalar, b, bScalar, y);
            return;
        }
        unsafe
        {
            fixed (float* pa = a, pb = b, py = y)
            {
                nint ap = (nint)pa, bp = (nint)pb, yp = (nint)py;
                int aLen = a.Length, bLen = b.Length;
                Parallelism.ForRange(y.Length, ElementwiseGrain, (s, e) =>
                {
                    int n = (int)(e - s);
                    var sa = aScalar ? new ReadOnlySpan<float>((float*)ap, aLen) : new ReadOnlySpan<float>((float*)ap + s, n);
                    var sb = bScalar ? new ReadOnlySpan<float>((float*)bp, bLen) : new ReadOnlySpan<float>((float*)bp + s, n);
                    BinaryRun(op, sa, aScalar, sb, bScalar, new Span<float>((float*)yp + s, n));
                });
            }
        }
    }

    private static void UnaryRun(UnaryOp op, ReadOnlySpan<float> x, Span<float> y)
    {
        // TensorPrimitives.Sigmoid (and SoftMax) refuse empty spans; an empty tensor has nothing to compute.
        if (x.IsEmpty) return;
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt:
                TensorPrimitives.Sqrt(x, y);
                TensorPrimitives.Reciprocal(y, y);
                break;
            case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case UnaryOp.Relu6:
                TensorPrimitives.Max(x, 0f, y);
                TensorPrimitives.Min(y, 6f, y);
                break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Hardsigmoid: HardGate(x, y, multiply: false); break;
            case UnaryOp.Hardswish: HardGate(x, y, multiply: true); break;
            default:
                // Activations without a TensorPrimitives counterpart: scalar formulas shared with the reference.
                for (int i = 0; i < x.Length; i++) y[i] = ScalarMath.Unary(op, x[i]);
                break;
        }
    }

    /// <summary>
    /// y = clamp(x / 6 + 0.5, 0, 1) (PyTorch's <c>hardsigmoid</c>), times x when <paramref name="multiply"/>
    /// (<c>hardswish</c>, MobileNetV3's activation). Each step is rounded once in both loops (no contraction into an FMA)
    /// and the vector min/max propagate NaN as <see cref="Math.Clamp(float, float, float)"/> does, so the values are those of
    /// <see cref="ScalarMath.Unary"/> bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void HardGate(ReadOnlySpan<float> x, Span<float> y, bool multiply)
    {
        int i = 0;
        fixed (float* px = x, py = y)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var six = Vector512.Create(6f);
                var half = Vector512.Create(0.5f);
                for (; i + 16 <= x.Length; i += 16)
                {
                    var v = Vector512.Load(px + i);
                    var gate = Vector512.Min(Vector512.Max(v / six + half, Vector512<float>.Zero), Vector512<float>.One);
                    (multiply ? v * gate : gate).Store(py + i);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var six = Vector256.Create(6f);
                var half = Vector256.Create(0.5f);
                for (; i + 8 <= x.Length; i += 8)
                {
                    var v = Vector256.Load(px + i);
                    var gate = Vector256.Min(Vector256.Max(v / six + half, Vector256<float>.Zero), Vector256<float>.One);
                    (multiply ? v * gate : gate).Store(py + i);
                }
            }
        }
        var op = multiply ? UnaryOp.Hardswish : UnaryOp.Hardsigmoid;
        for (; i < x.Length; i++) y[i] = ScalarMath.Unary(op, x[i]);
    }

    private static void BinaryRun(BinaryOp op, ReadOnlySpan<float> a, bool aScalar, ReadOnlySpan<float> b, bool bScalar, Span<float> y)
    {
        if (aScalar && bScalar)
        {
            y.Fill(ScalarMath.Binary(op, a[0], b[0]));
            return;
        }
        if (aScalar)
        {
            float s = a[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(b, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, b, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(b, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(s, b, y); return;
                case BinaryOp.Max: TensorPrimitives.Max(b, s, y); return;
                case BinaryOp.Min: TensorPrimitives.Min(b, s, y); return;
                default:
                    for (int i = 0; i < y.Length; i++) y[i] = ScalarMath.Binary(op, s, b[i]);
                    return;
            }
        }
        if (bScalar)
        {
            float s = b[0];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, s, y); return;
                case BinaryOp.Sub: TensorPrimitives.Subtract(a, s, y); return;
                case BinaryOp.Mul: TensorPrimitives.Multiply(a, s, y); return;
                case BinaryOp.Div: TensorPrimitives.Divide(a, s, y); return;
                case BinaryOp.Max: TensorPrimitives.Max(a, s, y); return;
                case BinaryOp.Min: TensorPrimitives.Min(a, s, y); return;
                default:
                    for (int i = 0; i < y.Length; i++) y[i] = ScalarMath.Binary(op, a[i], s);
                    return;
            }
        }
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); return;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); return;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); return;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); return;
            case BinaryOp.Max: TensorPrimitives.Max(a, b, y); return;
            case BinaryOp.Min: TensorPrimitives.Min(a, b, y); return;
            default:
                for (int i = 0; i < y.Length; i++) y[i] = ScalarMath.Binary(op, a[i], b[i]);
                return;
        }
    }

    public unsafe void AddReluInPlace(Span<float> y, ReadOnlySpan<float> residual)
    {
        if (residual.Length != y.Length)
            throw new ArgumentException($"AddReluInPlace: the residual has {residual.Length} elements, the output {y.Length}.", nameof(residual));
        fixed (float* py = y, pr = residual)
        {
            nint yp = (nint)py, rp = (nint)pr;
            Parallelism.ForRange(y.Length, ElementwiseGrain, (s, e) =>
                Cpu.Epilogue.Apply((float*)yp + s, (float*)rp + s, e - s, 1, (int)(e - s), FusedActivation.Relu));
        }
    }

    public void UnaryBackward(UnaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.Length < 2 * ElementwiseGrain || Engine.Threads == 1)
        {
            UnaryBackwardRun(op, x, y, dy, dx);
            return;
        }
        unsafe
        {
            fixed (float* px = x, py = y, pdy = dy, pdx = dx)
            {
                nint xp = (nint)px, yp = (nint)py, dyp = (nint)pdy, dxp = (nint)pdx;
                bool hasX = !x.IsEmpty, hasY = !y.IsEmpty;
                Parallelism.ForRange(dx.Length, ElementwiseGrain, (s, e) =>
                {
                    int n = (int)(e - s);
                    UnaryBackwardRun(op,
                        hasX ? new ReadOnlySpan<float>((float*)xp + s, n) : default,
                        hasY ? new ReadOnlySpan<float>((float*)yp + s, n) : default,
                        new ReadOnlySpan<float>((float*)dyp + s, n), new Span<float>((float*)dxp + s, n));
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnaryBackwardRun(UnaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0;
        if (op == UnaryOp.Relu && Vector512.IsHardwareAccelerated)
        {
            // The hot one in training: dx = x > 0 ? dy : 0, sixteen lanes at a time.
            ref float rx = ref MemoryMarshal.GetReference(x);
            ref float rdy = ref MemoryMarshal.GetReference(dy);
            ref float rdx = ref MemoryMarshal.GetReference(dx);
            for (; i <= dx.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512<float>.Zero);
                Vector512.BitwiseAnd(mask, Vector512.LoadUnsafe(ref rdy, (nuint)i)).StoreUnsafe(ref rdx, (nuint)i);
            }
        }
        else if (op == UnaryOp.Neg)
        {
            TensorPrimitives.Negate(dy, dx);
            return;
        }
        else if (op == UnaryOp.Exp)
        {
            TensorPrimitives.Multiply(dy, y, dx);
            return;
        }
        for (; i < dx.Length; i++)
            dx[i] = ScalarMath.UnaryDerivative(op, x.IsEmpty ? 0f : x[i], y.IsEmpty ? 0f : y[i], dy[i]);
    }

    public void Reduce(ReduceOp op, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y)
    {
        long rowLength = (long)dim * inner;
        if (outer < 2 || outer * rowLength < 2 * ElementwiseGrain || Engine.Threads == 1)
        {
            for (int o = 0; o < outer; o++)
                ReduceRow(op, dim, inner, x.Slice((int)(o * rowLength), (int)rowLength), y.Slice(o * inner, inner));
            return;
        }
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                nint xp = (nint)px, yp = (nint)py;
                // Each outer row is reduced whole by one thread, so the summation order is fixed.
                Parallelism.ForRange(outer, Math.Max(1, ElementwiseGrain / rowLength), (s, e) =>
                {
                    for (long o = s; o < e; o++)
                        ReduceRow(op, dim, inner, new ReadOnlySpan<float>((float*)xp + o * rowLength, (int)rowLength),
                            new Span<float>((float*)yp + o * inner, inner));
                });
            }
        }
    }

    private static void ReduceRow(ReduceOp op, int dim, int inner, ReadOnlySpan<float> x, Span<float> y)
    {
        if (inner == 1)
        {
            y[0] = op switch
            {
                ReduceOp.Sum => TensorPrimitives.Sum(x),
                ReduceOp.Max => TensorPrimitives.Max(x),
                _ => TensorPrimitives.Min(x),
            };
            return;
        }
        x[..inner].CopyTo(y);
        for (int d = 1; d < dim; d++)
        {
            var row = x.Slice(d * inner, inner);
            switch (op)
            {
                case ReduceOp.Sum: TensorPrimitives.Add(y, row, y); break;
                case ReduceOp.Max: TensorPrimitives.Max(y, row, y); break;
                default: TensorPrimitives.Min(y, row, y); break;
            }
        }
    }

    public void ArgReduce(bool max, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<long> indices) =>
        ReferenceKernels.Instance.ArgReduce(max, outer, dim, inner, x, indices);
}
