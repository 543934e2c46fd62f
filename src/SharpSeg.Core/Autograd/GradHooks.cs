using SharpSeg.Autograd;

namespace SharpSeg;

public sealed partial class Tensor
{
    private List<Action<Tensor>>? _postAccumulateGradHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to run during every <see cref="Backward"/> that reaches this leaf, as soon as this
    /// leaf's <see cref="Grad"/> is final for that pass: after the last gradient flowing into it has been accumulated, while
    /// the rest of the graph is still being differentiated. It runs once per pass on the backward thread, with recording
    /// disabled; <see cref="Grad"/> may still be null when every path into the leaf carried no gradient. Dispose the result to
    /// remove the hook. Equivalent to <c>torch.Tensor.register_post_accumulate_grad_hook</c> (what DDP's reducer uses to start
    /// a bucket's allreduce early).
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is not a leaf.</exception>
    public IDisposable RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf) throw new InvalidOperationException($"RegisterPostAccumulateGradHook: only a leaf tensor's gradient is accumulated, this one ({Shape}) was computed.");
        (_postAccumulateGradHooks ??= []).Add(hook);
        return new HookRegistration(this, hook);
    }

    internal bool HasPostAccumulateGradHooks => _postAccumulateGradHooks is { Count: > 0 };

    internal void RunPostAccumulateGradHooks()
    {
        if (_postAccumulateGradHooks is not { } hooks) return;
        foreach (var hook in hooks.ToArray()) hook(this);
    }

    private sealed class HookRegistration(Tensor owner, Action<Tensor> hook) : IDisposable
    {
        public void Dispose() => owner._postAccumulateGradHooks?.Remove(hook);
    }
}
