using SharpSeg.Nn;

namespace SharpSeg.Models;

/// <summary>How the UNet decoder doubles the resolution (PaddleX <c>upsample_mode</c>).</summary>
public enum UNetUpsampleMode
{
    /// <summary>Bilinear interpolation to the skip feature's size (PaddleX <c>'bilinear'</c>, PaddleSeg <c>use_deconv=False</c>).</summary>
    Bilinear,
    /// <summary>A 2×2 stride-2 transposed convolution to half the block's output channels (PaddleX <c>'deconv'</c>, PaddleSeg <c>use_deconv=True</c>).</summary>
    [ValueName("deconv")]
    TransposedConv,
}

/// <summary>Options of <see cref="UNet"/>, named after PaddleX 1.x's <c>paddlex.seg.UNet</c> arguments.</summary>
/// <param name="NumClasses">Classes predicted.</param>
/// <param name="InChannels">Input image channels (PaddleX <c>input_channel</c>).</param>
/// <param name="AlignCorners">Bilinear <c>align_corners</c> of the decoder's upsampling and of nothing else (the logits are at input size).</param>
/// <param name="UpsampleMode">Bilinear interpolation or transposed convolution in the decoder.</param>
public record UNetOptions(
    int NumClasses,
    int InChannels = 3,
    bool AlignCorners = false,
    [PaddleSegFlag("use_deconv", nameof(UNetUpsampleMode.TransposedConv), nameof(UNetUpsampleMode.Bilinear))]
    UNetUpsampleMode UpsampleMode = UNetUpsampleMode.Bilinear) : ModelOptions(NumClasses, InChannels, AlignCorners);

/// <summary>
/// U-Net (Ronneberger et al., 2015) as PaddleSeg and PaddleX define it: an encoder of double 3×3 conv-BN-ReLU blocks
/// with 64, 128, 256, 512 and 512 channels separated by 2×2 max pools, a symmetric decoder (upsample, concatenate the
/// skip feature after the upsampled one, double conv to 256, 128, 64, 64 channels) and a 3×3 classifier with bias.
/// Inputs are padded to a multiple of 16.
/// <para>
/// State-dict keys follow PaddleSeg 2.x's module paths with PyTorch leaf names: <c>encoder.double_conv.{0,1}.{conv,bn}</c>,
/// <c>encoder.down_sample_list.{0..3}.{1,2}.{conv,bn}</c> (index 0 is the max pool),
/// <c>decoder.up_sample_list.{0..3}.deconv.{weight,bias}</c> (transposed mode only),
/// <c>decoder.up_sample_list.{0..3}.double_conv.{0,1}.{conv,bn}</c>, <c>classifier.{weight,bias}</c>.
/// </para>
/// </summary>
public sealed class UNet : SegmentationModel
{
    private static readonly int[] EncoderChannels = [64, 128, 256, 512, 512];
    private static readonly int[] DecoderChannels = [256, 128, 64, 64];

    private readonly Encoder _encoder;
    private readonly ModuleList<UpBlock> _upBlocks;
    private readonly Conv2d _classifier;

    /// <summary>Builds the model.</summary>
    public UNet(UNetOptions options) : base(options)
    {
        UNetOptions = options;
        _encoder = Child("encoder", new Encoder(options.InChannels));
        var decoder = Child("decoder", new DecoderContainer());
        _upBlocks = decoder.UpSampleList;
        int channels = EncoderChannels[^1];
        for (int i = 0; i < DecoderChannels.Length; i++)
        {
            int skip = EncoderChannels[EncoderChannels.Length - 2 - i];
            _upBlocks.Add(new UpBlock(channels, skip, DecoderChannels[i], options.UpsampleMode, options.AlignCorners));
            channels = DecoderChannels[i];
        }
        _classifier = Child("classifier", new Conv2d(channels, options.NumClasses, 3, padding: 1));
    }

    /// <summary>The options the model was built with.</summary>
    public UNetOptions UNetOptions { get; }

    /// <summary>Four 2×2 max pools: 16.</summary>
    public override int SizeDivisor => 16;

    /// <summary>Builds the model from its options, or with defaults from plain <see cref="ModelOptions"/>.</summary>
    [RegisterModel("unet", Options = typeof(UNetOptions),
        Description = "PaddleX UNet: 4 max-pool encoder stages (64–512 channels), decoder with bilinear or transposed-conv upsampling")]
    public static SegmentationModel Create(ModelOptions options) => new UNet(
        options as UNetOptions ?? new UNetOptions(options.NumClasses, options.InChannels, options.AlignCorners));

    /// <inheritdoc/>
    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x)
    {
        var skips = _encoder.Forward(x);
        var y = skips[^1];
        for (int i = 0; i < _upBlocks.Count; i++) y = _upBlocks[i].Forward(y, skips[skips.Count - 2 - i]);
        return [_classifier.Forward(y)];
    }

    private static Sequential DoubleConv(int inChannels, int outChannels) =>
        new(new ConvBnAct(inChannels, outChannels, 3), new ConvBnAct(outChannels, outChannels, 3));

    /// <summary>The contracting path; returns the output of every stage, the deepest last.</summary>
    private sealed class Encoder : Module
    {
        private readonly Sequential _doubleConv;
        private readonly ModuleList<Sequential> _downSampleList;

        public Encoder(int inChannels)
        {
            _doubleConv = Child("double_conv", DoubleConv(inChannels, EncoderChannels[0]));
            _downSampleList = Child("down_sample_list", new ModuleList<Sequential>());
            for (int i = 1; i < EncoderChannels.Length; i++)
                _downSampleList.Add(new Sequential(new MaxPool2d(2, 2)).Add(new ConvBnAct(EncoderChannels[i - 1], EncoderChannels[i], 3))
                    .Add(new ConvBnAct(EncoderChannels[i], EncoderChannels[i], 3)));
        }

        public List<Tensor> Forward(Tensor x)
        {
            var outputs = new List<Tensor> { _doubleConv.Forward(x) };
            foreach (var down in _downSampleList) outputs.Add(down.Forward(outputs[^1]));
            return outputs;
        }
    }

    /// <summary>Holds the up blocks under <c>decoder.up_sample_list</c>; the model runs them.</summary>
    private sealed class DecoderContainer : Module
    {
        public DecoderContainer() => UpSampleList = Child("up_sample_list", new ModuleList<UpBlock>());

        public ModuleList<UpBlock> UpSampleList { get; }
    }

    /// <summary>Upsamples, concatenates the skip feature and applies a double conv.</summary>
    private sealed class UpBlock : Module
    {
        private readonly ConvTranspose2d? _deconv;
        private readonly Sequential _doubleConv;
        private readonly bool _alignCorners;

        public UpBlock(int inChannels, int skipChannels, int outChannels, UNetUpsampleMode mode, bool alignCorners)
        {
            _alignCorners = alignCorners;
            int upsampled = inChannels;
            if (mode == UNetUpsampleMode.TransposedConv)
            {
                upsampled = outChannels / 2;
                _deconv = Child("deconv", new ConvTranspose2d(inChannels, upsampled, 2, stride: 2));
            }
            _doubleConv = Child("double_conv", DoubleConv(upsampled + skipChannels, outChannels));
        }

        public Tensor Forward(Tensor x, Tensor skip)
        {
            var up = _deconv is not null
                ? _deconv.Forward(x)
                : Functional.Interpolate(x, size: (skip.Shape[2], skip.Shape[3]), mode: InterpolationMode.Bilinear, alignCorners: _alignCorners);
            return _doubleConv.Forward(Tensor.Cat([up, skip], axis: 1));
        }
    }
}
