using SharpSeg.Kernels;

namespace SharpSeg.Core.Tests.Kernels;

/// <summary>CpuKernels' elementwise, activation-gradient and reduction kernels against ReferenceKernels.</summary>
public sealed class ElementwiseKernelParityTests
{
    private static readonly IKernels Cpu = CpuKernels.Instance, Reference = ReferenceKernels.Instance;

    private static float[] Values(int n, int seed, float lo = -8f, float hi = 8f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextSingle()).ToArray();
    }

    private static void Close(float[] expected, float[] actual, double tol, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(expected[i]))
            {
                Assert.True(float.IsNaN(actual[i]), $"{what}[{i}]: expected NaN, got {actual[i]}");
                continue;
            }
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: reference {expected[i]}, cpu {actual[i]}");
        }
    }

    public static TheoryData<string, int> UnaryCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            data.Add(op.ToString(), 0); // an empty tensor (e.g. Mask R-CNN with no detections) computes nothing, without throwing
            data.Add(op.ToString(), 37);
            data.Add(op.ToString(), 140_001); // above twice the threading grain, so it runs split
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void Unary_and_its_backward(string name, int n)
    {
        var op = Enum.Parse<UnaryOp>(name);
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;
        var x = Values(n, 1, positive ? 0.1f : -8f, 8f);
        float[] expected = new float[n], actual = new float[n];
        Reference.Unary(op, x, expected);
        Cpu.Unary(op, x, actual);
        Close(expected, actual, 2e-6, op.ToString());

        var dy = Values(n, 2, -1f, 1f);
        float[] dxExpected = new float[n], dxActual = new float[n];
        Reference.UnaryBackward(op, x, expected, dy, dxExpected);
        Cpu.UnaryBackward(op, x, expected, dy, dxActual);
        Close(dxExpected, dxActual, 2e-6, op + " backward");
    }

    public static TheoryData<string, bool, bool> BinaryCases()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            data.Add(op.ToString(), false, false);
            data.Add(op.ToString(), true, false);
            data.Add(op.ToString(), false, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Binary_with_scalar_operands(string name, bool aScalar, bool bScalar)
    {
        var op = Enum.Parse<BinaryOp>(name);
        foreach (int n in new[] { 1, 19, 140_003 })
        {
            var a = Values(aScalar ? 1 : n, 3, op == BinaryOp.Pow ? 0.1f : -4f, 4f);
            var b = Values(bScalar ? 1 : n, 4, -3f, 3f);
            if (op is BinaryOp.Equal or BinaryOp.NotEqual or BinaryOp.LessEqual or BinaryOp.GreaterEqual && !aScalar && !bScalar)
                for (int i = 0; i < n; i += 3) b[i] = a[i]; // exercise ties
            float[] expected = new float[n], actual = new float[n];
            Reference.Binary(op, a, aScalar, b, bScalar, expected);
            Cpu.Binary(op, a, aScalar, b, bScalar, actual);
            Close(expected, actual, 2e-6, $"{op} n={n}");
        }
    }

    [Theory]
    [InlineData("Sum", 1, 1000, 1)]
    [InlineData("Sum", 7, 13, 33)]
    [InlineData("Sum", 300, 17, 31)]
    [InlineData("Max", 5, 9, 1)]
    [InlineData("Max", 3, 11, 70_001)]
    [InlineData("Min", 64, 3, 1025)]
    public void Reduce_and_arg_reduce(string name, int outer, int dim, int inner)
    {
        var op = Enum.Parse<ReduceOp>(name);
        var x = Values(outer * dim * inner, 5);
        float[] expected = new float[outer * inner], actual = new float[outer * inner];
        Reference.Reduce(op, outer, dim, inner, x, expected);
        Cpu.Reduce(op, outer, dim, inner, x, actual);
        Close(expected, actual, 1e-5 * Math.Sqrt(dim) * 8, op.ToString());

        long[] argExpected = new long[outer * inner], argActual = new long[outer * inner];
        Reference.ArgReduce(op != ReduceOp.Min, outer, dim, inner, x, argExpected);
        Cpu.ArgReduce(op != ReduceOp.Min, outer, dim, inner, x, argActual);
        Assert.Equal(argExpected, argActual);
    }

    [Fact]
    public void Reduction_is_bit_identical_across_runs()
    {
        var x = Values(400 * 50 * 9, 6);
        float[] first = new float[400 * 9], second = new float[400 * 9];
        Cpu.Reduce(ReduceOp.Sum, 400, 50, 9, x, first);
        Cpu.Reduce(ReduceOp.Sum, 400, 50, 9, x, second);
        Assert.Equal(first, second);
    }

    [Theory]
    [InlineData("Hardswish")]
    [InlineData("Hardsigmoid")]
    public void Hard_activations_equal_the_scalar_formula_bit_for_bit(string name)
    {
        var op = Enum.Parse<UnaryOp>(name);
        // Edges of the gate (±3), signed zeros, infinities and NaN, then a sweep; 1037 values leave a tail for the scalar loop.
        var x = new float[1037];
        float[] special = [-3f, 3f, -0f, 0f, float.NegativeInfinity, float.PositiveInfinity, float.NaN, -3.0000002f, 2.9999998f, 1e-40f];
        special.CopyTo(x, 0);
        for (int i = special.Length; i < x.Length; i++) x[i] = (i - 520) / 64f + i % 7 * 1e-3f;
        var y = new float[x.Length];
        Cpu.Unary(op, x, y);
        for (int i = 0; i < x.Length; i++)
        {
            float expected = ScalarMath.Unary(op, x[i]);
            if (float.IsNaN(expected) && float.IsNaN(y[i])) continue;
            if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(y[i]))
                Assert.Fail($"{name}({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void Hand_checked_activation_values()
    {
        float[] x = [-4f, -3f, -1f, 0f, 1f, 3f, 7f];
        float[] y = new float[x.Length];
        Cpu.Unary(UnaryOp.Hardswish, x, y);
        Close([0f, 0f, -1f / 3f, 0f, 2f / 3f, 3f, 7f], y, 1e-7, "hardswish");
        Cpu.Unary(UnaryOp.Relu6, x, y);
        Assert.Equal(new[] { 0f, 0f, 0f, 0f, 1f, 3f, 6f }, y);
        Cpu.Unary(UnaryOp.Gelu, [1f], y.AsSpan(0, 1));
        Assert.Equal(0.8413447f, y[0], 6); // 1·Φ(1)
    }
}
