namespace SharpSeg.Nn.Optim;

/// <summary>
/// Parameters that share a learning-rate multiplier and a weight decay. The group's learning rate is the optimizer's
/// base rate times <see cref="LearningRateMultiplier"/> (PaddleSeg's <c>lr_mult_list</c>); a null
/// <see cref="WeightDecay"/> takes the optimizer's. Equivalent to one entry of a PyTorch optimizer's <c>param_groups</c>.
/// </summary>
/// <param name="Parameters">Leaf float32 tensors, updated in place.</param>
/// <param name="LearningRateMultiplier">Factor applied to the optimizer's base learning rate.</param>
/// <param name="WeightDecay">This group's weight decay, or null for the optimizer's.</param>
public sealed record ParameterGroup(IReadOnlyList<Tensor> Parameters, double LearningRateMultiplier = 1.0, double? WeightDecay = null)
{
    /// <summary>
    /// Splits parameters into a group that takes the optimizer's weight decay and a group without weight decay; by
    /// default tensors of rank ≤ 1 (norm weights and biases) get none, as timm's <c>param_groups_weight_decay</c>
    /// decides. Empty groups are left out. Both groups get <paramref name="learningRateMultiplier"/>.
    /// </summary>
    public static IReadOnlyList<ParameterGroup> SplitByWeightDecay(IEnumerable<Tensor> parameters, double learningRateMultiplier = 1.0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return Split(parameters.Select(p => ("", p)), (_, p) => p.Rank <= 1, learningRateMultiplier);
    }

    /// <summary>
    /// Splits named parameters into a group that takes the optimizer's weight decay and a group without;
    /// <paramref name="excludeFromWeightDecay"/> (name, tensor) picks the latter, by default tensors of rank ≤ 1
    /// (norm weights and biases). Empty groups are left out. Both groups get <paramref name="learningRateMultiplier"/>.
    /// </summary>
    public static IReadOnlyList<ParameterGroup> SplitByWeightDecay(IEnumerable<(string Name, Tensor Parameter)> namedParameters,
        Func<string, Tensor, bool>? excludeFromWeightDecay = null, double learningRateMultiplier = 1.0)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        return Split(namedParameters, excludeFromWeightDecay ?? ((_, p) => p.Rank <= 1), learningRateMultiplier);
    }

    private static IReadOnlyList<ParameterGroup> Split(IEnumerable<(string Name, Tensor Parameter)> named, Func<string, Tensor, bool> exclude,
        double learningRateMultiplier)
    {
        var decay = new List<Tensor>();
        var noDecay = new List<Tensor>();
        foreach (var (name, parameter) in named)
        {
            if (parameter is null) throw new ArgumentException($"Parameter '{name}' is null.");
            (exclude(name, parameter) ? noDecay : decay).Add(parameter);
        }
        var groups = new List<ParameterGroup>(2);
        if (decay.Count > 0) groups.Add(new ParameterGroup(decay, learningRateMultiplier));
        if (noDecay.Count > 0) groups.Add(new ParameterGroup(noDecay, learningRateMultiplier, WeightDecay: 0.0));
        return groups;
    }
}
