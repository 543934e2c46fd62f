using SharpSeg.Detection.Models;
using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// <see cref="BoxCoder"/> and <see cref="LevelMapper"/> against torchvision 0.14 (fixtures by tools/golden_detection_ops.py),
/// and the multi-level RoIAlign behind <see cref="MultiScaleRoIAlign"/> against single-level RoIAlign.
/// </summary>
public class BoxCoderAndPoolerTests
{
    private static Tensor Golden(string name) => GoldenFiles.ReadNpy($"Ops/{name}.npy");

    [Fact]
    public void EncodeAndDecodeMatchTorchvisionIncludingTheClamp()
    {
        var coder = new BoxCoder((10f, 10f, 5f, 5f));
        GoldenAssert.Close(Golden("coder_encoded"), coder.EncodeSingle(Golden("coder_gt"), Golden("coder_proposals")), "encode", 1e-5f);
        var decoded = coder.DecodeSingle(Golden("coder_deltas"), Golden("coder_proposals"));
        GoldenAssert.Close(Golden("coder_decoded"), decoded, "decode", 1e-5f);
        // Row 0's dw of 30/5 = 6 is clamped to log(1000/16): the box is 62.5 times its proposal's width.
        var proposal = Golden("coder_proposals").ToArray();
        var box = decoded.ToArray();
        Assert.Equal(62.5f * (proposal[2] - proposal[0]), box[2] - box[0], 2);
    }

    [Fact]
    public void DecodeInvertsEncode()
    {
        var coder = new BoxCoder((1f, 1f, 1f, 1f));
        var proposals = Golden("coder_proposals");
        // Sizes within the clamp (a ratio of 1.1, far below 62.5), so decoding undoes encoding.
        var gt = proposals * 1.1f + 2f;
        GoldenAssert.Close(gt, coder.DecodeSingle(coder.EncodeSingle(gt, proposals), proposals), "decode(encode(gt))", 1e-5f);
    }

    [Fact]
    public void LevelMapperMatchesTorchvision()
    {
        var expected = Golden("levels_levels").ToArray().Select(v => (int)v).ToArray();
        Assert.Equal(expected, new LevelMapper(2, 5).Map([Golden("levels_boxes")]));
    }

    [Fact]
    public void MultiScaleRoiAlignPoolsEachRoiFromItsLevelWithGradients()
    {
        var random = new Random(5);
        var fine = Tensor.Randn(new Shape(1, 2, 16, 16), random);
        var coarse = Tensor.Randn(new Shape(1, 2, 8, 8), random);
        fine.RequiresGrad = coarse.RequiresGrad = true;
        var rois = Tensor.FromArray([0f, 2, 3, 20, 30, 0, 1, 1, 9, 9, 0, 10, 4, 60, 50], 3, 5);
        int[] levels = [1, 0, 1];
        var pooled = VisionOps.MultiScaleRoiAlign([fine, coarse], rois, levels, [0.25f, 0.125f], new Size2(2, 2), samplingRatio: 2);
        var upstream = Tensor.Randn(pooled.Shape, random);
        (pooled * upstream).Sum().Backward();

        var fineRef = fine.Detach().Clone();
        var coarseRef = coarse.Detach().Clone();
        fineRef.RequiresGrad = coarseRef.RequiresGrad = true;
        var coarseRows = Tensor.FromArray([0f, 2, 3, 20, 30, 0, 10, 4, 60, 50], 2, 5);
        var coarsePooled = VisionOps.RoiAlign(coarseRef, coarseRows, new Size2(2, 2), 0.125f, 2);
        var finePooled = VisionOps.RoiAlign(fineRef, rois.Narrow(0, 1, 1), new Size2(2, 2), 0.25f, 2);
        var expected = Tensor.Cat([coarsePooled.Narrow(0, 0, 1), finePooled, coarsePooled.Narrow(0, 1, 1)]);
        Assert.Equal(expected.ToArray(), pooled.ToArray());
        (expected * upstream).Sum().Backward();
        Assert.Equal(fineRef.Grad!.ToArray(), fine.Grad!.ToArray());
        Assert.Equal(coarseRef.Grad!.ToArray(), coarse.Grad!.ToArray());
    }
}
