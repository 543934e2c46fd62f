namespace SharpSeg.Nn;

/// <summary>
/// y = x·Wᵀ + b with weight [out, in] and optional bias [out]; keys <c>weight</c>, <c>bias</c>. Initialised like
/// PyTorch: kaiming_uniform(a=√5) weight, bias uniform in ±1/√in. Equivalent to <c>torch.nn.Linear</c>.
/// </summary>
public sealed class Linear : TensorModule
{
    /// <summary>Creates the layer. Equivalent to <c>nn.Linear(in_features, out_features, bias)</c>.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: features must be positive, got in={inFeatures}, out={outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = Param("weight", Tensor.Zeros(outFeatures, inFeatures));
        if (bias) Bias = Param("bias", Tensor.Zeros(outFeatures));
        ResetParameters();
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Weight [out, in].</summary>
    public Tensor Weight { get; }

    /// <summary>Bias [out], or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>Re-draws the parameters with PyTorch's default initialisation. Equivalent to <c>linear.reset_parameters()</c>.</summary>
    public void ResetParameters(Random? random = null) => ConvChecks.DefaultInit(Weight, Bias, random);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Functional.Linear(x, Weight, Bias);
}
