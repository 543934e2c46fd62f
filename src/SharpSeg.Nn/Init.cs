namespace SharpSeg.Nn;

/// <summary>Which fan scales a Kaiming initialisation. Equivalent to torch's <c>mode="fan_in" | "fan_out"</c>.</summary>
public enum FanMode
{
    /// <summary>Preserves the variance of activations in the forward pass.</summary>
    FanIn,
    /// <summary>Preserves the variance of gradients in the backward pass.</summary>
    FanOut,
}

/// <summary>The non-linearity an initialisation's gain is chosen for. Equivalent to torch's <c>nonlinearity</c> strings.</summary>
public enum Nonlinearity
{
    /// <summary>Gain 1.</summary>
    Linear,
    /// <summary>Gain 1 (convolutions are linear).</summary>
    Conv,
    /// <summary>Gain 1.</summary>
    Sigmoid,
    /// <summary>Gain 5/3.</summary>
    Tanh,
    /// <summary>Gain √2.</summary>
    Relu,
    /// <summary>Gain √(2 / (1 + slope²)).</summary>
    LeakyRelu,
    /// <summary>Gain 3/4.</summary>
    Selu,
}

/// <summary>
/// Weight initialisers that overwrite a tensor in place (its identity is kept) from <c>random</c> or, when null,
/// <see cref="Engine.Random"/> (seed it with <see cref="Engine.ManualSeed"/>). Equivalent to <c>torch.nn.init</c>.
/// </summary>
public static class Init
{
    /// <summary>
    /// The recommended gain for <paramref name="nonlinearity"/>; <paramref name="negativeSlope"/> is used by
    /// <see cref="Nonlinearity.LeakyRelu"/> (torch's default 0.01). Equivalent to <c>torch.nn.init.calculate_gain</c>.
    /// </summary>
    public static double CalculateGain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1 + negativeSlope * negativeSlope)),
        Nonlinearity.Selu => 0.75,
        _ => 1.0,
    };

    /// <summary>
    /// (fan_in, fan_out) of a weight of rank ≥ 2: dimension 1 resp. 0 times the receptive field (product of the
    /// remaining dimensions). Equivalent to <c>torch.nn.init._calculate_fan_in_and_fan_out</c>.
    /// </summary>
    public static (long FanIn, long FanOut) Fans(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
            throw new ArgumentException($"Fan in and fan out need a tensor of rank 2 or more, got shape {tensor.Shape}.", nameof(tensor));
        long receptive = 1;
        for (int i = 2; i < tensor.Rank; i++) receptive *= tensor.Shape[i];
        return (tensor.Shape[1] * receptive, tensor.Shape[0] * receptive);
    }

    /// <summary>
    /// Uniform in ±gain·√(3 / fan) with gain from <paramref name="nonlinearity"/> and slope <paramref name="a"/>.
    /// Equivalent to <c>torch.nn.init.kaiming_uniform_(tensor, a, mode, nonlinearity)</c>.
    /// </summary>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Random? random = null)
    {
        double bound = Math.Sqrt(3.0) * KaimingStd(tensor, a, mode, nonlinearity);
        return Uniform(tensor, -bound, bound, random);
    }

    /// <summary>
    /// Normal with mean 0 and standard deviation gain / √fan. Equivalent to
    /// <c>torch.nn.init.kaiming_normal_(tensor, a, mode, nonlinearity)</c>.
    /// </summary>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
        Nonlinearity nonlinearity = Nonlinearity.LeakyRelu, Random? random = null) =>
        Normal(tensor, 0, KaimingStd(tensor, a, mode, nonlinearity), random);

    private static double KaimingStd(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        var (fanIn, fanOut) = Fans(tensor);
        long fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"Kaiming initialisation of an empty tensor {tensor.Shape}.", nameof(tensor));
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    /// <summary>Uniform in ±gain·√(6 / (fan_in + fan_out)). Equivalent to <c>torch.nn.init.xavier_uniform_(tensor, gain)</c>.</summary>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1.0, Random? random = null)
    {
        double bound = Math.Sqrt(3.0) * XavierStd(tensor, gain);
        return Uniform(tensor, -bound, bound, random);
    }

    /// <summary>Normal with standard deviation gain·√(2 / (fan_in + fan_out)). Equivalent to <c>torch.nn.init.xavier_normal_(tensor, gain)</c>.</summary>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1.0, Random? random = null) =>
        Normal(tensor, 0, XavierStd(tensor, gain), random);

    private static double XavierStd(Tensor tensor, double gain)
    {
        var (fanIn, fanOut) = Fans(tensor);
        return gain * Math.Sqrt(2.0 / (fanIn + fanOut));
    }

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>). Equivalent to <c>torch.nn.init.uniform_(tensor, a, b)</c>.</summary>
    public static Tensor Uniform(Tensor tensor, double low = 0, double high = 1, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(low <= high)) throw new ArgumentException($"Uniform initialisation needs low ≤ high, got [{low}, {high}).", nameof(low));
        using (GradMode.NoGrad())
            return tensor.CopyFrom(Tensor.Rand(tensor.Shape, random) * (float)(high - low) + (float)low);
    }

    /// <summary>Normal with the given mean and standard deviation. Equivalent to <c>torch.nn.init.normal_(tensor, mean, std)</c>.</summary>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std >= 0)) throw new ArgumentException($"Normal initialisation needs std ≥ 0, got {std}.", nameof(std));
        using (GradMode.NoGrad())
            return tensor.CopyFrom(Tensor.Randn(tensor.Shape, random) * (float)std + (float)mean);
    }

    /// <summary>Every element = <paramref name="value"/>. Equivalent to <c>torch.nn.init.constant_(tensor, value)</c>.</summary>
    public static Tensor Constant(Tensor tensor, double value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.CopyFrom(Tensor.Full(tensor.Shape, (float)value));
    }

    /// <summary>Every element 0. Equivalent to <c>torch.nn.init.zeros_(tensor)</c>.</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0);

    /// <summary>Every element 1. Equivalent to <c>torch.nn.init.ones_(tensor)</c>.</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1);
}
