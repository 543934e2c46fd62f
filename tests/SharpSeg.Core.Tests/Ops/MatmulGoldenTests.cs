using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// torch.matmul (plain, batched and broadcast) and torch.nn.functional.linear against <c>Golden/matmul.json</c>,
/// printed by PyTorch 1.13 through <c>tools/gen_core_golden.py</c>: output and the gradient of every input.
/// </summary>
public sealed class MatmulGoldenTests
{
    private const string FileName = "matmul.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var inputs = new GoldenInputs(c);
        Tensor y;
        if (c.Op == "linear")
        {
            var x = inputs.Float("x");
            var weight = inputs.Float("weight");
            var bias = inputs.FloatOrNull("bias");
            Assert.Equal(c.Params.Bool("bias"), bias is not null);
            Assert.Equal(c.Params.Int("in_features"), weight.Shape[1]);
            Assert.Equal(c.Params.Int("out_features"), weight.Shape[0]);
            y = Functional.Linear(x, weight, bias);
        }
        else
        {
            Assert.Equal("matmul", c.Op);
            y = Functional.Matmul(inputs.Float("a"), inputs.Float("b"));
        }
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
