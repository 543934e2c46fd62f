using System.Text.Json.Nodes;

namespace SharpSeg.Nn.Optim;

/// <summary>
/// Adam by PyTorch's rules: with L2 weight decay g = g + wd·p; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
/// p = p − (lr / (1 − β1ᵗ))·m / (√v / √(1 − β2ᵗ) + ε), with v replaced by its running maximum under AMSGrad.
/// The step count t is kept per parameter. Equivalent to <c>torch.optim.Adam</c>.
/// </summary>
public class Adam : Optimizer
{
    private const string ExpAvg = "exp_avg", ExpAvgSq = "exp_avg_sq", MaxExpAvgSq = "max_exp_avg_sq";
    private readonly MomentState?[] _states;

    /// <summary>Adam over one group of parameters. Equivalent to <c>torch.optim.Adam(params, …)</c>.</summary>
    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this(OneGroup(parameters), learningRate, beta1, beta2, eps, weightDecay, amsgrad)
    {
    }

    /// <summary>Adam over parameter groups with their own learning-rate multiplier and weight decay.</summary>
    public Adam(IEnumerable<ParameterGroup> groups, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this(groups, learningRate, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: false)
    {
    }

    private protected Adam(IEnumerable<ParameterGroup> groups, double learningRate, double beta1, double beta2, double eps, double weightDecay,
        bool amsgrad, bool decoupledWeightDecay)
        : base(groups, learningRate, weightDecay)
    {
        RequireInRange(beta1, 0, 1, "beta1");
        RequireInRange(beta2, 0, 1, "beta2");
        RequireNonNegative(eps, "eps");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        Amsgrad = amsgrad;
        DecoupledWeightDecay = decoupledWeightDecay;
        _states = new MomentState?[Parameters.Count];
    }

    /// <summary>Decay of the first-moment (mean) estimate.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment (uncentred variance) estimate.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>Whether the running maximum of the second moment is used (Reddi et al., 2018).</summary>
    public bool Amsgrad { get; }

    /// <summary>True for AdamW: weight decay shrinks the parameter directly instead of adding to the gradient.</summary>
    public bool DecoupledWeightDecay { get; }

    private protected override string Name => "Adam";

    private protected override void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient, double learningRate, double weightDecay)
    {
        var state = _states[index] ??= new MomentState(parameter.Length, Amsgrad);
        state.Step++;

        // Python doubles in torch: the bias corrections and step size are computed in double and rounded once.
        double biasCorrection1 = 1 - Math.Pow(Beta1, state.Step);
        double biasCorrection2 = 1 - Math.Pow(Beta2, state.Step);
        double stepSize = learningRate / biasCorrection1;
        float decoupledScale = DecoupledWeightDecay ? (float)(1 - learningRate * weightDecay) : 1f;
        float l2WeightDecay = DecoupledWeightDecay ? 0f : (float)weightDecay;
        UpdateKernels.Adam(parameter, gradient, state.ExpAvg, state.ExpAvgSq, state.MaxExpAvgSq, decoupledScale, l2WeightDecay,
            (float)Beta1, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2), (float)-stepSize, (float)Math.Sqrt(biasCorrection2), (float)Eps);
    }

    private protected override JsonObject HyperParameters() => new()
    {
        ["beta1"] = Beta1,
        ["beta2"] = Beta2,
        ["eps"] = Eps,
        ["amsgrad"] = Amsgrad,
        ["weight_decay"] = WeightDecay,
    };

    private protected override IEnumerable<(string Name, float[] Values)> SavedBuffers(int index)
    {
        if (_states[index] is not { } state) yield break;
        yield return (ExpAvg, state.ExpAvg);
        yield return (ExpAvgSq, state.ExpAvgSq);
        if (Amsgrad) yield return (MaxExpAvgSq, state.MaxExpAvgSq);
    }

    private protected override long? SavedStep(int index) => _states[index]?.Step;

    private protected override string? CheckRestorable(IReadOnlyDictionary<string, float[]> buffers, long? step)
    {
        string[] expected = Amsgrad ? [ExpAvg, ExpAvgSq, MaxExpAvgSq] : [ExpAvg, ExpAvgSq];
        foreach (var name in buffers.Keys)
            if (!expected.Contains(name)) return $"unknown buffer '{name}' ({Name} keeps {string.Join(", ", expected)})";
        if (step is null) return buffers.Count == 0 ? null : "buffers without a step count";
        foreach (var name in expected)
            if (!buffers.ContainsKey(name)) return $"step {step} but no '{name}' buffer";
        return null;
    }

    private protected override void Restore(int index, IReadOnlyDictionary<string, float[]> buffers, long? step) =>
        _states[index] = step is { } t
            ? new MomentState(buffers[ExpAvg], buffers[ExpAvgSq], Amsgrad ? buffers[MaxExpAvgSq] : []) { Step = t }
            : null;

    private sealed class MomentState(float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq)
    {
        public MomentState(int length, bool amsgrad) : this(new float[length], new float[length], amsgrad ? new float[length] : [])
        {
        }

        public long Step { get; set; }

        public float[] ExpAvg { get; } = expAvg;

        public float[] ExpAvgSq { get; } = expAvgSq;

        public float[] MaxExpAvgSq { get; } = maxExpAvgSq;
    }
}

/// <summary>
/// Adam with decoupled weight decay (Loshchilov and Hutter, 2019): p = p·(1 − lr·wd) before the Adam update, which
/// itself sees the plain gradient. Default weight decay 0.01. Equivalent to <c>torch.optim.AdamW</c>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over one group of parameters. Equivalent to <c>torch.optim.AdamW(params, …)</c>.</summary>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false)
        : this(OneGroup(parameters), learningRate, beta1, beta2, eps, weightDecay, amsgrad)
    {
    }

    /// <summary>AdamW over parameter groups with their own learning-rate multiplier and weight decay.</summary>
    public AdamW(IEnumerable<ParameterGroup> groups, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false)
        : base(groups, learningRate, beta1, beta2, eps, weightDecay, amsgrad, decoupledWeightDecay: true)
    {
    }

    private protected override string Name => "AdamW";
}
