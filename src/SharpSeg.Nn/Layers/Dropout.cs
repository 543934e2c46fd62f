namespace SharpSeg.Nn;

/// <summary>Zeroes each element with probability p during training and scales the rest by 1/(1 − p). Equivalent to <c>torch.nn.Dropout</c>.</summary>
public sealed class Dropout : TensorModule
{
    /// <summary>Creates the layer; draws masks from <paramref name="random"/> or <see cref="Engine.Random"/>.</summary>
    public Dropout(double p = 0.5, Random? random = null)
    {
        if (!(p is >= 0 and <= 1)) throw new ArgumentException($"Dropout probability {p} is outside [0, 1].", nameof(p));
        P = p;
        Random = random;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    private Random? Random { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Dropout(x, P, IsTraining, Random);
}

/// <summary>Zeroes whole channels with probability p during training. Equivalent to <c>torch.nn.Dropout2d</c>.</summary>
public sealed class Dropout2d : TensorModule
{
    /// <summary>Creates the layer; draws masks from <paramref name="random"/> or <see cref="Engine.Random"/>.</summary>
    public Dropout2d(double p = 0.5, Random? random = null)
    {
        if (!(p is >= 0 and <= 1)) throw new ArgumentException($"Dropout2d probability {p} is outside [0, 1].", nameof(p));
        P = p;
        Random = random;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    private Random? Random { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Dropout2d(x, P, IsTraining, Random);
}
