using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>DeepLabV3+ against its PyTorch twin (tools/gen_models_golden_segmentation.py) and its options.</summary>
public class DeepLabV3PlusTests
{
    private static DeepLabV3Plus Tiny(int outputStride = 16, int inChannels = 3, bool asppWithSepConv = true, bool decoderUseSepConv = true,
        bool encoderWithAspp = true, bool enableDecoder = true, (int Width, int Height)? poolingCropSize = null, bool alignCorners = false) =>
        new(new DeepLabV3PlusOptions(3, inChannels, alignCorners, "tiny", outputStride, asppWithSepConv, decoderUseSepConv, encoderWithAspp,
            enableDecoder, poolingCropSize, AsppOutChannels: 16, LowLevelChannels: 8), new TinyBackbone(inChannels, outputStride));

    public static TheoryData<string> GoldenCases() =>
    [
        "deeplabv3p_tiny_os16", "deeplabv3p_tiny_os8_plain_aligned", "deeplabv3p_tiny_os16_pooling_crop", "deeplabv3p_tiny_no_aspp",
        "deeplabv3p_tiny_no_decoder", "deeplabv3p_resnet18_vd_os16", "deeplabv3p_resnet18_vd_os8_aligned",
    ];

    private static DeepLabV3Plus GoldenModel(string name) => name switch
    {
        "deeplabv3p_tiny_os16" => Tiny(),
        "deeplabv3p_tiny_os8_plain_aligned" => Tiny(8, asppWithSepConv: false, decoderUseSepConv: false, alignCorners: true),
        "deeplabv3p_tiny_os16_pooling_crop" => Tiny(poolingCropSize: (32, 32)),
        "deeplabv3p_tiny_no_aspp" => Tiny(inChannels: 4, encoderWithAspp: false),
        "deeplabv3p_tiny_no_decoder" => Tiny(enableDecoder: false),
        "deeplabv3p_resnet18_vd_os16" => new DeepLabV3Plus(new DeepLabV3PlusOptions(3, Backbone: "resnet18_vd")),
        "deeplabv3p_resnet18_vd_os8_aligned" => new DeepLabV3Plus(new DeepLabV3PlusOptions(3, AlignCorners: true, Backbone: "resnet18_vd", OutputStride: 8)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void StateDictKeysAndShapesEqualTheTorchTwins(string name) =>
        Assert.Equal(SegmentationAssert.GoldenKeys(name), SegmentationAssert.KeyLines(GoldenModel(name)));

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void EvalLogitsMatchTheTorchTwinWithTheSameWeights(string name) => SegmentationAssert.MatchesGolden(GoldenModel(name), name);

    public static TheoryData<bool, bool, bool, bool, int, bool> StructuralOptions()
    {
        var data = new TheoryData<bool, bool, bool, bool, int, bool>();
        foreach (bool aspp in new[] { true, false })
            foreach (bool decoder in new[] { true, false })
                foreach (bool asppSep in new[] { true, false })
                    foreach (bool decoderSep in new[] { true, false })
                        foreach (int os in new[] { 8, 16 })
                            foreach (bool crop in new[] { false, true })
                                if ((aspp || (!asppSep && !crop)) && (decoder || !decoderSep))
                                    data.Add(aspp, decoder, asppSep, decoderSep, os, crop);
        return data;
    }

    [Theory]
    [MemberData(nameof(StructuralOptions))]
    public void EveryStructuralOptionCombinationBuildsRunsAndHasTheMatchingModules(bool encoderWithAspp, bool enableDecoder, bool asppWithSepConv,
        bool decoderUseSepConv, int outputStride, bool poolingCrop)
    {
        var model = Tiny(outputStride, 3, asppWithSepConv, decoderUseSepConv, encoderWithAspp, enableDecoder, poolingCrop ? (40, 40) : null);
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);

        Assert.Equal(encoderWithAspp, modules.ContainsKey("aspp"));
        Assert.Equal(enableDecoder, modules.ContainsKey("decoder"));
        if (encoderWithAspp)
        {
            int[] rates = outputStride == 16 ? [6, 12, 18] : [12, 24, 36];
            for (int b = 1; b <= 3; b++)
            {
                var conv = (Conv2d)modules[asppWithSepConv ? $"aspp.branches.{b}.depthwise.conv" : $"aspp.branches.{b}.conv"];
                Assert.Equal(new Size2(rates[b - 1], rates[b - 1]), conv.Options.Dilation);
                Assert.Equal(new Size2(rates[b - 1], rates[b - 1]), conv.Options.Padding);
                Assert.Equal(asppWithSepConv ? 24 : 1, conv.Options.Groups);
            }
            Assert.Equal(16 * 5, ((Conv2d)modules["aspp.project.conv"]).Options.InChannels);
        }
        if (enableDecoder)
        {
            Assert.Equal(new Size2(1, 1), ((Conv2d)modules["decoder.low_level_project.conv"]).Options.KernelSize);
            Assert.Equal(TinyBackbone.Channels[0], ((Conv2d)modules["decoder.low_level_project.conv"]).Options.InChannels);
            var first = (Conv2d)modules[decoderUseSepConv ? "decoder.fuse.0.pointwise.conv" : "decoder.fuse.0.conv"];
            Assert.Equal((encoderWithAspp ? 16 : TinyBackbone.Channels[^1]) + 8, first.Options.InChannels);
        }
        var classifier = (Conv2d)modules["classifier"];
        Assert.Equal(enableDecoder || encoderWithAspp ? 16 : TinyBackbone.Channels[^1], classifier.Options.InChannels);
        Assert.NotNull(classifier.Bias);

        model.Eval();
        using var _ = GradMode.NoGrad();
        var logits = model.Forward(Tensor.Randn(new Shape(1, 3, 45, 41), new Random(1)));
        Assert.Equal(new Shape(1, 3, 45, 41), Assert.Single(logits).Shape);
    }

    [Fact]
    public void PlainModelOptionsGivePaddleXDefaultsOnMobileNetV2X10AtOutputStride16()
    {
        var model = (DeepLabV3Plus)ModelRegistry.CreateModel("deeplabv3p", new ModelOptions(NumClasses: 4, InChannels: 2, AlignCorners: true));
        Assert.Equal(new DeepLabV3PlusOptions(4, 2, true), model.DeepLabOptions);
        Assert.Equal("mobilenetv2_x1.0", model.DeepLabOptions.Backbone);
        Assert.IsType<MobileNetV2>(model.Backbone);
        Assert.Equal(16, model.Backbone.OutputStride);
        Assert.Equal(2, model.Backbone.InChannels);
        var state = model.StateDict();
        // ASPP on the 320-channel last block, decoder on the 24-channel reduction-4 feature projected to 48.
        Assert.Equal(new Shape(320, 1, 3, 3), state["aspp.branches.1.depthwise.conv.weight"].Shape);
        Assert.Equal(new Shape(256, 256 * 5, 1, 1), state["aspp.project.conv.weight"].Shape);
        Assert.Equal(new Shape(48, 24, 1, 1), state["decoder.low_level_project.conv.weight"].Shape);
        Assert.Equal(new Shape(256, 304, 1, 1), state["decoder.fuse.0.pointwise.conv.weight"].Shape);
        Assert.Equal(new Shape(4, 256, 1, 1), state["classifier.weight"].Shape);
    }

    [Fact]
    public void TrainingWithGlobalImagePoolingNeedsTwoImagesButTheFixedWindowDoesNot()
    {
        var error = Assert.Throws<ShapeMismatchException>(() => Tiny().Forward(Tensor.Zeros(1, 3, 48, 48)));
        Assert.Contains("more than one value per channel", error.Message);
        Assert.Equal(new Shape(2, 3, 48, 48), Tiny().Forward(Tensor.Randn(new Shape(2, 3, 48, 48), new Random(4)))[0].Shape);
        // A 32 × 32 crop pools 2 × 2 windows of the 3 × 3 map: four values per channel even for one image.
        Assert.Equal(new Shape(1, 3, 48, 48), Tiny(poolingCropSize: (32, 32)).Forward(Tensor.Randn(new Shape(1, 3, 48, 48), new Random(4)))[0].Shape);
    }

    [Fact]
    public void TheOutputStrideIsTheSizeDivisor()
    {
        Assert.Equal(16, Tiny(16).SizeDivisor);
        Assert.Equal(8, Tiny(8).SizeDivisor);
    }

    [Fact]
    public void PoolingCropSizeGivesTheFixedWindowOfPaddleX()
    {
        // A 48 × 32 crop (width, height) at output stride 16: ⌊31/16 + 1⌋ = 2 rows, ⌊47/16 + 1⌋ = 3 columns; a 64 × 64 input
        // gives a 4 × 4 map, so the pooled branch varies spatially and differs from the global mean.
        var global = Tiny();
        var windowed = Tiny(poolingCropSize: (48, 32));
        FormulaWeights.Fill(global);
        FormulaWeights.Fill(windowed);
        global.Eval();
        windowed.Eval();
        using var _ = GradMode.NoGrad();
        var x = FormulaWeights.Input(1, 3, 64, 64);
        var difference = (global.Forward(x)[0] - windowed.Forward(x)[0]).Abs().Max().ToArray()[0];
        Assert.True(difference > 1e-3, $"pooling window changed nothing ({difference})");

        // Features smaller than the window cannot be pooled: 16 × 16 inputs give 1 × 1 maps.
        var error = Assert.Throws<ShapeMismatchException>(() => windowed.Forward(Tensor.Zeros(1, 3, 16, 16)));
        Assert.Contains("PoolingCropSize", error.Message);
    }

    [Fact]
    public void UnsupportedOutputStrideAndMismatchedBackbonesAreRejected()
    {
        var options = new DeepLabV3PlusOptions(2, Backbone: "tiny", OutputStride: 32);
        Assert.Contains("OutputStride must be 8 or 16", Assert.Throws<ArgumentException>(() => new DeepLabV3Plus(options)).Message);
        Assert.Contains("output stride 32", Assert.Throws<ArgumentException>(
            () => new DeepLabV3Plus(options with { OutputStride = 16 }, new TinyBackbone(3, 32))).Message);
        Assert.Contains("takes 3", Assert.Throws<ArgumentException>(
            () => new DeepLabV3Plus(options with { OutputStride = 16, InChannels = 1 }, new TinyBackbone(3, 16))).Message);
        Assert.Contains("Unknown backbone 'no_such_backbone'", Assert.Throws<ArgumentException>(
            () => ModelRegistry.CreateModel("deeplabv3p", new DeepLabV3PlusOptions(2, Backbone: "no_such_backbone"))).Message);
    }

    [Fact]
    public void TheDecoderNeedsAReduction4FeatureButTheEncoderAloneDoesNot()
    {
        var options = new DeepLabV3PlusOptions(2, Backbone: "tiny", AsppOutChannels: 8);
        var error = Assert.Throws<ArgumentException>(() => new DeepLabV3Plus(options, new NoReduction4Backbone()));
        Assert.Contains("no feature at reduction 4", error.Message);

        var model = new DeepLabV3Plus(options with { EnableDecoder = false }, new NoReduction4Backbone());
        model.Eval();
        using var _ = GradMode.NoGrad();
        Assert.Equal(new Shape(1, 2, 32, 32), model.Forward(Tensor.Zeros(1, 3, 32, 32))[0].Shape);
    }

    [Fact]
    public void TheLowLevelFeatureIsChosenByReductionNotPosition()
    {
        var model = new DeepLabV3Plus(new DeepLabV3PlusOptions(2, Backbone: "tiny", AsppOutChannels: 8), new NoReduction4Backbone(withReduction4Last: true));
        var project = (Conv2d)model.NamedModules().Single(m => m.Name == "decoder.low_level_project.conv").Module;
        Assert.Equal(5, project.Options.InChannels);
    }

    /// <summary>Features at reductions 8 and 16 (optionally a 5-channel reduction-4 one listed after them).</summary>
    private sealed class NoReduction4Backbone : Module, IBackbone
    {
        private readonly ConvBnAct _down8;
        private readonly ConvBnAct _down16;
        private readonly ConvBnAct? _down4;

        public NoReduction4Backbone(bool withReduction4Last = false)
        {
            _down8 = Child("down8", new ConvBnAct(3, 6, 3, stride: 8));
            _down16 = Child("down16", new ConvBnAct(6, 7, 3, stride: 2, padding: 1));
            var infos = new List<FeatureInfo> { new(6, 8, "down8"), new(7, 16, "down16") };
            if (withReduction4Last)
            {
                _down4 = Child("down4", new ConvBnAct(3, 5, 3, stride: 4));
                infos.Add(new FeatureInfo(5, 4, "down4"));
            }
            FeatureInfo = infos;
        }

        public IReadOnlyList<FeatureInfo> FeatureInfo { get; }

        public int OutputStride => 16;

        public int InChannels => 3;

        public Module Module => this;

        public IReadOnlyList<Tensor> ForwardFeatures(Tensor x)
        {
            var f8 = _down8.Forward(x);
            var f16 = _down16.Forward(f8);
            return _down4 is null ? [f8, f16] : [f8, f16, _down4.Forward(x)];
        }
    }
}
