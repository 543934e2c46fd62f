using SharpSeg.Models;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Models;

/// <summary>
/// A torchvision VGG's convolutional part as a single-map detection backbone: every layer of <c>vgg.features</c> up to and
/// including the fifth max pool, so one map "0" of 512 channels at stride 32. Its layers sit at the backbone's root under
/// torchvision's indices (keys <c>0.weight</c>, <c>0.bias</c>, <c>1.*</c> for the BatchNorm of the <c>_bn</c> variants …),
/// as in a torchvision <c>FasterRCNN</c> whose backbone is <c>vgg16(…).features</c> with <c>out_channels = 512</c> (icevision's
/// <c>backbones.vgg16</c>). Nothing is frozen and BatchNorm stays BatchNorm2d, as there. The pools round up where
/// torchvision's round down; the detection transform pads to multiples of 32, where both give the same map.
/// </summary>
public sealed class VggBackbone : DetectionBackbone
{
    private readonly Vgg _network;
    private readonly Sequential _features;

    /// <summary>Builds VGG-<paramref name="depth"/>'s features.</summary>
    /// <param name="depth">11, 13, 16 or 19.</param>
    /// <param name="batchNorm">BatchNorm after each convolution (torchvision's <c>vgg*_bn</c>).</param>
    /// <param name="initializeWeights">Draw the convolutions as torchvision does; false skips it for weights loaded right after.</param>
    public VggBackbone(int depth, bool batchNorm, bool initializeWeights = true)
    {
        _network = new Vgg(depth, batchNorm, numClasses: 0, initializeWeights: initializeWeights);
        _features = (Sequential)_network.NamedChildren().Single(c => c.Name == "features").Module;
        // The features' layers registered directly, so the keys are torchvision's features indices with no prefix.
        for (int i = 0; i < _features.Count; i++) Child(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _features[i]);
    }

    /// <summary>torchvision's name of the network, e.g. <c>vgg16_bn</c>.</summary>
    public string Name => _network.Name;

    /// <summary>512, the last stage's width (icevision's <c>features.out_channels = 512</c>).</summary>
    public override int OutChannels => 512;

    /// <summary>
    /// Loads torchvision's ImageNet VGG weights (a <c>.pth</c> or safetensors in its keys <c>features.*</c>; the classifier is
    /// ignored). Equivalent to <c>torchvision.models.vgg16(pretrained=True).features</c>.
    /// </summary>
    public LoadReport LoadPretrainedBody(string path) => _network.LoadPretrained(path);

    /// <summary>The single map "0" [N, 512, H/32, W/32]. Equivalent to torchvision wrapping <c>features(images)</c> as <c>OrderedDict([("0", …)])</c>.</summary>
    public override OrderedDictionary<string, Tensor> Forward(Tensor images) =>
        new() { ["0"] = InferenceOps.Applies ? ForwardFused(images) : _features.Forward(images) };

    // Inference: each convolution takes its BatchNorm (folded, in eval) and ReLU into its epilogue, so a conv-BN-ReLU
    // triple writes one map instead of three.
    private Tensor ForwardFused(Tensor x)
    {
        for (int i = 0; i < _features.Count; i++)
        {
            var layer = _features[i];
            if (layer is Conv2d conv)
            {
                var norm = i + 1 < _features.Count && _features[i + 1] is BatchNorm2d bn && !bn.IsTraining ? bn : null;
                int next = i + (norm is null ? 1 : 2);
                bool relu = next < _features.Count && _features[next] is Relu;
                var activation = relu ? FusedActivation.Relu : FusedActivation.None;
                var o = conv.Options;
                x = norm is not null ? conv.ForwardWithBatchNorm(x, norm, activation)
                    : Functional.Conv2dFused(x, conv.Weight, conv.Bias, o.Stride, o.Padding, o.Dilation, o.Groups, activation: activation);
                i = relu ? next : next - 1;
                continue;
            }
            x = layer.Forward(x);
        }
        return x;
    }
}
