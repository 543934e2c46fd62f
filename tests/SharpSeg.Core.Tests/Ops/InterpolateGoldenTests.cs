using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// torch.nn.functional.interpolate, bilinear (align_corners false and true) and legacy nearest, by output size and
/// by scale factor (up, down, fractional), against <c>Golden/interpolate.json</c>, printed by PyTorch 1.13 through
/// <c>tools/gen_core_golden.py</c>: output and input gradient. Scale-factor cases pass the factor, not the size,
/// because torch maps coordinates with the factor itself (recompute_scale_factor=None).
/// </summary>
public sealed class InterpolateGoldenTests
{
    private const string FileName = "interpolate.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var p = c.Params;
        Assert.True(p.IsNull("recompute_scale_factor"));
        Assert.False(p.Bool("antialias"));
        var mode = p.String("mode") switch
        {
            "bilinear" => InterpolationMode.Bilinear,
            "nearest" => InterpolationMode.Nearest,
            var other => throw new NotSupportedException($"{c}: no engine mode for '{other}'."),
        };
        var inputs = new GoldenInputs(c);
        var x = inputs.Float("x");

        var y = p.PairOrNull("size") is { } size
            ? Functional.Interpolate(x, size: size, mode: mode, alignCorners: p.BoolOrNull("align_corners"))
            : Functional.Interpolate(x, scaleFactor: p.Double("scale_factor"), mode: mode, alignCorners: p.BoolOrNull("align_corners"));

        GoldenAssert.OutputAndGradients(c, y, inputs);
    }
}
