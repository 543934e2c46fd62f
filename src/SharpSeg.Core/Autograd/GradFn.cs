namespace SharpSeg.Autograd;

/// <summary>
/// One recorded application of a differentiable primitive: it keeps the inputs (and whatever else its backward
/// needs) until <see cref="Backprop"/> has run it, then releases them so activations can be collected.
/// Subclasses sit next to their forward op (tinygrad's Function pattern). Equivalent to a torch <c>grad_fn</c> node.
/// </summary>
internal abstract class GradFn(string name, params Tensor[] inputs)
{
    private Tensor[]? _inputs = inputs;

    public string Name { get; } = name;

    public bool IsReleased => _inputs is null;

    /// <summary>The recorded inputs (empty once released).</summary>
    public IReadOnlyList<Tensor> Inputs => _inputs ?? [];

    protected Tensor Input(int index) =>
        (_inputs ?? throw new InvalidOperationException($"{Name}: the graph was already released by an earlier Backward()."))[index];

    /// <summary>
    /// Given ∂L/∂output, returns ∂L/∂input for each input (null where the input needs no gradient). Runs with
    /// recording disabled; the returned tensors must have the inputs' shapes.
    /// </summary>
    public abstract Tensor?[] Backward(Tensor grad);

    /// <summary>Drops every reference to saved tensors. Subclasses that save more than their inputs extend it.</summary>
    public virtual void Release() => _inputs = null;
}

/// <summary>Gradient passes through unchanged (contiguous copy, clone).</summary>
internal sealed class IdentityFn(Tensor input) : GradFn("Identity", input)
{
    public override Tensor?[] Backward(Tensor grad) => [grad];
}
