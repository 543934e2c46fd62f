using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

/// <summary>Schedule values at steps worked out by hand from the PaddleSeg / PyTorch formulas.</summary>
public class ScheduleTests
{
    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(5, 0.099 * 0.5358867312681466 + 0.001)]  // (0.1 − 0.001)·(1 − 5/10)^0.9 + 0.001, 0.5^0.9 = 0.53588…
    [InlineData(10, 0.001)]
    [InlineData(15, 0.001)]                               // clamped at decay_steps
    public void PolynomialDecayFallsToTheEndRateAndStaysThere(long step, double expected) =>
        Assert.Equal(expected, new PolynomialDecay(0.1, decaySteps: 10, endLearningRate: 0.001).ValueAt(step), 1e-15);

    [Fact]
    public void PolynomialDecayDefaultsToPaddleXPower09AndEndRate0()
    {
        var schedule = new PolynomialDecay(0.2, decaySteps: 4);
        Assert.Equal(0.2 * 0.5358867312681466, schedule.ValueAt(2), 1e-15);
        Assert.Equal(0, schedule.ValueAt(4));
    }

    [Fact]
    public void CyclicPolynomialDecayStretchesItsPeriod()
    {
        // Step 15 of a 10-step cycle lies in a 20-step period: 0.099·(1 − 15/20)^0.9 + 0.001.
        Assert.Equal(0.029430284286176615, new PolynomialDecay(0.1, 10, 0.001, cycle: true).ValueAt(15), 1e-15);
    }

    [Fact]
    public void LinearWarmupClimbsToTheWrappedRateThenHandsOverShiftedByTheWarmup()
    {
        var schedule = new LinearWarmup(new PolynomialDecay(0.1, decaySteps: 8), warmupSteps: 2, startLearningRate: 0.01);
        Assert.Equal(0.01, schedule.ValueAt(0), 1e-15);
        Assert.Equal(0.055, schedule.ValueAt(1), 1e-15);
        Assert.Equal(0.1, schedule.ValueAt(2), 1e-15);
        Assert.Equal(0.1 * 0.5358867312681466, schedule.ValueAt(6), 1e-15);  // poly at step 4 of 8
        Assert.Equal(0, schedule.ValueAt(10), 1e-15);
    }

    [Fact]
    public void CosineAnnealingFollowsHalfACosine()
    {
        var schedule = new CosineAnnealingDecay(0.1, tMax: 4, etaMin: 0.001);
        Assert.Equal(0.1, schedule.ValueAt(0), 1e-15);
        Assert.Equal(0.0855017856687341, schedule.ValueAt(1), 1e-15);  // 0.001 + 0.099·(1 + cos(π/4))/2
        Assert.Equal(0.0505, schedule.ValueAt(2), 1e-15);
        Assert.Equal(0.001, schedule.ValueAt(4), 1e-15);
    }

    [Fact]
    public void StepAndMultiStepDecayDropAtTheirBoundaries()
    {
        var step = new StepDecay(0.1, stepSize: 3, gamma: 0.5);
        Assert.Equal([0.1, 0.1, 0.05, 0.025], new long[] { 0, 2, 3, 7 }.Select(step.ValueAt), new ToleranceComparer(1e-15));
        var multi = new MultiStepDecay(0.1, [2, 5]);
        Assert.Equal([0.1, 0.01, 0.01, 0.001, 0.001], new long[] { 1, 2, 4, 5, 100 }.Select(multi.ValueAt), new ToleranceComparer(1e-15));
        Assert.Equal(0.3, new ConstantSchedule(0.3).ValueAt(1000));
    }

    [Fact]
    public void StepAdvancesTheCurrentRate()
    {
        var schedule = new StepDecay(1, stepSize: 1, gamma: 0.5);
        Assert.Equal(1, schedule.LearningRate);
        schedule.Step();
        schedule.Step();
        Assert.Equal(2, schedule.StepCount);
        Assert.Equal(0.25, schedule.LearningRate);
    }

    [Fact]
    public void StateJsonRestoresTheStepOfAMatchingSchedule()
    {
        static LearningRateSchedule Make() => new LinearWarmup(new CosineAnnealingDecay(0.1, 100), warmupSteps: 5);
        var schedule = Make();
        for (int i = 0; i < 7; i++) schedule.Step();
        var restored = Make();
        restored.LoadStateJson(schedule.StateJson());
        Assert.Equal(7, restored.StepCount);
        Assert.Equal(schedule.LearningRate, restored.LearningRate);

        var e = Assert.Throws<ArgumentException>(() => new LinearWarmup(new CosineAnnealingDecay(0.1, 50), 5).LoadStateJson(schedule.StateJson()));
        Assert.Contains("T_max", e.Message);
        Assert.Contains("saved by LinearWarmup, not StepDecay",
            Assert.Throws<ArgumentException>(() => new StepDecay(0.1, 3).LoadStateJson(schedule.StateJson())).Message);
    }

    [Fact]
    public void LoadStepCountContinuesAnotherPlanAtTheSavedStep()
    {
        var saved = new PolynomialDecay(0.1, decaySteps: 3);
        for (int i = 0; i < 3; i++) saved.Step();
        var extended = new LinearWarmup(new PolynomialDecay(0.2, decaySteps: 10, power: 0.9), warmupSteps: 2);

        extended.LoadStepCount(saved.StateJson());

        Assert.Equal(3, extended.StepCount);
        // Past the 2 warmup steps, the decay is at its step 1 of 10: 0.2 · (1 − 1/10)^0.9.
        Assert.Equal(0.2 * Math.Pow(0.9, 0.9), extended.LearningRate, 12);
        Assert.Contains("'step' must be a non-negative integer", Assert.Throws<ArgumentException>(() => extended.LoadStepCount("""{"step": -1}""")).Message);
    }

    [Fact]
    public void BadHyperParametersAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0.1, decaySteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingDecay(-0.1, 10));
        Assert.Throws<ArgumentException>(() => new MultiStepDecay(0.1, [5, 5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearWarmup(new ConstantSchedule(0.1), warmupSteps: 0));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
