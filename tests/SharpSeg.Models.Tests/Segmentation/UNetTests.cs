using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Segmentation;

/// <summary>UNet against its PyTorch twin (tools/gen_models_golden_segmentation.py).</summary>
public class UNetTests
{
    private static UNet GoldenModel(string name) => name switch
    {
        "unet_bilinear" => new UNet(new UNetOptions(2)),
        "unet_deconv" => new UNet(new UNetOptions(2, InChannels: 1, UpsampleMode: UNetUpsampleMode.TransposedConv)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData("unet_bilinear")]
    [InlineData("unet_deconv")]
    public void StateDictKeysAndShapesEqualTheTorchTwinAndEvalLogitsMatchIt(string name)
    {
        var model = GoldenModel(name);
        Assert.Equal(SegmentationAssert.GoldenKeys(name), SegmentationAssert.KeyLines(model));

        SegmentationAssert.MatchesGolden(model, name);
    }

    [Fact]
    public void PlainModelOptionsGiveTheBilinearDefaultAndKeepTheirClassAndChannelCounts()
    {
        var model = (UNet)ModelRegistry.CreateModel("unet", new ModelOptions(NumClasses: 4, InChannels: 2, AlignCorners: true));
        Assert.Equal(new UNetOptions(4, 2, true), model.UNetOptions);
        Assert.Equal(16, model.SizeDivisor);
        var keys = model.StateDict().Keys.ToList();
        Assert.DoesNotContain(keys, k => k.Contains("deconv", StringComparison.Ordinal));
        Assert.Equal(new Shape(64, 2, 3, 3), model.StateDict()["encoder.double_conv.0.conv.weight"].Shape);
        Assert.Equal(new Shape(4, 64, 3, 3), model.StateDict()["classifier.weight"].Shape);
        // Bilinear mode concatenates the upsampled 512 channels with the 512-channel skip: 1024 in.
        Assert.Equal(new Shape(256, 1024, 3, 3), model.StateDict()["decoder.up_sample_list.0.double_conv.0.conv.weight"].Shape);
    }

    [Fact]
    public void TransposedModeHalvesTheBlockChannelsBeforeConcatenating()
    {
        var model = new UNet(new UNetOptions(2, UpsampleMode: UNetUpsampleMode.TransposedConv));
        var state = model.StateDict();
        // PaddleSeg/PaddleX: deconv to out/2 = 128 channels, then 128 + 512 skip = 640 into the double conv.
        Assert.Equal(new Shape(512, 128, 2, 2), state["decoder.up_sample_list.0.deconv.weight"].Shape);
        Assert.Equal(new Shape(256, 640, 3, 3), state["decoder.up_sample_list.0.double_conv.0.conv.weight"].Shape);
        Assert.Equal(new Shape(64, 32 + 64, 3, 3), state["decoder.up_sample_list.3.double_conv.0.conv.weight"].Shape);
    }
}
