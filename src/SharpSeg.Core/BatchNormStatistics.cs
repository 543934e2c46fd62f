namespace SharpSeg;

/// <summary>
/// The evaluation-mode parameters of a batch normalisation that <see cref="Functional.Conv2dFused"/> folds into the
/// convolution before it: y = (x − <paramref name="RunningMean"/>)/√(<paramref name="RunningVar"/> + <paramref name="Eps"/>)·γ + β.
/// The arguments of <c>torch.nn.functional.batch_norm(training=False)</c>.
/// </summary>
/// <param name="RunningMean">Running mean μ [C].</param>
/// <param name="RunningVar">Running variance σ² [C].</param>
/// <param name="Weight">Scale γ [C], or null for 1.</param>
/// <param name="Bias">Shift β [C], or null for 0.</param>
/// <param name="Eps">Added to the variance.</param>
public sealed record BatchNormStatistics(Tensor RunningMean, Tensor RunningVar, Tensor? Weight, Tensor? Bias, double Eps);
