using SharpSeg.Core.Tests.Support;
using static SharpSeg.Core.Tests.Support.GradCheck;

namespace SharpSeg.Core.Tests.Autograd;

/// <summary>Finite-difference checks of every differentiable primitive's backward (GradFn).</summary>
public sealed class GradientCheckTests
{
    public static TheoryData<string> UnaryOps => new()
    {
        "Neg", "Abs", "Exp", "Log", "Sqrt", "Rsqrt", "Reciprocal", "Square", "Relu", "Relu6", "Sigmoid", "Tanh",
        "Hardsigmoid", "Hardswish", "Gelu", "Silu", "LeakyRelu", "Clamp",
    };

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary(string op)
    {
        bool positive = op is "Log" or "Sqrt" or "Rsqrt" or "Reciprocal";
        var x = positive
            ? Uniform(1, 0.5f, 2f, 3, 5)
            : AwayFrom(1, -5f, 7f, 0.05f, [0f, 6f, -3f, 3f, -0.5f, 0.8f], 3, 5);
        Func<Tensor, Tensor> f = op switch
        {
            "Neg" => t => t.Neg(),
            "Abs" => t => t.Abs(),
            "Exp" => t => (t * 0.3f).Exp(),
            "Log" => t => t.Log(),
            "Sqrt" => t => t.Sqrt(),
            "Rsqrt" => t => t.Rsqrt(),
            "Reciprocal" => t => t.Reciprocal(),
            "Square" => t => t.Square(),
            "Relu" => t => t.Relu(),
            "Relu6" => t => t.Relu6(),
            "Sigmoid" => t => t.Sigmoid(),
            "Tanh" => t => t.Tanh(),
            "Hardsigmoid" => t => t.Hardsigmoid(),
            "Hardswish" => t => t.Hardswish(),
            "Gelu" => t => t.Gelu(),
            "Silu" => t => t.Silu(),
            "LeakyRelu" => t => t.LeakyRelu(0.1f),
            _ => t => t.Clamp(-0.5f, 0.8f),
        };
        Check(inputs => f(inputs[0]), x);
    }

    [Fact]
    public void Broadcast_arithmetic()
    {
        var a = Uniform(2, -2, 2, 2, 3, 4);
        var b = Uniform(3, 0.5f, 2, 3, 1);
        Check(t => t[0] + t[1], a, b);
        Check(t => t[0] - t[1], Uniform(2, -2, 2, 2, 3, 4), Uniform(3, 0.5f, 2, 3, 1));
        Check(t => t[0] * t[1], Uniform(2, -2, 2, 2, 3, 4), Uniform(3, 0.5f, 2, 3, 1));
        Check(t => t[0] / t[1], Uniform(2, -2, 2, 2, 3, 4), Uniform(3, 0.5f, 2, 3, 1));
        Check(t => t[0] / t[1], Uniform(4, 0.5f, 2, 4), Uniform(5, -2, 2, 2, 1, 4));
    }

