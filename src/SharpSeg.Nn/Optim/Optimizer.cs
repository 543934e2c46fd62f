using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpSeg.Nn.Optim;

/// <summary>
/// An optimizer's saved state: per-parameter buffers as named tensors (<c>state.{index}.{buffer}</c>, index counting
/// parameters across groups in order, as PyTorch numbers them) plus a JSON document with the scalars (base learning
/// rate, hyper-parameters, groups, per-parameter step counts). The tensors are copies, safe to keep while training
/// goes on. Equivalent to the dictionary of <c>torch.optim.Optimizer.state_dict()</c>.
/// </summary>
/// <param name="Tensors">Momentum buffers, Adam moments …, keyed <c>state.{index}.{buffer}</c>.</param>
/// <param name="Json">The scalar state.</param>
public sealed record OptimizerState(IReadOnlyDictionary<string, Tensor> Tensors, string Json)
{
    private const string JsonKey = "optimizer_state";

    /// <summary>
    /// Writes the state as one safetensors file (buffers as tensors, the JSON in <c>__metadata__</c>), atomically.
    /// Equivalent to <c>torch.save(optimizer.state_dict(), path)</c>.
    /// </summary>
    public void Save(string path) =>
        Safetensors.Save(path, Tensors, new Dictionary<string, string> { [JsonKey] = Json });

    /// <summary>Reads a file written by <see cref="Save"/>; throws naming the file when it lacks the optimizer metadata.</summary>
    public static OptimizerState Load(string path)
    {
        var content = Safetensors.Read(path);
        if (!content.Metadata.TryGetValue(JsonKey, out var json))
            throw new InvalidDataException($"{path}: not an optimizer state file (no '{JsonKey}' metadata).");
        return new OptimizerState(content.Tensors, json);
    }
}

/// <summary>
/// Updates parameters in place from their gradients, group by group: each group's learning rate is
/// <see cref="LearningRate"/> × its multiplier, its weight decay its own or the optimizer's; parameters whose
/// <see cref="Tensor.Grad"/> is null are skipped and their state left untouched. Equivalent to
/// <c>torch.optim.Optimizer</c> (with PaddleSeg's per-group <c>lr_mult</c>).
/// </summary>
public abstract class Optimizer
{
    private readonly ParameterGroup[] _groups;
    private readonly Tensor[] _parameters;
    private readonly int[] _groupStarts;
    // Parameters updated on different threads must not share memory; distinct leaf tensors normally do not.
    private readonly bool _storagesDistinct;
    private double _learningRate;

