using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpSeg.Nn.Optim;

/// <summary>
/// A learning rate as a function of the iteration count, stepped once per iteration. <see cref="StepCount"/> counts
/// completed <see cref="Step"/> calls; the rate for the next update is <see cref="LearningRate"/> =
/// <c>ValueAt(StepCount)</c>. Attach to <see cref="Optimizer.Schedule"/>, or read <see cref="LearningRate"/> yourself.
/// Equivalent to <c>paddle.optimizer.lr.LRScheduler</c> (and <c>torch.optim.lr_scheduler</c>'s closed forms).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>A schedule starting from <paramref name="baseLearningRate"/>.</summary>
    protected LearningRateSchedule(double baseLearningRate)
    {
        if (!(baseLearningRate >= 0) || double.IsInfinity(baseLearningRate))
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), baseLearningRate, "The base learning rate must be finite and ≥ 0.");
        BaseLearningRate = baseLearningRate;
    }

    /// <summary>The learning rate the schedule starts from (PaddleSeg's <c>learning_rate</c>, torch's <c>base_lr</c>).</summary>
    public double BaseLearningRate { get; }

    /// <summary>Number of completed iterations. Equivalent to <c>last_epoch</c> of a per-iteration scheduler.</summary>
    public long StepCount { get; private set; }

    /// <summary>The learning rate of the current iteration. Equivalent to Paddle's <c>scheduler()</c> / torch's <c>get_last_lr()</c>.</summary>
    public double LearningRate => ValueAt(StepCount);

    /// <summary>The name stored in <see cref="StateJson"/>, e.g. <c>PolynomialDecay</c>.</summary>
    protected abstract string Name { get; }

    /// <summary>The learning rate after <paramref name="step"/> completed iterations (a pure function of the step).</summary>
    public abstract double ValueAt(long step);

    /// <summary>Advances one iteration. Equivalent to <c>scheduler.step()</c>.</summary>
    public void Step() => StepCount++;

    /// <summary>The schedule's state (step count, with name and hyper-parameters for checking) as JSON. Equivalent to <c>scheduler.state_dict()</c>.</summary>
    public string StateJson() => new JsonObject
    {
        ["schedule"] = Name,
        ["step"] = StepCount,
        ["hyper_parameters"] = HyperParameters(),
    }.ToJsonString();

    /// <summary>
    /// Restores the step count saved by <see cref="StateJson"/> of a schedule with the same name and hyper-parameters.
    /// Equivalent to <c>scheduler.load_state_dict(…)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed or belongs to a different schedule; the message names the field.</exception>
    public void LoadStateJson(string json)
    {
        var root = ParseState(json);
        string saved = Text(root, "schedule"), current = Name;
        if (saved != current) throw new ArgumentException($"Schedule state was saved by {saved}, not {current}.", nameof(json));
        string savedHyper = root["hyper_parameters"]?.ToJsonString() ?? "null", currentHyper = HyperParameters().ToJsonString();
        if (savedHyper != currentHyper)
            throw new ArgumentException($"Schedule state 'hyper_parameters' was {savedHyper} when saved, this {current} has {currentHyper}.", nameof(json));
        StepCount = SavedStep(root);
    }

    /// <summary>
    /// Restores only the step count saved by <see cref="StateJson"/>, whatever schedule saved it: the rate then continues
    /// on this schedule's curve at the saved step. This is how PaddleX 1.x resumes a run with more epochs or another batch
    /// size (it rebuilds <c>polynomial_decay</c> from the new arguments and continues at the saved global step).
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed or has no non-negative step.</exception>
    public void LoadStepCount(string json) => StepCount = SavedStep(ParseState(json));

    private static JsonObject ParseState(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException("Schedule state JSON is not an object.", nameof(json));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Schedule state JSON is malformed: {e.Message}", nameof(json), e);
        }
    }

    private static long SavedStep(JsonObject root)
    {
        long step = root["step"] is JsonValue v && v.TryGetValue(out long s) ? s : -1;
        return step >= 0
            ? step
            : throw new ArgumentException($"Schedule state 'step' must be a non-negative integer, got {root["step"]?.ToJsonString() ?? "nothing"}.", "json");
    }

    /// <summary>The hyper-parameters saved state must agree on (a nested schedule's included).</summary>
    protected abstract JsonObject HyperParameters();

    /// <summary>The name and hyper-parameters of this schedule, for nesting in a wrapper's hyper-parameters.</summary>
    internal JsonObject Describe() => new() { ["schedule"] = Name, ["hyper_parameters"] = HyperParameters() };

    private protected static void RequirePositive(long value, string what)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(what, value, $"{what} must be > 0, got {value}.");
    }

    private protected static void RequireNonNegative(double value, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(what, value, $"{what} must be finite and ≥ 0, got {value}.");
    }

    private static string Text(JsonObject root, string key) =>
        root[key] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new ArgumentException($"Schedule state JSON lacks the string '{key}'.");
}