    [Fact]
    public void Maximum_minimum_and_where()
    {
        var a = Uniform(6, -2, 2, 3, 4);
        var b = Tensor.FromArray(a.ToArray().Select((v, i) => v + (i % 2 == 0 ? 0.3f : -0.3f)).ToArray(), 3, 4);
        Check(t => t[0].Maximum(t[1]), a, b);
        Check(t => t[0].Minimum(t[1]), Uniform(6, -2, 2, 3, 4), Tensor.FromArray(b.ToArray(), 3, 4));
        var cond = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => (float)(i % 3 == 0 ? 1 : 0)).ToArray(), 3, 4);
        Check(t => Tensor.Where(cond, t[0], t[1]), Uniform(7, -1, 1, 3, 4), Uniform(8, -1, 1, 4));
    }

    [Fact]
    public void Pow_with_tensor_and_scalar_exponents()
    {
        Check(t => t[0].Pow(t[1]), Uniform(9, 0.5f, 2, 2, 3), Uniform(10, -1.5f, 2, 2, 3));
        Check(t => t[0].Pow(2.5f), Uniform(11, 0.5f, 2, 5));
    }

    [Fact]
    public void Movement_ops()
    {
        Check(t => t[0].Reshape(4, 3), Uniform(12, -1, 1, 2, 6));
        Check(t => t[0].Permute(2, 0, 1), Uniform(13, -1, 1, 2, 3, 4));
        Check(t => t[0].Slice(1, 1, 6, 2), Uniform(14, -1, 1, 2, 7));
        Check(t => t[0].Expand(4, 3, 2), Uniform(15, -1, 1, 3, 1));
        Check(t => t[0].Flip(0, 2), Uniform(16, -1, 1, 2, 2, 3));
        Check(t => Tensor.Cat([t[0], t[1]], 1), Uniform(17, -1, 1, 2, 3), Uniform(18, -1, 1, 2, 2));
        Check(t => t[0].Transpose(0, 1).Contiguous(), Uniform(19, -1, 1, 3, 4));
        Check(t => t[0].Clone() * t[0], Uniform(20, -1, 1, 4));
    }

    [Fact]
    public void Reductions()
    {
        Check(t => t[0].Sum([0, 2], keepDim: false), Uniform(21, -1, 1, 2, 3, 4));
        Check(t => t[0].Mean(1, keepDim: true), Uniform(22, -1, 1, 2, 3, 4));
        Check(t => t[0].Var([1], unbiased: true), Uniform(23, -1, 1, 3, 5));
        Check(t => t[0].Max(1), Uniform(24, -1, 1, 3, 5));
        Check(t => t[0].Min([0, 1]), Uniform(25, -1, 1, 3, 5));
    }

    [Fact]
    public void Matmul_plain_transposed_and_batched()
    {
        Check(t => t[0].Matmul(t[1]), Uniform(26, -1, 1, 3, 4), Uniform(27, -1, 1, 4, 2));
        Check(t => t[0].Transpose(0, 1).Matmul(t[1]), Uniform(28, -1, 1, 4, 3), Uniform(29, -1, 1, 4, 2));
        Check(t => t[0].Matmul(t[1]), Uniform(30, -1, 1, 2, 3, 4), Uniform(31, -1, 1, 4, 2));
        Check(t => Functional.Linear(t[0], t[1], t[2]), Uniform(32, -1, 1, 2, 5), Uniform(33, -1, 1, 3, 5), Uniform(34, -1, 1, 3));
    }

    [Fact]
    public void Conv2d_with_stride_padding_dilation_groups_and_bias()
    {
        Check(t => Functional.Conv2d(t[0], t[1], t[2], stride: 2, padding: 1), Uniform(35, -1, 1, 2, 3, 7, 6), Uniform(36, -1, 1, 4, 3, 3, 3), Uniform(37, -1, 1, 4));
        Check(t => Functional.Conv2d(t[0], t[1], dilation: 2, padding: 2, groups: 2), Uniform(38, -1, 1, 1, 4, 6, 5), Uniform(39, -1, 1, 2, 2, 3, 3));
        Check(t => Functional.Conv2d(t[0], t[1], padding: (0, 1), groups: 3), Uniform(40, -1, 1, 1, 3, 4, 5), Uniform(41, -1, 1, 6, 1, 1, 3));
    }

    [Fact]
    public void ConvTranspose2d()
    {
        Check(t => Functional.ConvTranspose2d(t[0], t[1], t[2], stride: 2, padding: 1, outputPadding: 1),
            Uniform(42, -1, 1, 2, 3, 3, 4), Uniform(43, -1, 1, 3, 2, 3, 3), Uniform(44, -1, 1, 2));
        Check(t => Functional.ConvTranspose2d(t[0], t[1], stride: 2, groups: 2, dilation: 2),
            Uniform(45, -1, 1, 1, 4, 3, 3), Uniform(46, -1, 1, 4, 1, 2, 2));
    }

    [Fact]
    public void Pooling()
    {
        Check(t => Functional.MaxPool2d(t[0], 3, stride: 2, padding: 1, ceilMode: true), Distinct(47, 1, 2, 7, 8));
        Check(t => Functional.AvgPool2d(t[0], 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false), Uniform(48, -1, 1, 1, 2, 7, 8));
        Check(t => Functional.AvgPool2d(t[0], 2, padding: 1), Uniform(49, -1, 1, 1, 2, 5, 5));
        Check(t => Functional.AdaptiveAvgPool2d(t[0], (3, 2)), Uniform(50, -1, 1, 1, 2, 7, 5));
    }

    [Fact]
    public void Interpolation()
    {
        Check(t => Functional.Interpolate(t[0], size: (7, 5), mode: InterpolationMode.Bilinear, alignCorners: false), Uniform(51, -1, 1, 1, 2, 4, 3));
        Check(t => Functional.Interpolate(t[0], size: (7, 5), mode: InterpolationMode.Bilinear, alignCorners: true), Uniform(52, -1, 1, 1, 2, 4, 3));
        Check(t => Functional.Interpolate(t[0], size: (2, 3), mode: InterpolationMode.Bilinear), Uniform(53, -1, 1, 1, 2, 5, 7));
        Check(t => Functional.Interpolate(t[0], scaleFactor: 2, mode: InterpolationMode.Nearest), Uniform(54, -1, 1, 1, 2, 3, 3));
    }

    [Fact]
    public void BatchNorm_training_and_evaluation()
    {
        Check(t => Functional.BatchNorm(t[0], null, null, t[1], t[2], training: true), 1e-2f, 3e-3, 3e-2,
            Uniform(55, -2, 2, 2, 3, 3, 2), Uniform(56, 0.5f, 1.5f, 3), Uniform(57, -1, 1, 3));
        var mean = Tensor.FromArray(new float[] { 0.1f, -0.2f, 0.3f });
        var variance = Tensor.FromArray(new float[] { 0.5f, 1.5f, 2f });
        Check(t => Functional.BatchNorm(t[0], mean, variance, t[1], t[2], training: false),
            Uniform(58, -2, 2, 2, 3, 2, 2), Uniform(59, 0.5f, 1.5f, 3), Uniform(60, -1, 1, 3));
    }

    [Fact]
    public void Softmax_family_and_losses()
    {
        Check(t => Functional.Softmax(t[0], 1), Uniform(61, -2, 2, 2, 4, 3));
        Check(t => Functional.LogSoftmax(t[0], -1), Uniform(62, -2, 2, 3, 5));
        var target = Tensor.FromArray(new long[] { 0, 3, 255, 1, 2, 2, 255, 0 }, 2, 2, 2);
        var weight = Tensor.FromArray(new float[] { 0.5f, 1f, 2f, 1.5f });
        Check(t => Functional.CrossEntropy(t[0], target, weight, ignoreIndex: 255), Uniform(63, -2, 2, 2, 4, 2, 2));
        Check(t => Functional.CrossEntropy(t[0], target, null, 255, Reduction.None), Uniform(64, -2, 2, 2, 4, 2, 2));
        var soft = Uniform(65, 0, 1, 2, 3);
        Check(t => Functional.BinaryCrossEntropyWithLogits(t[0], soft, posWeight: Tensor.FromArray(new float[] { 2f, 0.5f, 1f })), Uniform(66, -3, 3, 2, 3));
    }

    [Fact]
    public void Padding_modes()
    {
        Check(t => Functional.Pad(t[0], [1, 2, 2, 0], PadMode.Constant, 0.5f), Uniform(67, -1, 1, 1, 2, 3, 3));
        Check(t => Functional.Pad(t[0], [2, 1, 1, 2], PadMode.Reflect), Uniform(68, -1, 1, 1, 2, 3, 4));
        Check(t => Functional.Pad(t[0], [2, 1, 1, 2], PadMode.Replicate), Uniform(69, -1, 1, 1, 2, 3, 4));
    }

    /// <summary>Values a permutation apart (no ties within a max-pool window, spaced well beyond eps).</summary>
    private static Tensor Distinct(int seed, params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var order = Enumerable.Range(0, n).OrderBy(_ => new Random(seed + _).Next()).ToArray();
        return Tensor.FromArray(order.Select(i => i * 0.1f).ToArray(), shape);
    }
}
