using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>
/// A test-only backbone small enough for quick tests: a stride-2 stem and four stride-2 conv-BN-ReLU stages
/// (12, 16, 20, 24 channels) giving features at reductions 4, 8, 16, 32; below the output stride strides turn into
/// doubling dilations. Twin of <c>TinyBackbone</c> in tools/gen_models_golden_segmentation.py (same keys).
/// </summary>
internal sealed class TinyBackbone : Module, IBackbone
{
    public static readonly int[] Channels = [12, 16, 20, 24];

    private readonly ConvBnAct _stem;
    private readonly ConvBnAct[] _stages = new ConvBnAct[4];
    private readonly FeatureInfo[] _featureInfo = new FeatureInfo[4];

    public TinyBackbone(int inChannels = 3, int outputStride = 32)
    {
        if (outputStride is not (8 or 16 or 32)) throw new ArgumentException($"TinyBackbone: output stride {outputStride} is not 8, 16 or 32.");
        InChannels = inChannels;
        OutputStride = outputStride;
        _stem = Child("stem", new ConvBnAct(inChannels, 8, 3, stride: 2));
        int reduction = 2, dilation = 1, channels = 8;
        for (int i = 0; i < 4; i++)
        {
            int stride = 1;
            if (reduction < outputStride)
            {
                reduction *= 2;
                stride = 2;
            }
            else
            {
                dilation *= 2;
            }
            string name = $"stage{i + 1}";
            _stages[i] = Child(name, new ConvBnAct(channels, Channels[i], 3, stride, dilation: dilation));
            _featureInfo[i] = new FeatureInfo(Channels[i], reduction, name);
            channels = Channels[i];
        }
    }

    public IReadOnlyList<FeatureInfo> FeatureInfo => _featureInfo;

    public int OutputStride { get; }

    public int InChannels { get; }

    public Module Module => this;

    public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
    {
        x = _stem.Forward(x);
        var features = new Tensor[4];
        for (int i = 0; i < 4; i++) features[i] = x = _stages[i].Forward(x);
        return features;
    }
}
