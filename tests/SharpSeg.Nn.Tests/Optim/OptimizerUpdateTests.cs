using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

/// <summary>Single updates worked out by hand from PyTorch's update rules.</summary>
public class OptimizerUpdateTests
{
    private static Tensor Parameter(params float[] values)
    {
        var p = Tensor.FromArray(values, values.Length);
        p.RequiresGrad = true;
        return p;
    }

    private static void SetGrad(Tensor p, params float[] values) => p.Grad = Tensor.FromArray(values, values.Length);

    private static void AssertValues(float[] expected, Tensor actual, float tolerance = 1e-6f)
    {
        var values = actual.ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(values[i] - expected[i]) <= tolerance, $"[{i}] = {values[i]}, expected {expected[i]}");
    }

    [Fact]
    public void SgdMomentumStartsTheBufferAtTheGradientThenDampensNewGradients()
    {
        var p = Parameter(1f);
        var sgd = new Sgd([p], learningRate: 0.1, momentum: 0.9, dampening: 0.5);
        SetGrad(p, 1f);
        sgd.Step();
        AssertValues([0.9f], p);   // buf = g = 1 (no dampening on the first step)
        SetGrad(p, 2f);
        sgd.Step();
        AssertValues([0.71f], p);  // buf = 0.9·1 + 0.5·2 = 1.9; p = 0.9 − 0.19
    }

    [Fact]
    public void SgdNesterovAddsTheMomentumLookaheadToTheDecayedGradient()
    {
        var p = Parameter(1f);
        var sgd = new Sgd([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.1, nesterov: true);
        SetGrad(p, 1f);
        sgd.Step();
        AssertValues([0.791f], p);  // d = 1 + 0.1·1 = 1.1; buf = 1.1; d = 1.1 + 0.9·1.1 = 2.09; p = 1 − 0.209
    }

    [Fact]
    public void SgdUpdatesTheParameterInPlaceKeepingItsIdentityAndViews()
    {
        var p = Parameter(1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f, 16f, 17f);
        var view = p.Detach();
        var sgd = new Sgd([p], learningRate: 0.5);
        SetGrad(p, Enumerable.Repeat(2f, 17).ToArray());
        sgd.Step();
        var expected = Enumerable.Range(0, 17).Select(i => i + 1 - 1f).ToArray();
        AssertValues(expected, p);
        AssertValues(expected, view);
        Assert.Same(p, sgd.Parameters[0]);
    }

    [Fact]
    public void AdamFirstStepMovesEachParameterByTheLearningRate()
    {
        // m = 0.05, v = 2.5e-4, bias corrections 0.1 and 1e-3: p −= (0.1/0.1)·0.05 / (√2.5e-4/√1e-3 + ε) = 0.05/0.5.
        var p = Parameter(1f, -2f);
        var adam = new Adam([p], learningRate: 0.1);
        SetGrad(p, 0.5f, -3f);
        adam.Step();
        AssertValues([0.9f, -1.9f], p);
    }

    [Fact]
    public void AdamAddsEpsAfterTheSquareRoot()
    {
        // g = ε = 1e-6: denominator = √v̂ + ε = 2e-6, so the step is half the learning rate (ε inside the root would give ~1e-3).
        var p = Parameter(0f);
        var adam = new Adam([p], learningRate: 0.1, eps: 1e-6);
        SetGrad(p, 1e-6f);
        adam.Step();
        AssertValues([-0.05f], p, 1e-6f);
    }

    [Fact]
    public void AmsgradDividesByTheLargestSecondMomentSeen()
    {
        // β = (0.9, 0.5), ε = 0, g = 1 then 0. Step 1: p = −0.1. Step 2: m = 0.09, v = 0.25, v̂ = max(0.5, 0.25) = 0.5;
        // p −= (0.1/0.19)·0.09 / (√0.5/√0.75) = 0.1·0.58014…; without AMSGrad √0.25/√0.75 gives 0.1·0.82045….
        foreach (var (amsgrad, expected) in new[] { (true, -0.1 - 0.1 * 0.5801423075012789), (false, -0.1 - 0.1 * 0.8204451193747312) })
        {
            var p = Parameter(0f);
            var adam = new Adam([p], learningRate: 0.1, beta1: 0.9, beta2: 0.5, eps: 0, amsgrad: amsgrad);
            SetGrad(p, 1f);
            adam.Step();
            SetGrad(p, 0f);
            adam.Step();
            AssertValues([(float)expected], p);
        }
    }

    [Fact]
    public void AdamWDecaysTheParameterWhileAdamDecaysTheGradient()
    {
        // AdamW: p = 1·(1 − 0.1·0.5) = 0.95, then the first Adam step of size lr: 0.85.
        // Adam (L2): g = 0.5 + 0.5·1 = 1, first step still of size lr: 0.9.
        var pw = Parameter(1f);
        var adamw = new AdamW([pw], learningRate: 0.1, weightDecay: 0.5);
        SetGrad(pw, 0.5f);
        adamw.Step();
        AssertValues([0.85f], pw);

        var pl = Parameter(1f);
        var adam = new Adam([pl], learningRate: 0.1, weightDecay: 0.5);
        SetGrad(pl, 0.5f);
        adam.Step();
        AssertValues([0.9f], pl);
    }

    [Fact]
    public void ParametersWithoutGradientAreSkippedAndKeepNoState()
    {
        var a = Parameter(1f);
        var b = Parameter(2f);
        var adam = new Adam([a, b], learningRate: 0.1);
        SetGrad(a, 1f);
        adam.Step();
        adam.Step();
        AssertValues([2f], b);
        Assert.DoesNotContain(adam.StateDict().Tensors.Keys, k => k.StartsWith("state.1.", StringComparison.Ordinal));

        // b's own step count starts now: its first step has bias correction 1 − β1¹ and size lr.
        SetGrad(b, 4f);
        adam.Step();
        AssertValues([1.9f], b);
    }

    [Fact]
    public void GroupsScaleTheLearningRateAndOverrideTheWeightDecay()
    {
        var a = Parameter(1f, 2f);
        var b = Parameter(1f);
        var sgd = new Sgd([new ParameterGroup([a], LearningRateMultiplier: 0.5), new ParameterGroup([b], WeightDecay: 0)],
            learningRate: 0.1, weightDecay: 0.2);
        SetGrad(a, 1f, 1f);
        SetGrad(b, 1f);
        sgd.Step();
        AssertValues([0.94f, 1.93f], a);  // d = 1 + 0.2·p = (1.2, 1.4), lr = 0.05
        AssertValues([0.9f], b);          // no decay, lr = 0.1
    }

    [Fact]
    public void AnAttachedScheduleDrivesTheLearningRate()
    {
        var p = Parameter(1f);
        var sgd = new Sgd([p], learningRate: 123) { Schedule = new StepDecay(0.1, stepSize: 1, gamma: 0.5) };
        for (int i = 0; i < 2; i++)
        {
            SetGrad(p, 1f);
            sgd.Step();
            sgd.Schedule.Step();
        }
        AssertValues([0.85f], p);  // 1 − 0.1 − 0.05
        Assert.Equal(0.025, sgd.LearningRate, 1e-15);
        Assert.Throws<InvalidOperationException>(() => sgd.LearningRate = 0.5);
        sgd.Schedule = null;
        Assert.Equal(123, sgd.LearningRate);
    }

    [Fact]
    public void ZeroGradDropsEveryGradient()
    {
        var a = Parameter(1f);
        var b = Parameter(2f);
        SetGrad(a, 1f);
        SetGrad(b, 1f);
        new Sgd([a, b], 0.1).ZeroGrad();
        Assert.Null(a.Grad);
        Assert.Null(b.Grad);
    }

    [Fact]
    public void BadParametersAndHyperParametersAreRejectedWithTheirPosition()
    {
        var p = Parameter(1f, 2f);
        var e = Assert.Throws<ArgumentException>(() => new Sgd([new ParameterGroup([p]), new ParameterGroup([Parameter(0f), p])], 0.1));
        Assert.Contains("parameter 1 of group 1", e.Message);
        Assert.Contains("already in group 0", e.Message);

        var nonLeaf = p * 2f;
        Assert.Contains("leaf", Assert.Throws<ArgumentException>(() => new Adam([nonLeaf])).Message);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta2: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], learningRate: -1));
    }

    [Fact]
    public void AGradientOfTheWrongShapeIsReportedWithTheParameterIndex()
    {
        var p = Parameter(1f, 2f);
        var sgd = new Sgd([Parameter(0f), p], 0.1);
        p.Grad = Tensor.FromArray([1f, 2f, 3f], 3);
        var e = Assert.Throws<InvalidOperationException>(sgd.Step);
        Assert.Contains("parameter 1", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void A_step_shared_out_over_threads_matches_one_update_per_parameter_in_turn()
    {
        // Enough elements that Step splits the parameters over the engine's threads.
        var random = new Random(3);
        int[] sizes = [300_000, 17, 250_001, 5, 190_000, 64];
        float[] Values(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5) * scale).ToArray();
        var parameters = sizes.Select(n => Parameter(Values(n, 2f))).ToArray();
        var expected = parameters.Select(p => p.ToArray()).ToArray();
        var buffers = sizes.Select(n => new float[n]).ToArray();
        var sgd = new Sgd(parameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4);
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                var gradient = Values(sizes[i], 1f);
                parameters[i].Grad = Tensor.FromArray(gradient, sizes[i]);
                UpdateKernels.Sgd(expected[i], gradient, buffers[i], step == 0, 1e-4f, 0.9f, 1f, false, -0.05f);
            }
            sgd.Step();
        }
        for (int i = 0; i < parameters.Length; i++)
            Assert.Equal(expected[i], parameters[i].ToArray());
    }
}