/// <summary>The same learning rate at every step. Equivalent to a constant <c>learning_rate</c> in PaddleSeg.</summary>
public sealed class ConstantSchedule(double learningRate) : LearningRateSchedule(learningRate)
{
    /// <inheritdoc />
    protected override string Name => "Constant";

    /// <inheritdoc />
    public override double ValueAt(long step) => BaseLearningRate;

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new() { ["learning_rate"] = BaseLearningRate };
}

/// <summary>
/// Polynomial decay: lr = (base − end)·(1 − t/T)^power + end, t clamped at T = <c>decaySteps</c>; with
/// <c>cycle</c>, T grows to the next multiple of decaySteps instead. Equivalent to
/// <c>paddle.optimizer.lr.PolynomialDecay</c> (PaddleX/PaddleSeg default power 0.9, end_lr 0).
/// </summary>
public sealed class PolynomialDecay : LearningRateSchedule
{
    /// <summary>Decays from <paramref name="baseLearningRate"/> to <paramref name="endLearningRate"/> over <paramref name="decaySteps"/> iterations.</summary>
    public PolynomialDecay(double baseLearningRate, long decaySteps, double endLearningRate = 0, double power = 0.9, bool cycle = false)
        : base(baseLearningRate)
    {
        RequirePositive(decaySteps, nameof(decaySteps));
        RequireNonNegative(endLearningRate, nameof(endLearningRate));
        RequireNonNegative(power, nameof(power));
        DecaySteps = decaySteps;
        EndLearningRate = endLearningRate;
        Power = power;
        Cycle = cycle;
    }

    /// <summary>Iterations over which the rate decays (PaddleSeg: total iterations − warmup iterations).</summary>
    public long DecaySteps { get; }

    /// <summary>The rate reached at <see cref="DecaySteps"/>.</summary>
    public double EndLearningRate { get; }

    /// <summary>The exponent of the decay.</summary>
    public double Power { get; }

    /// <summary>Whether the decay restarts with a longer period after <see cref="DecaySteps"/>.</summary>
    public bool Cycle { get; }

    /// <inheritdoc />
    protected override string Name => "PolynomialDecay";

    /// <inheritdoc />
    public override double ValueAt(long step)
    {
        double t = step, period = DecaySteps;
        if (Cycle)
            period = DecaySteps * Math.Max(1, Math.Ceiling((double)step / DecaySteps));
        else
            t = Math.Min(step, DecaySteps);
        return (BaseLearningRate - EndLearningRate) * Math.Pow(1 - t / period, Power) + EndLearningRate;
    }

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new()
    {
        ["learning_rate"] = BaseLearningRate,
        ["decay_steps"] = DecaySteps,
        ["end_lr"] = EndLearningRate,
        ["power"] = Power,
        ["cycle"] = Cycle,
    };
}

/// <summary>
/// Linear warmup in front of another schedule: for t &lt; W the rate climbs linearly from <c>startLearningRate</c> to
/// the wrapped schedule's first rate, lr = (end − start)·t/W + start; from then on it is the wrapped schedule at t − W
/// (so its decay steps count after warmup, as PaddleSeg sets decay_steps = iters − warmup_iters). Equivalent to
/// <c>paddle.optimizer.lr.LinearWarmup</c> with end_lr = the wrapped schedule's base rate.
/// </summary>
public sealed class LinearWarmup : LearningRateSchedule
{
    /// <summary>Warms up over <paramref name="warmupSteps"/> iterations from <paramref name="startLearningRate"/> into <paramref name="schedule"/>.</summary>
    public LinearWarmup(LearningRateSchedule schedule, long warmupSteps, double startLearningRate = 0)
        : base((schedule ?? throw new ArgumentNullException(nameof(schedule))).BaseLearningRate)
    {
        RequirePositive(warmupSteps, nameof(warmupSteps));
        RequireNonNegative(startLearningRate, nameof(startLearningRate));
        Schedule = schedule;
        WarmupSteps = warmupSteps;
        StartLearningRate = startLearningRate;
    }

    /// <summary>The schedule that takes over after warmup.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>Iterations of warmup.</summary>
    public long WarmupSteps { get; }

    /// <summary>The rate of the first iteration.</summary>
    public double StartLearningRate { get; }

    /// <inheritdoc />
    protected override string Name => "LinearWarmup";

