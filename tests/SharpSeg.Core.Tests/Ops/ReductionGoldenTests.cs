using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// sum, mean, amax/amin (and torch.max/min with a single dim, whose indices the engine gives through
/// Argmax/Argmin), var and argmax against <c>Golden/reductions.json</c>, printed by PyTorch 1.13 through
/// <c>tools/gen_core_golden.py</c>. <c>dim: null</c> means all axes; without keepdim those cases go through the
/// all-element overloads (<c>Sum()</c>, <c>Mean()</c>, ...).
/// </summary>
public sealed class ReductionGoldenTests
{
    private const string FileName = "reductions.json";
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
        var keepDim = p.Bool("keepdim");

        if (c.Op == "argmax")
        {
            // torch.argmax without dim indexes the flattened tensor.
            var indices = p.IntOrNull("dim") is { } axis ? x.Argmax(axis, keepDim) : x.Argmax();
            Assert.Equal(DType.Int64, indices.DType);
            GoldenAssert.Exact(c, "y", indices);
            return;
        }

        var dims = p.IntsOrNull("dim");
        var all = dims is null && !keepDim;
        var axes = dims ?? Enumerable.Range(0, x.Rank).ToArray();
        var y = c.Op switch
        {
            "sum" => all ? x.Sum() : x.Sum(axes, keepDim),
            "mean" => all ? x.Mean() : x.Mean(axes, keepDim),
            "max" => all ? x.Max() : x.Max(axes, keepDim),
            "min" => all ? x.Min() : x.Min(axes, keepDim),
            "var" => all ? x.Var(p.Bool("unbiased")) : x.Var(axes, p.Bool("unbiased"), keepDim),
            _ => throw new NotSupportedException($"{c}: no engine op mapped for '{c.Op}'."),
        };

        if (c.HasTensor("indices"))
        {
            var indices = c.Op == "max" ? x.Argmax(axes.Single(), keepDim) : x.Argmin(axes.Single(), keepDim);
            GoldenAssert.Exact(c, "indices", indices);
        }
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
