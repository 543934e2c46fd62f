using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Batched matrix products on the GEMM kernel.</summary>
internal static class LinearAlgebra
{
    /// <summary>
    /// torch.matmul for operands of rank ≥ 2 (rank-1 operands are promoted and the added axis removed): batch
    /// dimensions broadcast; a transposed view of a contiguous matrix is read in place through the GEMM's trans flag.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b)
    {
        Check.Float(a, "Matmul", "left operand");
        Check.Float(b, "Matmul", "right operand");
        Check.That(a.Rank >= 1 && b.Rank >= 1, "Matmul", $"operands must have rank ≥ 1, got {a.Shape} and {b.Shape}");
        if (a.Rank == 1) return Matmul(a.Unsqueeze(0), b).Squeeze(-2);
        if (b.Rank == 1) return Matmul(a, b.Unsqueeze(1)).Squeeze(-1);

        int m = a.Shape[-2], k = a.Shape[-1], n = b.Shape[-1];
        Check.That(b.Shape[-2] == k, "Matmul", $"inner dimensions differ: {a.Shape} @ {b.Shape}");
        var batchA = new Shape(a.Shape.ToArray()[..^2]);
        var batchB = new Shape(b.Shape.ToArray()[..^2]);
        var batch = Shape.Broadcast(batchA, batchB, "Matmul");
        var outDims = batch.ToArray().Append(m).Append(n).ToArray();
        var y = NewFloat(new Shape(outDims));

        var (aData, transA, lda) = GemmOperand(a.Detach().Expand([.. batch.ToArray(), m, k]), out var aBatchStride);
        var (bData, transB, ldb) = GemmOperand(b.Detach().Expand([.. batch.ToArray(), k, n]), out var bBatchStride);
        int batches = (int)batch.Numel;
        var yData = y.Data;
        for (int i = 0; i < batches; i++)
        {
            var (offA, offB) = (BatchOffset(aBatchStride, batch, i), BatchOffset(bBatchStride, batch, i));
            Kernel.Gemm(transA, transB, m, n, k, aData.AsSpan(offA), lda, bData.AsSpan(offB), ldb, yData.Slice(i * m * n, m * n), n, accumulate: false);
        }
        FlopCounter.Add(2.0 * batch.Numel * m * n * k);
        if (GradMode.ShouldRecord(a, b)) y.AttachGradFn(new MatmulFn(a, b));
        return y;
    }

    /// <summary>
    /// The storage, trans flag and leading dimension under which GEMM reads the last two axes of <paramref name="t"/>,
    /// copying only when those axes are neither row-major nor a transposed row-major matrix.
    /// </summary>
    private static (float[] Data, bool Trans, int Ld) GemmOperand(Tensor t, out (int[] Strides, int Offset) batchStrides)
    {
        int r = t.Rank;
        int rows = t.Shape[-2], cols = t.Shape[-1];
        int sr = t.Strides[r - 2], sc = t.Strides[r - 1];
        if ((sc == 1 || cols == 1) && (sr >= cols || rows == 1))
        {
            batchStrides = (t.Strides[..^2], t.Offset);
            return (t.Storage.Array<float>(), false, rows == 1 ? cols : sr);
        }
        if ((sr == 1 || rows == 1) && (sc >= rows || cols == 1))
        {
            batchStrides = (t.Strides[..^2], t.Offset);
            return (t.Storage.Array<float>(), true, cols == 1 ? rows : sc);
        }
        var dense = t.Contiguous();
        batchStrides = (dense.Strides[..^2], dense.Offset);
        return (dense.Storage.Array<float>(), false, cols);
    }

    private static int BatchOffset((int[] Strides, int Offset) b, Shape batch, int index)
    {
        int offset = b.Offset;
        for (int axis = batch.Rank - 1; axis >= 0; axis--)
        {
            offset += index % batch[axis] * b.Strides[axis];
            index /= batch[axis];
        }
        return offset;
    }

    /// <summary>y = x·Wᵀ + b with W stored [out, in] as torch. Equivalent to <c>torch.nn.functional.linear</c>.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        Check.Rank(weight, 2, "Linear", "weight");
        Check.That(x.Shape[-1] == weight.Shape[1], "Linear", $"input {x.Shape} has {x.Shape[-1]} features but weight {weight.Shape} expects {weight.Shape[1]}");
        var y = Matmul(x, weight.Transpose(0, 1));
        return bias is null ? y : y + bias;
    }
}

internal sealed class MatmulFn(Tensor a, Tensor b) : GradFn("Matmul", a, b)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        Tensor a = Input(0), b = Input(1);
        return
        [
            a.RequiresGrad ? LinearAlgebra.Matmul(grad, b.Transpose(-1, -2)).SumTo(a.Shape) : null,
            b.RequiresGrad ? LinearAlgebra.Matmul(a.Transpose(-1, -2), grad).SumTo(b.Shape) : null,
        ];
    }
}
