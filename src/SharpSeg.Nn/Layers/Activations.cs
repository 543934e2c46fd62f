namespace SharpSeg.Nn;

/// <summary>max(x, 0). Equivalent to <c>torch.nn.ReLU</c>.</summary>
public sealed class Relu : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Relu();
}

/// <summary>min(max(x, 0), 6). Equivalent to <c>torch.nn.ReLU6</c>.</summary>
public sealed class Relu6 : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Relu6();
}

/// <summary>x for x ≥ 0, slope·x otherwise (default slope 0.01). Equivalent to <c>torch.nn.LeakyReLU</c>.</summary>
public sealed class LeakyRelu(float negativeSlope = 0.01f) : TensorModule
{
    /// <summary>The slope for negative inputs.</summary>
    public float NegativeSlope { get; } = negativeSlope;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.LeakyRelu(NegativeSlope);
}

/// <summary>1 / (1 + e^−x). Equivalent to <c>torch.nn.Sigmoid</c>.</summary>
public sealed class Sigmoid : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>Hyperbolic tangent. Equivalent to <c>torch.nn.Tanh</c>.</summary>
public sealed class Tanh : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Tanh();
}

/// <summary>relu6(x + 3) / 6. Equivalent to <c>torch.nn.Hardsigmoid</c>.</summary>
public sealed class Hardsigmoid : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Hardsigmoid();
}

/// <summary>x · relu6(x + 3) / 6. Equivalent to <c>torch.nn.Hardswish</c>.</summary>
public sealed class Hardswish : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Hardswish();
}

/// <summary>x · Φ(x) with the exact normal CDF. Equivalent to <c>torch.nn.GELU(approximate="none")</c>.</summary>
public sealed class Gelu : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Gelu();
}

/// <summary>x · sigmoid(x) (swish). Equivalent to <c>torch.nn.SiLU</c>.</summary>
public sealed class Silu : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Silu();
}

/// <summary>Returns its input unchanged (a placeholder where an architecture has an optional layer). Equivalent to <c>torch.nn.Identity</c>.</summary>
public sealed class Identity : TensorModule
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x;
}

/// <summary>Flattens dimensions <c>startDim</c>…<c>endDim</c> (default 1…−1, keeping the batch). Equivalent to <c>torch.nn.Flatten</c>.</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : TensorModule
{
    /// <summary>First flattened dimension.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>Last flattened dimension (negative counts from the end).</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x.Flatten(StartDim, EndDim);
}
