namespace SharpSeg.Autograd;

/// <summary>
/// A differentiable operation defined outside the engine by its forward result and a backward closure, for operations
/// whose gradient is not a composition of primitives (a collective across processes, such as SyncBatchNorm's statistics).
/// Equivalent to subclassing <c>torch.autograd.Function</c> and calling <c>apply</c>.
/// </summary>
public static class CustomFunction
{
    /// <summary>
    /// Records that <paramref name="output"/> (computed without recording from <paramref name="inputs"/>) depends on them,
    /// with <paramref name="backward"/> mapping ∂L/∂output to ∂L/∂input for each input (null where none is needed; each
    /// of an input's shape). Returns <paramref name="output"/>, now part of the graph when recording is on and an input
    /// requires grad; otherwise returned unchanged.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="output"/> already belongs to a graph.</exception>
    public static Tensor Apply(string name, Tensor output, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(backward);
        if (!output.IsLeaf || output.RequiresGrad)
            throw new ArgumentException($"CustomFunction {name}: the output must be computed without recording (under GradMode.NoGrad or from detached inputs).", nameof(output));
        if (GradMode.ShouldRecord(inputs)) output.AttachGradFn(new ClosureFn(name, inputs, backward));
        return output;
    }

    private sealed class ClosureFn(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward) : GradFn(name, keepInputs: false, inputs)
    {
        private Func<Tensor, Tensor?[]>? _backward = backward;

        public override Tensor?[] Backward(Tensor grad)
        {
            var grads = (_backward ?? throw new InvalidOperationException($"{Name}: the graph was already released."))(grad);
            if (grads.Length != InputCount)
                throw new InvalidOperationException($"CustomFunction {Name}: backward returned {grads.Length} gradients for {InputCount} inputs.");
            return grads;
        }

        public override void Release()
        {
            base.Release();
            _backward = null;
        }
    }
}
