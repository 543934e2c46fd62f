using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// max_pool2d (with its indices), avg_pool2d (ceil mode, count_include_pad, windows that ceil mode drops) and
/// adaptive_avg_pool2d (down- and up-sizing) against <c>Golden/pooling.json</c>, printed by PyTorch 1.13 through
/// <c>tools/gen_core_golden.py</c>: output, indices (exactly) and the input gradient.
/// </summary>
public sealed class PoolingGoldenTests
{
    private const string FileName = "pooling.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var p = c.Params;
        var inputs = new GoldenInputs(c);
        var x = inputs.Float("x");
        Tensor y;
        switch (c.Op)
        {
            case "max_pool2d":
                Assert.True(p.Bool("return_indices"));
                (y, var indices) = Functional.MaxPool2dWithIndices(x, p.Pair("kernel_size"), p.Pair("stride"), p.Pair("padding"),
                    p.Pair("dilation"), p.Bool("ceil_mode"));
                Assert.Equal(DType.Int64, indices.DType);
                GoldenAssert.Exact(c, "indices", indices);
                break;
            case "avg_pool2d":
                // The engine has no divisor_override; the fixtures never set it.
                Assert.True(p.IsNull("divisor_override"));
                y = Functional.AvgPool2d(x, p.Pair("kernel_size"), p.Pair("stride"), p.Pair("padding"), p.Bool("ceil_mode"),
                    p.Bool("count_include_pad"));
                break;
            case "adaptive_avg_pool2d":
                y = Functional.AdaptiveAvgPool2d(x, p.Pair("output_size"));
                break;
            default:
                throw new NotSupportedException($"{c}: no engine op mapped for '{c.Op}'.");
        }
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
