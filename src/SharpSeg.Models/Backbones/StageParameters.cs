namespace SharpSeg.Models;

/// <summary>
/// The parameters of one backbone stage and the learning-rate multiplier they train with, so an optimizer can build one
/// parameter group per stage. Equivalent to PaddleSeg/PaddleClas passing <c>lr_mult_list[i]</c> as the
/// <c>learning_rate</c> of every <c>ParamAttr</c> in stage <c>i</c>.
/// </summary>
/// <param name="Name">The stage: <c>stem</c>, <c>layer1</c> … <c>layer4</c>.</param>
/// <param name="Parameters">Its trainable tensors.</param>
/// <param name="LearningRateMultiplier">Factor on the optimizer's base learning rate.</param>
public sealed record StageParameters(string Name, IReadOnlyList<Tensor> Parameters, double LearningRateMultiplier);

/// <summary>A backbone whose stages train with their own learning-rate multipliers (PaddleSeg's <c>lr_mult_list</c>).</summary>
public interface IStagedBackbone : IBackbone
{
    /// <summary>Every parameter exactly once, grouped by stage with the multiplier from <see cref="BackboneOptions.LrMultList"/>.</summary>
    IReadOnlyList<StageParameters> StageParameters();
}
