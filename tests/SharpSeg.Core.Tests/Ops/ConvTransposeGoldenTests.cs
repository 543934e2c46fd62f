using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// torch.nn.functional.conv_transpose2d (stride, padding, output padding, groups, dilation, non-square kernels;
/// weight laid out [Cin, Cout/groups, kh, kw] as in torch) against <c>Golden/conv_transpose2d.json</c>, printed by
/// PyTorch 1.13 through <c>tools/gen_core_golden.py</c>: output and the gradients of input, weight and bias.
/// </summary>
public sealed class ConvTransposeGoldenTests
{
    private const string FileName = "conv_transpose2d.json";
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
        var weight = inputs.Float("weight");
        var bias = inputs.FloatOrNull("bias");
        Assert.Equal(p.Bool("bias"), bias is not null);
        Assert.Equal((p.Int("in_channels"), p.Int("out_channels") / p.Int("groups")), (weight.Shape[0], weight.Shape[1]));
        Assert.Equal(p.Pair("kernel_size"), (weight.Shape[2], weight.Shape[3]));

        var y = Functional.ConvTranspose2d(x, weight, bias, stride: p.Pair("stride"), padding: p.Pair("padding"),
            outputPadding: p.Pair("output_padding"), groups: p.Int("groups"), dilation: p.Pair("dilation"));

        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
