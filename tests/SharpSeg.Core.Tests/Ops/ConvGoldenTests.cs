using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// torch.nn.functional.conv2d (strides, paddings, dilations, groups, depthwise, 1×1, non-square kernels, with and
/// without bias) against <c>Golden/conv2d.json</c>, printed by PyTorch 1.13 through <c>tools/gen_core_golden.py</c>:
/// output and the gradients of input, weight and bias.
/// </summary>
public sealed class ConvGoldenTests
{
    private const string FileName = "conv2d.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var p = c.Params;
        Assert.Equal("zeros", p.String("padding_mode"));
        var inputs = new GoldenInputs(c);
        var x = inputs.Float("x");
        var weight = inputs.Float("weight");
        var bias = inputs.FloatOrNull("bias");
        Assert.Equal(p.Bool("bias"), bias is not null);
        Assert.Equal((p.Int("out_channels"), p.Int("in_channels") / p.Int("groups")), (weight.Shape[0], weight.Shape[1]));
        Assert.Equal(p.Pair("kernel_size"), (weight.Shape[2], weight.Shape[3]));

        var y = Functional.Conv2d(x, weight, bias, stride: p.Pair("stride"), padding: p.Pair("padding"),
            dilation: p.Pair("dilation"), groups: p.Int("groups"));

        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
