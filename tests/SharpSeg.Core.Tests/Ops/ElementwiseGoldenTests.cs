using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// Activations, unary math and broadcasting binary ops (and <c>torch.where</c>) against <c>Golden/elementwise.json</c>,
/// printed by PyTorch 1.13 through <c>tools/gen_core_golden.py</c>: output and the gradient of every input.
/// </summary>
public sealed class ElementwiseGoldenTests
{
    private const string FileName = "elementwise.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var inputs = new GoldenInputs(c);
        var y = c.HasTensor("x") ? Unary(c, inputs.Float("x")) : Binary(c, inputs);
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }

    private static Tensor Unary(GoldenCase c, Tensor x)
    {
        var p = c.Params;
        switch (c.Op)
        {
            case "relu": return x.Relu();
            case "relu6": return x.Relu6();
            case "leaky_relu": return x.LeakyRelu((float)p.Double("negative_slope"));
            case "sigmoid": return x.Sigmoid();
            case "tanh": return x.Tanh();
            case "hardsigmoid": return x.Hardsigmoid();
            case "hardswish": return x.Hardswish();
            case "gelu":
                Assert.Equal("none", p.String("approximate"));
                return x.Gelu();
            case "silu": return x.Silu();
            case "exp": return x.Exp();
            case "log": return x.Log();
            case "sqrt": return x.Sqrt();
            case "rsqrt": return x.Rsqrt();
            case "pow": return x.Pow((float)p.Double("exponent"));
            case "abs": return x.Abs();
            case "neg": return -x;
            case "clamp": return x.Clamp((float)p.Double("min"), (float)p.Double("max"));
            default: throw new NotSupportedException($"{c}: no engine op mapped for unary '{c.Op}'.");
        }
    }

    private static Tensor Binary(GoldenCase c, GoldenInputs inputs)
    {
        if (c.Op == "where")
        {
            var condition = inputs.Mask("cond");
            return Tensor.Where(condition, inputs.Float("a"), inputs.Float("b"));
        }

        var a = inputs.Float("a");
        var b = inputs.Float("b");
        return c.Op switch
        {
            "add" => a + b,
            "sub" => a - b,
            "mul" => a * b,
            "div" => a / b,
            "pow" => a.Pow(b),
            "maximum" => a.Maximum(b),
            "minimum" => a.Minimum(b),
            _ => throw new NotSupportedException($"{c}: no engine op mapped for binary '{c.Op}'."),
        };
    }
}