    /// <inheritdoc />
    public override double ValueAt(long step)
    {
        if (step >= WarmupSteps) return Schedule.ValueAt(step - WarmupSteps);
        double end = Schedule.ValueAt(0);
        return (end - StartLearningRate) * step / WarmupSteps + StartLearningRate;
    }

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new()
    {
        ["warmup_steps"] = WarmupSteps,
        ["start_lr"] = StartLearningRate,
        ["schedule"] = Schedule.Describe(),
    };
}

/// <summary>
/// Cosine annealing: lr = η_min + (base − η_min)·(1 + cos(π·t/T_max))/2 (periodic beyond T_max, as the closed form
/// is). Equivalent to <c>torch.optim.lr_scheduler.CosineAnnealingLR</c>'s closed form and
/// <c>paddle.optimizer.lr.CosineAnnealingDecay</c>.
/// </summary>
public sealed class CosineAnnealingDecay : LearningRateSchedule
{
    /// <summary>Anneals from <paramref name="baseLearningRate"/> to <paramref name="etaMin"/> over <paramref name="tMax"/> iterations.</summary>
    public CosineAnnealingDecay(double baseLearningRate, long tMax, double etaMin = 0) : base(baseLearningRate)
    {
        RequirePositive(tMax, nameof(tMax));
        RequireNonNegative(etaMin, nameof(etaMin));
        TMax = tMax;
        EtaMin = etaMin;
    }

    /// <summary>Iterations of the half cosine period.</summary>
    public long TMax { get; }

    /// <summary>The rate reached at <see cref="TMax"/>.</summary>
    public double EtaMin { get; }

    /// <inheritdoc />
    protected override string Name => "CosineAnnealingDecay";

    /// <inheritdoc />
    public override double ValueAt(long step) => EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * step / TMax)) / 2;

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new() { ["learning_rate"] = BaseLearningRate, ["T_max"] = TMax, ["eta_min"] = EtaMin };
}

/// <summary>
/// Step decay: lr = base·γ^⌊t/stepSize⌋. Equivalent to <c>torch.optim.lr_scheduler.StepLR</c> and
/// <c>paddle.optimizer.lr.StepDecay</c>.
/// </summary>
public sealed class StepDecay : LearningRateSchedule
{
    /// <summary>Multiplies the rate by <paramref name="gamma"/> every <paramref name="stepSize"/> iterations.</summary>
    public StepDecay(double baseLearningRate, long stepSize, double gamma = 0.1) : base(baseLearningRate)
    {
        RequirePositive(stepSize, nameof(stepSize));
        RequireNonNegative(gamma, nameof(gamma));
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Iterations between decays.</summary>
    public long StepSize { get; }

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override string Name => "StepDecay";

    /// <inheritdoc />
    public override double ValueAt(long step) => BaseLearningRate * Math.Pow(Gamma, step / StepSize);

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new() { ["learning_rate"] = BaseLearningRate, ["step_size"] = StepSize, ["gamma"] = Gamma };
}

/// <summary>
/// Multi-step decay: lr = base·γ^k with k the number of milestones ≤ t. Equivalent to
/// <c>torch.optim.lr_scheduler.MultiStepLR</c> and <c>paddle.optimizer.lr.MultiStepDecay</c>.
/// </summary>
public sealed class MultiStepDecay : LearningRateSchedule
{
    private readonly long[] _milestones;

    /// <summary>Multiplies the rate by <paramref name="gamma"/> at each of the increasing <paramref name="milestones"/>.</summary>
    public MultiStepDecay(double baseLearningRate, IEnumerable<long> milestones, double gamma = 0.1) : base(baseLearningRate)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = [.. milestones];
        for (int i = 0; i < _milestones.Length; i++)
            if (_milestones[i] < 0 || (i > 0 && _milestones[i] <= _milestones[i - 1]))
                throw new ArgumentException($"Milestones must be non-negative and strictly increasing; milestone {i} is {_milestones[i]}.", nameof(milestones));
        RequireNonNegative(gamma, nameof(gamma));
        Gamma = gamma;
    }

    /// <summary>The iterations at which the rate drops.</summary>
    public IReadOnlyList<long> Milestones => _milestones;

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    protected override string Name => "MultiStepDecay";

    /// <inheritdoc />
    public override double ValueAt(long step)
    {
        int passed = 0;
        while (passed < _milestones.Length && _milestones[passed] <= step) passed++;
        return BaseLearningRate * Math.Pow(Gamma, passed);
    }

    /// <inheritdoc />
    protected override JsonObject HyperParameters() => new()
    {
        ["learning_rate"] = BaseLearningRate,
        ["milestones"] = new JsonArray(_milestones.Select(m => (JsonNode?)m).ToArray()),
        ["gamma"] = Gamma,
    };
}
