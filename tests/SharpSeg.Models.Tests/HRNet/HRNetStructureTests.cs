using SharpSeg.Models.Tests.Segmentation;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.HRNetFamily;

/// <summary>HRNet's options, feature contract and the <c>hrnet</c> model's wiring.</summary>
public class HRNetStructureTests
{
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(64)]
    public void OutputStridesOtherThan32AreRefusedNamingTheFamily(int outputStride)
    {
        var e = Assert.Throws<ArgumentException>(() => new HRNet(HRNetGoldenTests.Tiny, new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("HRNet", e.Message);
        Assert.Contains("fixed at 32", e.Message);
        Assert.Contains(outputStride.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void ExplicitOutputStride32IsTheDefault()
    {
        var backbone = new HRNet(HRNetGoldenTests.Tiny, new BackboneOptions(OutputStride: 32));
        Assert.Equal(32, backbone.OutputStride);
        Assert.Equal([4, 8, 16, 32], backbone.FeatureInfo.Select(f => f.Reduction));
        Assert.Equal([16, 16, 32, 32], backbone.FeatureInfo.Select(f => f.Channels));
        var modules = backbone.NamedModules().Select(m => m.Name).ToHashSet();
        Assert.All(backbone.FeatureInfo, f => Assert.Contains(f.Module, modules));
    }

    [Theory]
    [InlineData("18_small_v1", new[] { 16, 32, 64, 128 })]
    [InlineData("18_SMALL_V2", new[] { 18, 36, 72, 144 })]
    [InlineData("18", new[] { 18, 36, 72, 144 })]
    [InlineData("30", new[] { 30, 60, 120, 240 })]
    [InlineData("32", new[] { 32, 64, 128, 256 })]
    [InlineData("40", new[] { 40, 80, 160, 320 })]
    [InlineData("44", new[] { 44, 88, 176, 352 })]
    [InlineData("48", new[] { 48, 96, 192, 384 })]
    [InlineData("60", new[] { 60, 120, 240, 480 })]
    [InlineData("64", new[] { 64, 128, 256, 512 })]
    public void PaddleXWidthsNameTheirStageFourWidths(string width, int[] channels) =>
        Assert.Equal(channels, HRNetArchitecture.FromWidth(width).Stage4.NumChannels);

    [Theory]
    [InlineData("20")]
    [InlineData("w18")]
    [InlineData("18_small")]
    public void UnknownWidthsAreRefusedListingTheAcceptedOnes(string width)
    {
        var e = Assert.Throws<ArgumentException>(() => HRNetArchitecture.FromWidth(width));
        Assert.Contains("18_small_v1", e.Message);
        Assert.Contains(width, e.Message);
    }

    [Fact]
    public void InconsistentStagesAndNarrowSqueezeExcitationAreRefused()
    {
        var missingWidth = HRNetGoldenTests.Tiny with { Stage3 = new HRNetStage(1, [1, 1, 1], [16, 32]) };
        Assert.Contains("stage 3", Assert.Throws<ArgumentException>(() => new HRNet(missingWidth)).Message);
        var narrow = HRNetGoldenTests.Tiny with { Stage2 = new HRNetStage(1, [1, 1], [8, 32]) };
        Assert.NotNull(new HRNet(narrow));
        Assert.Contains("squeeze-excitation", Assert.Throws<ArgumentException>(() => new HRNet(narrow, hasSe: true)).Message);
    }

    [Theory]
    [InlineData(64, 48)]
    [InlineData(33, 31)]
    [InlineData(17, 70)]
    public void BranchesHaveCeilSizesAtEveryReduction(int h, int w)
    {
        var backbone = new HRNet(HRNetGoldenTests.Tiny, new BackboneOptions(InChannels: 4));
        backbone.Eval();
        using var _ = GradMode.NoGrad();
        var features = backbone.ForwardFeatures(FormulaWeights.Input(2, 4, h, w));
        for (int b = 0; b < 4; b++)
        {
            int r = 4 << b;
            Assert.Equal(new Shape(2, backbone.FeatureInfo[b].Channels, (h + r - 1) / r, (w + r - 1) / r), features[b].Shape);
        }
    }

    [Fact]
    public void WeightsStartAsPaddleSegsInitWeight()
    {
        var backbone = new HRNet(HRNetGoldenTests.Tiny);
        var state = backbone.StateDict();
        var conv = state["st3.stage_st3_1.fuse_func.residual_st3_1_layer_3_1_2.conv.weight"].ToArray();
        double std = Math.Sqrt(conv.Average(v => (double)v * v));
        Assert.InRange(std, 0.0008, 0.0012);
        Assert.All(state["tr1.transition_tr1_layer_1.bn.weight"].ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void RegistryBuildsTheModelFromPlainOptionsWithWidth18()
    {
        var model = Assert.IsType<HRNetFcn>(ModelRegistry.CreateModel("hrnet", new ModelOptions(5, InChannels: 1)));
        Assert.Equal((4, 64, 4, 3), (model.Backbone.Architecture.Stage1Blocks, model.Backbone.Architecture.Stage1Channels,
            model.Backbone.Architecture.Stage3.NumModules, model.Backbone.Architecture.Stage4.NumModules));
        Assert.Equal([18, 36, 72, 144], model.Backbone.Architecture.Stage4.NumChannels);
        Assert.Equal(1, model.Backbone.InChannels);
        Assert.Equal(typeof(HRNetOptions), ModelRegistry.ModelOptionsType("hrnet"));
        Assert.Equal(32, model.SizeDivisor);
    }

    [Fact]
    public void HeadKeepsTheConcatenatedWidthAndBothConvolutionsHaveBiases()
    {
        var model = new HRNetFcn(new HRNetOptions(7, Width: "18_small_v1"));
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var conv1 = Assert.IsType<Conv2d>(modules["head.conv_1.conv"]);
        Assert.Equal((240, 240, true), (conv1.Options.InChannels, conv1.Options.OutChannels, conv1.Options.Bias));
        var cls = Assert.IsType<Conv2d>(modules["head.cls"]);
        Assert.Equal((240, 7, true), (cls.Options.InChannels, cls.Options.OutChannels, cls.Options.Bias));
        Assert.Equal(new Size2(1, 1), cls.Options.KernelSize);
    }

    [Fact]
    public void ABackboneThatDisagreesWithTheOptionsIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new HRNetFcn(new HRNetOptions(3, HasSe: true), new HRNet(HRNetGoldenTests.Tiny)));
        Assert.Contains("HasSe", e.Message);
        Assert.Throws<ArgumentException>(() => new HRNetFcn(new HRNetOptions(3, AlignCorners: true), new HRNet(HRNetGoldenTests.Tiny)));
        Assert.Throws<ArgumentException>(() => new HRNetFcn(new HRNetOptions(3, Width: "17")));
    }

    [Fact]
    public void TrainingForwardGivesInputSizedLogitsAndBackwardReachesEveryParameter()
    {
        var model = new HRNetFcn(new HRNetOptions(3, HasSe: true, Width: "tiny"), new HRNet(HRNetGoldenTests.Tiny, hasSe: true));
        var logits = model.Forward(FormulaWeights.Input(2, 3, 37, 29));
        Assert.Equal(new Shape(2, 3, 37, 29), Assert.Single(logits).Shape);
        SegmentationAssert.BackwardReachesEveryParameter(model, logits);
    }
}
