namespace SharpSeg.Autograd;

/// <summary>
/// Where the gradient of one recorded input goes: the node that produced it, or the leaf tensor it accumulates into.
/// An edge keeps the input's shape but not its data, so a node whose backward needs only shapes (add, concatenation,
/// views, pooling by average, interpolation) does not keep its inputs' buffers alive. Equivalent to torch's
/// <c>next_functions</c> entries.
/// </summary>
/// <param name="Producer">The node that computed the input; null for a leaf or a tensor that needs no gradient.</param>
/// <param name="Leaf">The input itself when it is a leaf that requires grad (it receives <c>Grad</c>); else null.</param>
/// <param name="Shape">The input's shape, which its gradient must have.</param>
internal readonly record struct InputEdge(GradFn? Producer, Tensor? Leaf, Shape Shape)
{
    public static InputEdge Of(Tensor input) =>
        new(input.GradFn, input.GradFn is null && input.RequiresGrad ? input : null, input.Shape);

    /// <summary>Whether a gradient is wanted (a leaf's flag is read now: it may have been frozen after the forward).</summary>
    public bool RequiresGrad => Producer is not null || Leaf is { RequiresGrad: true };
}

/// <summary>
/// One recorded application of a differentiable primitive: it keeps the edges to its inputs and whatever tensors its
/// backward needs until <see cref="Backprop"/> has run it, then releases them so activations can be collected.
/// A node keeps its inputs' data only when asked to (<c>keepInputs</c>, the default); nodes that need less save
/// exactly what they need (ReLU its output, addition nothing). Subclasses sit next to their forward op (tinygrad's
/// Function pattern). Equivalent to a torch <c>grad_fn</c> node and its saved tensors.
/// </summary>
internal abstract class GradFn
{
    private InputEdge[]? _edges;
    private Tensor[]? _inputs;

    /// <summary>A node that keeps its inputs for backward.</summary>
    protected GradFn(string name, params Tensor[] inputs) : this(name, true, inputs) { }

    /// <summary>A node that keeps its inputs for backward only when <paramref name="keepInputs"/>; edges and shapes are always kept.</summary>
    protected GradFn(string name, bool keepInputs, params Tensor[] inputs)
    {
        Name = name;
        _edges = new InputEdge[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) _edges[i] = InputEdge.Of(inputs[i]);
        _inputs = keepInputs ? inputs : null;
    }

    public string Name { get; }

    public bool IsReleased => _edges is null;

    /// <summary>Where each input's gradient goes (empty once released).</summary>
    public IReadOnlyList<InputEdge> Edges => _edges ?? [];

    /// <summary>How many inputs were recorded.</summary>
    protected int InputCount => LiveEdges().Length;

    /// <summary>The shape of input <paramref name="index"/>.</summary>
    protected Shape InputShape(int index) => LiveEdges()[index].Shape;

    /// <summary>Whether input <paramref name="index"/> wants a gradient.</summary>
    protected bool InputRequiresGrad(int index) => LiveEdges()[index].RequiresGrad;

    /// <summary>Recorded input <paramref name="index"/>; only for nodes built with <c>keepInputs</c>.</summary>
    protected Tensor Input(int index)
    {
        LiveEdges();
        return (_inputs ?? throw new InvalidOperationException($"{Name} did not keep its inputs for backward."))[index];
    }

    private InputEdge[] LiveEdges() =>
        _edges ?? throw new InvalidOperationException($"{Name}: the graph was already released by an earlier Backward().");

    /// <summary>
    /// Given ∂L/∂output, returns ∂L/∂input for each input (null where the input needs no gradient). Runs with
    /// recording disabled; the returned tensors must have the inputs' shapes.
    /// </summary>
    public abstract Tensor?[] Backward(Tensor grad);

    /// <summary>Drops every reference to saved tensors and edges. Subclasses that save more than their inputs extend it.</summary>
    public virtual void Release()
    {
        _edges = null;
        _inputs = null;
    }
}

/// <summary>Gradient passes through unchanged (contiguous copy, clone).</summary>
internal sealed class IdentityFn(Tensor input) : GradFn("Identity", keepInputs: false, input)
{
    public override Tensor?[] Backward(Tensor grad) => [grad];
}
