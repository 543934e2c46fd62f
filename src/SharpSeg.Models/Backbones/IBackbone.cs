using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>
/// One feature map a backbone produces: its channel count, its reduction (input size / feature size: 2, 4, 8, 16,
/// 32) and the module that produces it. Equivalent to an entry of timm's <c>feature_info</c>.
/// </summary>
/// <param name="Channels">Channels of the feature map.</param>
/// <param name="Reduction">Downsampling factor relative to the input; with dilation it stops growing at the output stride.</param>
/// <param name="Module">State-dict path of the module that produces it (e.g. <c>layer2</c>).</param>
public sealed record FeatureInfo(int Channels, int Reduction, string Module);

/// <summary>
/// A feature extractor for segmentation: a module that maps [N, C, H, W] to one feature map per
/// <see cref="FeatureInfo"/> entry, shallowest first. Decoders select features by <see cref="FeatureInfo.Reduction"/>,
/// never by position. Equivalent to timm's <c>features_only=True</c> models and PaddleSeg's backbones
/// (which return <c>feat_list</c> with <c>feat_channels</c>).
/// </summary>
public interface IBackbone
{
    /// <summary>The feature maps <see cref="ForwardFeatures"/> returns, in the same order.</summary>
    IReadOnlyList<FeatureInfo> FeatureInfo { get; }

    /// <summary>The reduction of the deepest feature (8, 16 or 32), fixed at construction by turning strides into dilations.</summary>
    int OutputStride { get; }

    /// <summary>Input channels the first convolution accepts.</summary>
    int InChannels { get; }

    /// <summary>The module itself (for parameters, state dicts and train/eval switching).</summary>
    Module Module { get; }

    /// <summary>Runs the backbone and returns one tensor per <see cref="FeatureInfo"/> entry.</summary>
    IReadOnlyList<Tensor> ForwardFeatures(Tensor x);
}

/// <summary>Helpers every backbone and decoder shares.</summary>
public static class BackboneExtensions
{
    /// <summary>Throws naming <paramref name="family"/> unless <paramref name="x"/> is [N, InChannels, H, W].</summary>
    /// <exception cref="ShapeMismatchException">The input has another rank or channel count.</exception>
    public static void CheckInput(this IBackbone backbone, Tensor x, string family)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4 || x.Shape[1] != backbone.InChannels)
            throw new ShapeMismatchException(family, $"input must be [N, {backbone.InChannels}, H, W], got {x.Shape}");
    }

    /// <summary>The index of the feature with reduction <paramref name="reduction"/>; throws naming what the backbone offers.</summary>
    public static int FeatureIndex(this IBackbone backbone, int reduction)
    {
        var infos = backbone.FeatureInfo;
        for (int i = 0; i < infos.Count; i++)
            if (infos[i].Reduction == reduction) return i;
        throw new ArgumentException(
            $"{backbone.GetType().Name} has no feature at reduction {reduction}; it offers {string.Join(", ", infos.Select(f => f.Reduction))}.");
    }
}

/// <summary>
/// A backbone that loads its family's published weights (torchvision's <c>.pth</c>, timm's, PaddleSeg's
/// <c>.pdparams</c>, or any of them converted to safetensors; see <see cref="SharpSeg.Nn.Interop.WeightFile"/>) with no
/// key renaming by the user. Equivalent to timm's <c>load_pretrained</c> and PaddleSeg's
/// <c>load_pretrained_model</c>.
/// </summary>
public interface IPretrainedBackbone : IBackbone
{
    /// <summary>
    /// Loads the weights at <paramref name="path"/> strictly: the family's foreign naming (e.g. PaddleSeg's
    /// <c>_conv</c>/<c>_batch_norm</c>) is recognised and renamed, the reference classifier a headless backbone lacks is
    /// left out, and the first convolution is adapted to <see cref="IBackbone.InChannels"/>
    /// (<see cref="PretrainedWeights.AdaptInputChannels"/>).
    /// </summary>
    /// <exception cref="StateDictMismatchException">A tensor is missing, unexpected or mis-shaped; the message names the keys and nothing is loaded.</exception>
    LoadReport LoadPretrained(string path);
}
