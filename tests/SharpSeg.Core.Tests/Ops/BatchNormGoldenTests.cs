using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// torch.nn.BatchNorm2d in training (batch statistics, running-statistic update, two consecutive steps, a batch of
/// three values per channel) and evaluation, with and without affine parameters, against
/// <c>Golden/batch_norm.json</c>, printed by PyTorch 1.13 through <c>tools/gen_core_golden.py</c>: output, running
/// mean and variance after the call, and the gradients of input, weight and bias.
/// </summary>
public sealed class BatchNormGoldenTests
{
    private const string FileName = "batch_norm.json";
    private static readonly GoldenFile Fixture = GoldenFile.Load(FileName);

    public static TheoryData<string> Cases => GoldenFile.CaseNames(FileName);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName)
    {
        var c = Fixture.Case(caseName);
        var p = c.Params;
        Assert.True(p.Bool("track_running_stats"));
        var training = p.Bool("training");
        var inputs = new GoldenInputs(c);
        var x = inputs.Float("x");
        var weight = inputs.FloatOrNull("weight");
        var bias = inputs.FloatOrNull("bias");
        Assert.Equal(p.Bool("affine"), weight is not null && bias is not null);
        var runningMean = inputs.Float("running_mean");
        var runningVar = inputs.Float("running_var");

        var y = Functional.BatchNorm(x, runningMean, runningVar, weight, bias, training, p.Double("momentum"), p.Double("eps"));

        GoldenAssert.Close(c, "running_mean_after", runningMean);
        GoldenAssert.Close(c, "running_var_after", runningVar);
        GoldenAssert.OutputAndGradients(c, y, inputs);
    }

    // num_batches_tracked is BatchNorm2d's module-level counter; the functional batch norm does not keep it, so
    // the fixture's counter is only checked to document what a module built on it must do.
    [Theory]
    [MemberData(nameof(Cases))]
    public void ModuleCounterAdvancesByOneInTrainingOnly(string caseName)
    {
        var c = Fixture.Case(caseName);
        long before = c.Tensor("num_batches_tracked").Longs.Single();
        long after = c.Tensor("num_batches_tracked_after").Longs.Single();

        Assert.Equal(before + (c.Params.Bool("training") ? 1 : 0), after);
    }
}
