using SharpSeg.Core.Tests.Support;

namespace SharpSeg.Core.Tests.Ops;

/// <summary>
/// Builds a golden case's input tensors with <see cref="Tensor.FromArray(float[], int[])"/> and remembers them, so
/// that <see cref="GoldenAssert.OutputAndGradients"/> can compare every gradient the fixture holds. An input
/// requires grad exactly when the fixture has its gradient (<c>d&lt;name&gt;</c>).
/// </summary>
internal sealed class GoldenInputs(GoldenCase goldenCase)
{
    private readonly Dictionary<string, Tensor> _built = new(StringComparer.Ordinal);

    public GoldenCase Case { get; } = goldenCase;

    /// <summary>The inputs built so far, by fixture name.</summary>
    public IReadOnlyDictionary<string, Tensor> Built => _built;

    /// <summary>A float32 input; a scalar fixture tensor becomes a rank-0 tensor as in torch.</summary>
    public Tensor Float(string name)
    {
        var golden = Case.Tensor(name);
        var tensor = ToTensor(golden);
        tensor.RequiresGrad = Case.HasTensor("d" + name);
        _built.Add(name, tensor);
        return tensor;
    }

    /// <summary>An optional float32 input (bias, class weight), null when the case has none.</summary>
    public Tensor? FloatOrNull(string name) => Case.HasTensor(name) ? Float(name) : null;

    /// <summary>An int64 input (class labels), never differentiable.</summary>
    public Tensor Long(string name)
    {
        var golden = Case.Tensor(name);
        var tensor = Tensor.FromArray(golden.Longs, golden.Shape);
        _built.Add(name, tensor);
        return tensor;
    }

    /// <summary>A bool input (torch.where's condition) as the float 0/1 mask the engine takes.</summary>
    public Tensor Mask(string name)
    {
        var golden = Case.Tensor(name);
        var tensor = Tensor.FromArray(golden.Bools.Select(b => b ? 1f : 0f).ToArray(), golden.Shape);
        _built.Add(name, tensor);
        return tensor;
    }

    /// <summary>A fixture float tensor as an engine tensor of the same shape (rank 0 for scalars).</summary>
    public static Tensor ToTensor(GoldenTensor golden) =>
        golden.IsScalar ? Tensor.Scalar(golden.Scalar) : Tensor.FromArray(golden.Floats, golden.Shape);
}
