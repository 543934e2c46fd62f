using System.Text.Json.Nodes;

namespace SharpSeg.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay, by
/// PyTorch's rules: d = g + wd·p; on the first step the momentum buffer is d itself, afterwards
/// buf = momentum·buf + (1 − dampening)·d; d = d + momentum·buf (Nesterov) or buf; p = p − lr·d.
/// Equivalent to <c>torch.optim.SGD</c>.
/// </summary>
public sealed class Sgd : Optimizer
{
    private const string MomentumBuffer = "momentum_buffer";
    private readonly float[]?[] _momentumBuffers;

    /// <summary>SGD over one group of parameters. Equivalent to <c>torch.optim.SGD(params, …)</c>.</summary>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false)
        : this(OneGroup(parameters), learningRate, momentum, dampening, weightDecay, nesterov)
    {
    }

    /// <summary>SGD over parameter groups with their own learning-rate multiplier and weight decay.</summary>
    public Sgd(IEnumerable<ParameterGroup> groups, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false)
        : base(groups, learningRate, weightDecay)
    {
        RequireNonNegative(momentum, "momentum");
        if (!double.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "The dampening must be finite.");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Nesterov momentum requires momentum > 0 and zero dampening, got momentum {momentum}, dampening {dampening}.");
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        _momentumBuffers = new float[]?[Parameters.Count];
    }

    /// <summary>The momentum factor (0: plain SGD).</summary>
    public double Momentum { get; }

    /// <summary>The dampening applied to the gradient when it enters the momentum buffer.</summary>
    public double Dampening { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    private protected override string Name => "SGD";

    private protected override void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient, double learningRate, double weightDecay)
    {
        bool firstStep = false;
        if (Momentum != 0 && _momentumBuffers[index] is null)
        {
            _momentumBuffers[index] = new float[parameter.Length];
            firstStep = true;
        }
        UpdateKernels.Sgd(parameter, gradient, _momentumBuffers[index], firstStep, (float)weightDecay, (float)Momentum, (float)(1 - Dampening), Nesterov,
            (float)-learningRate);
    }

    private protected override JsonObject HyperParameters() => new()
    {
        ["momentum"] = Momentum,
        ["dampening"] = Dampening,
        ["nesterov"] = Nesterov,
        ["weight_decay"] = WeightDecay,
    };

    private protected override IEnumerable<(string Name, float[] Values)> SavedBuffers(int index)
    {
        if (_momentumBuffers[index] is { } buffer) yield return (MomentumBuffer, buffer);
    }

    private protected override string? CheckRestorable(IReadOnlyDictionary<string, float[]> buffers, long? step)
    {
        if (step is not null) return "SGD keeps no step count";
        if (Momentum == 0 && buffers.Count > 0) return "a momentum buffer for an optimizer without momentum";
        foreach (var name in buffers.Keys)
            if (name != MomentumBuffer) return $"unknown buffer '{name}' (SGD keeps only '{MomentumBuffer}')";
        return null;
    }

    private protected override void Restore(int index, IReadOnlyDictionary<string, float[]> buffers, long? step) =>
        _momentumBuffers[index] = buffers.GetValueOrDefault(MomentumBuffer);
}
