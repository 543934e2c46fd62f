using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// softmax and log_softmax over the channel axis of NCHW and the last axis of a matrix, including logits near 50 ± 30
/// that overflow exp without the max shift, against <c>Golden/softmax.json</c>, printed by PyTorch 1.13 through
/// <c>tools/gen_core_golden.py</c>: output and input gradient.
/// </summary>
public sealed class SoftmaxGoldenTests
{
    private const string FileName = "softmax.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var inputs = new GoldenInputs(c);
        var x = inputs.Float("x");
        var axis = c.Params.Int("dim");

        var y = c.Op switch
        {
            "softmax" => Functional.Softmax(x, axis),
            "log_softmax" => Functional.LogSoftmax(x, axis),
            _ => throw new NotSupportedException($"{c}: no engine op mapped for '{c.Op}'."),
        };

        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
