namespace SharpSeg.Models;

/// <summary>
/// Construction options shared by backbones; a backbone ignores what does not apply to it and refuses values it
/// cannot honour (e.g. an output stride it does not support), naming the values it does.
/// </summary>
/// <param name="InChannels">Input channels (3 for RGB; any count works, see the first-conv weight adaptation on load).</param>
/// <param name="OutputStride">
/// Reduction of the deepest feature, where the family can change it by turning strides into dilations (ResNets 8/16/32,
/// MobileNets 8/16/32, Xception 8/16 …); null = the family's own default (32 for most, 16 for Xception).
/// </param>
/// <param name="MultiGrid">Dilation multipliers of the last stage's blocks (PaddleSeg <c>multi_grid</c>); null = the backbone's default.</param>
/// <param name="LrMultList">Learning-rate multipliers per stage (PaddleSeg <c>lr_mult_list</c>); null = all 1.</param>
public sealed record BackboneOptions(
    int InChannels = 3,
    int? OutputStride = null,
    IReadOnlyList<int>? MultiGrid = null,
    IReadOnlyList<float>? LrMultList = null);
