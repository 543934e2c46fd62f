namespace SharpSeg;

/// <summary>
/// Folds an evaluation-mode batch normalisation into the convolution before it:
/// γ·(W∗x + b − μ)/√(σ² + ε) + β = (s·W)∗x + s·(b − μ) + β with s = γ/√(σ² + ε), per output channel, computed in double.
/// Used by the fused inference convolution and the ONNX exporter. Equivalent to PyTorch's
/// <c>torch.nn.utils.fusion.fuse_conv_bn_weights</c>.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>
    /// Writes the folded weight and bias. <paramref name="weight"/> is [Cout, …] flattened; the per-channel spans have Cout
    /// elements, or are empty for an absent conv bias (0), γ (1) or β (0).
    /// </summary>
    /// <param name="weight">Convolution weight, output channel first.</param>
    /// <param name="convBias">Convolution bias, or empty.</param>
    /// <param name="runningMean">BatchNorm running mean μ.</param>
    /// <param name="runningVar">BatchNorm running variance σ².</param>
    /// <param name="gamma">BatchNorm scale γ, or empty.</param>
    /// <param name="beta">BatchNorm shift β, or empty.</param>
    /// <param name="eps">BatchNorm ε.</param>
    /// <param name="foldedWeight">Receives s·W (the length of <paramref name="weight"/>).</param>
    /// <param name="foldedBias">Receives s·(b − μ) + β (Cout).</param>
    public static void Fold(ReadOnlySpan<float> weight, ReadOnlySpan<float> convBias, ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVar, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, double eps,
        Span<float> foldedWeight, Span<float> foldedBias)
    {
        int outChannels = runningMean.Length;
        if (outChannels == 0 || weight.Length % outChannels != 0 || runningVar.Length != outChannels || foldedBias.Length != outChannels
            || foldedWeight.Length != weight.Length || (!convBias.IsEmpty && convBias.Length != outChannels)
            || (!gamma.IsEmpty && gamma.Length != outChannels) || (!beta.IsEmpty && beta.Length != outChannels))
            throw new ArgumentException(
                $"BatchNormFolding: weight of {weight.Length} values does not fit {outChannels} channels (mean {runningMean.Length}, " +
                $"var {runningVar.Length}, conv bias {convBias.Length}, gamma {gamma.Length}, beta {beta.Length}, outputs {foldedWeight.Length}/{foldedBias.Length}).");
        int perChannel = weight.Length / outChannels;
        for (int o = 0; o < outChannels; o++)
        {
            double scale = (gamma.IsEmpty ? 1.0 : gamma[o]) / Math.Sqrt(runningVar[o] + eps);
            for (int i = 0; i < perChannel; i++) foldedWeight[o * perChannel + i] = (float)(weight[o * perChannel + i] * scale);
            foldedBias[o] = (float)(((convBias.IsEmpty ? 0.0 : convBias[o]) - runningMean[o]) * scale + (beta.IsEmpty ? 0.0 : beta[o]));
        }
    }
}
