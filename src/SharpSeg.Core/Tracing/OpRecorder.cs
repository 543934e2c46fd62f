namespace SharpSeg.Tracing;

/// <summary>
/// One op seen while an <see cref="OpRecorder"/> was active: its name, its tensor inputs (null for an absent optional
/// one such as a bias), its output and its non-tensor arguments.
/// </summary>
/// <param name="Op">The op's name, e.g. <c>Conv2d</c>, <c>Add</c>, <c>Interpolate</c>.</param>
/// <param name="Inputs">Tensor arguments in the op's parameter order.</param>
/// <param name="Output">The tensor the op returned.</param>
/// <param name="Attributes">Non-tensor arguments by parameter name (sizes, modes, flags).</param>
public sealed record RecordedOp(string Op, IReadOnlyList<Tensor?> Inputs, Tensor Output, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>
/// Records the ops run on the current thread while active, in execution order: the graph capture behind ONNX export
/// (the role of <c>torch.jit.trace</c> inside <c>torch.onnx.export</c>). Only the outermost op of a nested call is
/// recorded, so a composite such as <c>Mean</c> appears once, not as the <c>Sum</c> and <c>Div</c> it runs. When no
/// recorder is active an op pays one thread-static null check.
/// <code>using var recorder = OpRecorder.Start(); var y = model.Forward(x); var ops = recorder.Ops;</code>
/// </summary>
public sealed class OpRecorder : IDisposable
{
    [ThreadStatic] private static OpRecorder? t_active;

    private readonly List<RecordedOp> _ops = [];
    private readonly OpRecorder? _previous;
    private int _depth;
    private bool _disposed;

    private OpRecorder(OpRecorder? previous) => _previous = previous;

    /// <summary>The ops recorded so far, in the order they ran.</summary>
    public IReadOnlyList<RecordedOp> Ops => _ops;

    /// <summary>Whether a recorder is active on this thread (fused inference paths then run the ops it knows instead).</summary>
    internal static bool IsActive => t_active is not null;

    /// <summary>Starts recording on the current thread until the recorder is disposed (recorders nest; the innermost records).</summary>
    public static OpRecorder Start()
    {
        var recorder = new OpRecorder(t_active);
        t_active = recorder;
        return recorder;
    }

    /// <summary>Stops recording and restores the recorder that was active before, if any.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (ReferenceEquals(t_active, this)) t_active = _previous;
    }

    /// <summary>
    /// Called at an op's entry: null when nothing records (the common case), else the active recorder with the
    /// nesting depth raised so the ops this one runs inside are not recorded as well. Pair with <see cref="Exit"/>.
    /// </summary>
    internal static OpRecorder? Enter()
    {
        var recorder = t_active;
        if (recorder is not null) recorder._depth++;
        return recorder;
    }

    /// <summary>Called with an op's result after <see cref="Enter"/> returned this recorder; records it when outermost.</summary>
    internal Tensor Exit(Tensor output, string op, Tensor?[] inputs, params (string Name, object? Value)[] attributes)
    {
        _depth--;
        if (_depth == 0)
        {
            var attributeMap = new Dictionary<string, object?>(attributes.Length);
            foreach (var (name, value) in attributes) attributeMap[name] = value;
            _ops.Add(new RecordedOp(op, inputs, output, attributeMap));
        }
        return output;
    }
}
