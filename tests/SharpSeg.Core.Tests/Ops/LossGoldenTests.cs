using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// cross_entropy (NCHW and [N, C], class weights, ignore_index 255, every reduction) and
/// binary_cross_entropy_with_logits (element weights, pos_weight broadcast over channels, soft targets, every
/// reduction) against <c>Golden/losses.json</c>, printed by PyTorch 1.13 through <c>tools/gen_core_golden.py</c>:
/// loss and logits gradient. The fixture's <c>weight</c>/<c>pos_weight</c> params only say whether a tensor of that
/// name is present.
/// </summary>
public sealed class LossGoldenTests
{
    private const string FileName = "losses.json";
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
        var weight = inputs.FloatOrNull("weight");
        Assert.Equal(p.Bool("weight"), weight is not null);
        var reduction = p.String("reduction") switch
        {
            "mean" => Reduction.Mean,
            "sum" => Reduction.Sum,
            "none" => Reduction.None,
            var other => throw new NotSupportedException($"{c}: no engine reduction '{other}'."),
        };

        Tensor y;
        switch (c.Op)
        {
            case "cross_entropy":
                // The engine has no label smoothing; the fixtures never use it.
                Assert.Equal(0.0, p.Double("label_smoothing"));
                y = Functional.CrossEntropy(x, inputs.Long("target"), weight, p.Int("ignore_index"), reduction);
                break;
            case "binary_cross_entropy_with_logits":
                var posWeight = inputs.FloatOrNull("pos_weight");
                Assert.Equal(p.Bool("pos_weight"), posWeight is not null);
                y = Functional.BinaryCrossEntropyWithLogits(x, inputs.Float("target"), weight, posWeight, reduction);
                break;
            default:
                throw new NotSupportedException($"{c}: no engine op mapped for '{c.Op}'.");
        }
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