    private protected Optimizer(IEnumerable<ParameterGroup> groups, double learningRate, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.ToArray();
        if (_groups.Length == 0) throw new ArgumentException("The optimizer got no parameter groups.", nameof(groups));
        RequireNonNegative(learningRate, "learning rate");
        RequireNonNegative(weightDecay, "weight decay");
        _learningRate = learningRate;
        WeightDecay = weightDecay;

        var parameters = new List<Tensor>();
        var seen = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        _groupStarts = new int[_groups.Length + 1];
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g] ?? throw new ArgumentException($"Parameter group {g} is null.", nameof(groups));
            RequireNonNegative(group.LearningRateMultiplier, $"learning-rate multiplier of group {g}");
            if (group.WeightDecay is { } wd) RequireNonNegative(wd, $"weight decay of group {g}");
            _groupStarts[g] = parameters.Count;
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                var p = group.Parameters[i] ?? throw new ArgumentException($"Parameter {i} of group {g} is null.", nameof(groups));
                string where = $"parameter {i} of group {g} (shape {p.Shape})";
                if (p.DType != DType.Float32) throw new ArgumentException($"The optimizer needs float32 parameters; {where} is {p.DType}.", nameof(groups));
                if (!p.IsLeaf) throw new ArgumentException($"The optimizer needs leaf tensors; {where} is the result of an op.", nameof(groups));
                if (!p.IsContiguous) throw new ArgumentException($"The optimizer updates parameters in place and needs them contiguous; {where} is a strided view.", nameof(groups));
                if (!seen.TryAdd(p, g))
                    throw new ArgumentException($"A parameter appears twice: {where} is already in group {seen[p]}.", nameof(groups));
                parameters.Add(p);
            }
        }
        _groupStarts[^1] = parameters.Count;
        _parameters = [.. parameters];
        _storagesDistinct = !AnyOverlap(_parameters);
    }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParameterGroup> Groups => _groups;

    /// <summary>Every parameter, groups in order; a parameter's position here is its index in the state dict.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The weight decay of groups that set none. Equivalent to the optimizer's <c>weight_decay</c> default.</summary>
    public double WeightDecay { get; }

    /// <summary>
    /// When set, drives <see cref="LearningRate"/>: each <see cref="Step"/> reads the schedule's current rate, and the
    /// caller steps the schedule once per iteration. Equivalent to passing a <c>paddle.optimizer.lr.LRScheduler</c> as
    /// a Paddle optimizer's <c>learning_rate</c>.
    /// </summary>
    public LearningRateSchedule? Schedule { get; set; }

    /// <summary>
    /// The base learning rate: the <see cref="Schedule"/>'s current value when one is attached, else the value set here.
    /// Each group uses this × its multiplier. Equivalent to PyTorch's <c>param_group["lr"]</c> of a group with multiplier 1.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set while a schedule drives the rate.</exception>
    public double LearningRate
    {
        get => Schedule?.LearningRate ?? _learningRate;
        set
        {
            if (Schedule is not null) throw new InvalidOperationException("The learning rate is driven by the attached schedule; detach it (Schedule = null) before setting the rate.");
            RequireNonNegative(value, "learning rate");
            _learningRate = value;
        }
    }

    /// <summary>The optimizer's name in saved state, e.g. <c>SGD</c>.</summary>
    private protected abstract string Name { get; }

    /// <summary>
    /// Performs one update of every parameter that has a gradient. Equivalent to <c>optimizer.step()</c>. Each parameter's
    /// update is elementwise and independent of the others, so the parameters are shared out over
    /// <see cref="Engine.Threads"/> threads in contiguous runs of about equal size without changing any result.
    /// </summary>
    public void Step()
    {
        double baseRate = LearningRate;
        var work = new List<(int Index, Tensor Gradient, double Rate, double WeightDecay)>(_parameters.Length);
        long elements = 0;
        for (int g = 0; g < _groups.Length; g++)
        {
            double rate = baseRate * _groups[g].LearningRateMultiplier;
            double weightDecay = _groups[g].WeightDecay ?? WeightDecay;
            for (int index = _groupStarts[g]; index < _groupStarts[g + 1]; index++)
            {
                var parameter = _parameters[index];
                if (parameter.Grad is not { } grad) continue;
                if (grad.Shape != parameter.Shape || grad.DType != DType.Float32)
                    throw new InvalidOperationException(
                        $"{Name}.Step: parameter {index} (group {g}) has shape {parameter.Shape} but its gradient is {grad.DType} with shape {grad.Shape}.");
                work.Add((index, grad.IsContiguous ? grad : grad.Detach().Contiguous(), rate, weightDecay));
                elements += parameter.Numel;
            }
        }

        void UpdateRun(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                var (index, gradient, rate, weightDecay) = work[i];
                Update(index, _parameters[index].AsSpan(), gradient.AsSpan(), rate, weightDecay);
            }
        }
        // Below this many elements a second thread costs more than it saves.
        const long minimumPerThread = 1 << 18;
        int threads = (int)Math.Clamp(elements / minimumPerThread, 1, Engine.Threads);
        if (threads == 1 || !_storagesDistinct)
        {
            UpdateRun(0, work.Count);
            return;
        }
        var bounds = new int[threads + 1];
        long done = 0;
        for (int i = 0, piece = 1; i < work.Count && piece < threads; i++)
        {
            done += work[i].Gradient.Numel;
            while (piece < threads && done * threads >= elements * piece) bounds[piece++] = i + 1;
        }
        bounds[threads] = work.Count;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, piece => UpdateRun(bounds[piece], bounds[piece + 1]));
    }

    private static bool AnyOverlap(Tensor[] parameters)
    {
        for (int i = 0; i < parameters.Length; i++)
            for (int j = i + 1; j < parameters.Length; j++)
                if (parameters[i].AsSpan().Overlaps(parameters[j].AsSpan())) return true;
        return false;
    }

    /// <summary>Drops every parameter's gradient. Equivalent to <c>optimizer.zero_grad(set_to_none=True)</c>.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Grad = null;
    }

    /// <summary>
    /// A copy of the optimizer's state: buffers as tensors, scalars as JSON. Equivalent to <c>optimizer.state_dict()</c>.
    /// </summary>
    public OptimizerState StateDict()
    {
        var tensors = new Dictionary<string, Tensor>();
        var perParameter = new JsonObject();
        for (int index = 0; index < _parameters.Length; index++)
        {
            int[] shape = _parameters[index].Shape.ToArray();
            foreach (var (name, values) in SavedBuffers(index))
                tensors[$"state.{index}.{name}"] = Tensor.FromArray((float[])values.Clone(), shape);
            if (SavedStep(index) is { } step)
                perParameter[index.ToString(CultureInfo.InvariantCulture)] = new JsonObject { ["step"] = step };
        }

        var groups = new JsonArray();
        for (int g = 0; g < _groups.Length; g++)
        {
            var shapes = new JsonArray();
            for (int index = _groupStarts[g]; index < _groupStarts[g + 1]; index++)
                shapes.Add(new JsonArray(_parameters[index].Shape.ToArray().Select(d => (JsonNode?)d).ToArray()));
            groups.Add(new JsonObject
            {
                ["lr_mult"] = _groups[g].LearningRateMultiplier,
                ["weight_decay"] = _groups[g].WeightDecay,
                ["shapes"] = shapes,
            });
        }

        var root = new JsonObject
        {
            ["optimizer"] = Name,
            ["learning_rate"] = _learningRate,
            ["hyper_parameters"] = HyperParameters(),
            ["param_groups"] = groups,
            ["state"] = perParameter,
        };
        return new OptimizerState(tensors, root.ToJsonString());
    }

    /// <summary>
    /// Restores state saved by <see cref="StateDict"/> of an optimizer of the same kind, hyper-parameters and groups
    /// (same parameter shapes in the same order); the base learning rate is restored too. Everything is checked before
    /// anything changes, so a failed load leaves the optimizer as it was. Equivalent to <c>optimizer.load_state_dict(…)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The state does not belong to this optimizer; the message names the key.</exception>
    public void LoadStateDict(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(state.Json) as JsonObject ?? throw new ArgumentException("Optimizer state JSON is not an object.");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Optimizer state JSON is malformed: {e.Message}", nameof(state), e);
        }

        double learningRate;
        var steps = new long?[_parameters.Length];
        try
        {
            string savedName = Field(root, "optimizer").GetValue<string>();
            if (savedName != Name) throw new ArgumentException($"Optimizer state was saved by {savedName}, not {Name}.", nameof(state));
            learningRate = Field(root, "learning_rate").GetValue<double>();
            RequireNonNegative(learningRate, "saved learning_rate");
            CheckSame(HyperParameters(), Field(root, "hyper_parameters"), "hyper_parameters");
            CheckGroups(Field(root, "param_groups"));

            foreach (var (key, node) in Field(root, "state").AsObject())
            {
                if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= _parameters.Length)
                    throw new ArgumentException($"Optimizer state: 'state.{key}' names no parameter (there are {_parameters.Length}).", nameof(state));
                long step = Field((node ?? throw new ArgumentException($"Optimizer state: 'state.{key}' is null.", nameof(state))).AsObject(), "step").GetValue<long>();
                if (step < 0) throw new ArgumentException($"Optimizer state: 'state.{key}.step' is negative ({step}).", nameof(state));
                steps[index] = step;
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new ArgumentException($"Optimizer state JSON has a field of the wrong type: {e.Message}", nameof(state), e);
        }

        var buffers = new Dictionary<string, float[]>[_parameters.Length];
        for (int i = 0; i < buffers.Length; i++) buffers[i] = [];
        foreach (var (key, tensor) in state.Tensors)
        {
            string[] parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state"
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= _parameters.Length)
                throw new ArgumentException($"Optimizer state: unexpected tensor '{key}' (expected state.<parameter index>.<buffer>).", nameof(state));
            if (tensor is null || tensor.DType != DType.Float32 || tensor.Shape != _parameters[index].Shape)
                throw new ArgumentException(
                    $"Optimizer state: tensor '{key}' is {tensor?.DType.ToString() ?? "null"} {tensor?.Shape.ToString()}, expected float32 {_parameters[index].Shape}.", nameof(state));
            buffers[index][parts[2]] = tensor.ToArray();
        }
        for (int index = 0; index < _parameters.Length; index++)
        {
            string? problem = CheckRestorable(buffers[index], steps[index]);
            if (problem is not null) throw new ArgumentException($"Optimizer state of parameter {index}: {problem}.", nameof(state));
        }

        _learningRate = learningRate;
        for (int index = 0; index < _parameters.Length; index++) Restore(index, buffers[index], steps[index]);
    }

    /// <summary>Applies one update to parameter <paramref name="index"/>.</summary>
    private protected abstract void Update(int index, Span<float> parameter, ReadOnlySpan<float> gradient, double learningRate, double weightDecay);

    /// <summary>The hyper-parameters that saved state must agree on.</summary>
    private protected abstract JsonObject HyperParameters();

    /// <summary>The buffers that exist for parameter <paramref name="index"/>, by name.</summary>
    private protected abstract IEnumerable<(string Name, float[] Values)> SavedBuffers(int index);

    /// <summary>The step count of parameter <paramref name="index"/>, for optimizers that keep one.</summary>
    private protected virtual long? SavedStep(int index) => null;

    /// <summary>Why these buffers and step cannot be restored (unknown or missing buffer), or null when they can.</summary>
    private protected abstract string? CheckRestorable(IReadOnlyDictionary<string, float[]> buffers, long? step);

    /// <summary>Replaces parameter <paramref name="index"/>'s state (buffers already checked).</summary>
    private protected abstract void Restore(int index, IReadOnlyDictionary<string, float[]> buffers, long? step);

    /// <summary>All <paramref name="parameters"/> in one group with the optimizer's learning rate and weight decay.</summary>
    private protected static ParameterGroup[] OneGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return [new ParameterGroup([.. parameters])];
    }

    private protected static void RequireNonNegative(double value, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentOutOfRangeException(what, value, $"The {what} must be finite and ≥ 0, got {value}.");
    }

    private protected static void RequireInRange(double value, double low, double high, string what)
    {
        if (!(value >= low && value < high)) throw new ArgumentOutOfRangeException(what, value, $"The {what} must lie in [{low}, {high}), got {value}.");
    }

    private void CheckGroups(JsonNode savedGroups)
    {
        var groups = savedGroups.AsArray();
        if (groups.Count != _groups.Length)
            throw new ArgumentException($"Optimizer state has {groups.Count} parameter groups, this optimizer has {_groups.Length}.");
        for (int g = 0; g < _groups.Length; g++)
        {
            var saved = groups[g]?.AsObject() ?? throw new ArgumentException($"Optimizer state: param_groups[{g}] is null.");
            var shapes = Field(saved, "shapes").AsArray();
            int count = _groupStarts[g + 1] - _groupStarts[g];
            if (shapes.Count != count)
                throw new ArgumentException($"Optimizer state: param_groups[{g}] has {shapes.Count} parameters, this optimizer's group has {count}.");
            for (int i = 0; i < count; i++)
            {
                var shape = new Shape(shapes[i]!.AsArray().Select(d => d!.GetValue<int>()).ToArray());
                if (shape != _parameters[_groupStarts[g] + i].Shape)
                    throw new ArgumentException($"Optimizer state: param_groups[{g}] parameter {i} has shape {shape}, this optimizer's has {_parameters[_groupStarts[g] + i].Shape}.");
            }
            var current = new JsonObject { ["lr_mult"] = _groups[g].LearningRateMultiplier, ["weight_decay"] = _groups[g].WeightDecay };
            foreach (var (key, value) in current)
                CheckSameValue(value, saved.TryGetPropertyValue(key, out var s) ? s : null, $"param_groups[{g}].{key}");
        }
    }

    private static void CheckSame(JsonObject current, JsonNode saved, string where)
    {
        var savedObject = saved.AsObject();
        foreach (var (key, value) in current)
            CheckSameValue(value, savedObject.TryGetPropertyValue(key, out var s) ? s : null, $"{where}.{key}");
        foreach (var (key, _) in savedObject)
            if (!current.ContainsKey(key)) throw new ArgumentException($"Optimizer state: unexpected '{where}.{key}'.");
    }

    private static void CheckSameValue(JsonNode? current, JsonNode? saved, string where)
    {
        string a = current?.ToJsonString() ?? "null", b = saved?.ToJsonString() ?? "null";
        if (a != b) throw new ArgumentException($"Optimizer state: '{where}' was {b} when saved, this optimizer has {a}.");
    }

    private static JsonNode Field(JsonObject node, string key) =>
        node.TryGetPropertyValue(key, out var value) && value is not null
            ? value
            : throw new ArgumentException($"Optimizer state JSON lacks '{key}'.");
}
