using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Detection.Tests.Ops;

/// <summary>
/// <see cref="VisionOps"/> and <see cref="Functional.SmoothL1Loss"/> against torchvision 0.14 (fixtures by
/// tools/golden_detection_ops.py under Golden/Ops), plus hand-built NMS ties and a finite-difference RoIAlign gradient.
/// </summary>
public class DetectionOpsTests
{
    private static Tensor Golden(string name) => GoldenFiles.ReadNpy($"Ops/{name}.npy");

    private static long[] Indices(Tensor golden) => golden.ToArray().Select(v => (long)v).ToArray();

    [Fact]
    public void BoxAreaAndIouMatchTorchvision()
    {
        var a = Golden("boxes_a");
        var b = Golden("boxes_b");
        GoldenAssert.Close(Golden("boxes_area"), VisionOps.BoxArea(a), "box_area", 1e-6f);
        var iou = VisionOps.BoxIou(a, b);
        GoldenAssert.Close(Golden("boxes_iou"), iou, "box_iou", 1e-6f);
        Assert.Equal(1f, iou.ToArray()[1 * 5 + 0], 6);
    }

    [Fact]
    public void ClipAndRemoveSmallMatchTorchvision()
    {
        Assert.Equal(Golden("boxes_clipped").ToArray(), VisionOps.ClipBoxesToImage(Golden("boxes_b"), height: 20, width: 30).ToArray());
        var keep = VisionOps.RemoveSmallBoxes(Golden("boxes_a"), 2f);
        Assert.Equal(DType.Int64, keep.DType);
        Assert.Equal(Indices(Golden("boxes_small_keep")), keep.ToArray<long>());
    }

    [Theory]
    [InlineData("nms_keep05", 0.5f)]
    [InlineData("nms_keep03", 0.3f)]
    public void NmsMatchesTorchvisionWithTiedScores(string expected, float threshold)
    {
        var keep = VisionOps.Nms(Golden("nms_boxes"), Golden("nms_scores"), threshold);
        Assert.Equal(Indices(Golden(expected)), keep.ToArray<long>());
    }

    [Fact]
    public void BatchedNmsMatchesTorchvision()
    {
        var classes = Golden("nms_classes").To(DType.Int64);
        var keep = VisionOps.BatchedNms(Golden("nms_boxes"), Golden("nms_scores"), classes, 0.5f);
        Assert.Equal(Indices(Golden("nms_batched05")), keep.ToArray<long>());
    }

    [Fact]
    public void NmsKeepsTheEarlierOfTiedBoxesAndSuppressesOnlyAboveTheThreshold()
    {
        // Boxes 0 and 1 are identical with equal scores: the earlier survives. Box 2 overlaps box 0 with IoU exactly
        // 0.5 (intersection 50, union 100): not suppressed at threshold 0.5, suppressed at 0.49.
        var boxes = Tensor.FromArray([0f, 0, 10, 5, 0, 0, 10, 5, 0, 0, 10, 10, 20, 20, 21, 21], 4, 4);
        var scores = Tensor.FromArray([0.5f, 0.5f, 0.4f, 0.9f], 4);
        Assert.Equal([3L, 0, 2], VisionOps.Nms(boxes, scores, 0.5f).ToArray<long>());
        Assert.Equal([3L, 0], VisionOps.Nms(boxes, scores, 0.49f).ToArray<long>());
        var classes = Tensor.FromArray([0L, 1, 0, 0], 4);
        Assert.Equal([3L, 0, 1], VisionOps.BatchedNms(boxes, scores, classes, 0.49f).ToArray<long>());
        Assert.Equal(0, VisionOps.Nms(Tensor.Zeros(0, 4), Tensor.Zeros(0), 0.5f).Numel);
    }

    [Theory]
    [InlineData(0, 3, 4, 0.5f, 2, false)]
    [InlineData(1, 2, 2, 1f, -1, true)]
    [InlineData(2, 4, 3, 0.25f, 0, false)]
    public void RoiAlignForwardAndBackwardMatchTorchvision(int k, int outH, int outW, float scale, int ratio, bool aligned)
    {
        var input = Golden("roialign_input");
        input.RequiresGrad = true;
        var output = VisionOps.RoiAlign(input, Golden("roialign_rois"), new Size2(outH, outW), scale, ratio, aligned);
        GoldenAssert.Close(Golden($"roialign{k}_output"), output, $"roi_align case {k}", 1e-5f);
        (output * Golden($"roialign{k}_upstream")).Sum().Backward();
        GoldenAssert.Close(Golden($"roialign{k}_grad"), input.Grad!, $"roi_align case {k} input gradient", 1e-5f);
    }

    [Fact]
    public void RoiAlignGradientMatchesFiniteDifferences()
    {
        var random = new Random(3);
        var input = Tensor.Randn(new Shape(1, 2, 6, 7), random);
        var rois = Tensor.FromArray([0f, 0.7f, 1.2f, 5.1f, 4.6f, 0, -0.8f, 2.3f, 3.3f, 6.9f], 2, 5);
        var upstream = Tensor.Randn(new Shape(2, 2, 2, 3), random);
        float Loss(Tensor x) => (VisionOps.RoiAlign(x, rois, new Size2(2, 3), 1f, 2, aligned: true) * upstream).Sum().Item();

        var leaf = input.Clone();
        leaf.RequiresGrad = true;
        (VisionOps.RoiAlign(leaf, rois, new Size2(2, 3), 1f, 2, aligned: true) * upstream).Sum().Backward();
        var analytic = leaf.Grad!.ToArray();
        var values = input.ToArray();
        const float h = 1e-2f;
        for (int i = 0; i < values.Length; i++)
        {
            // RoIAlign is linear in its input, so a central difference is exact up to float rounding.
            var plus = (float[])values.Clone();
            var minus = (float[])values.Clone();
            plus[i] += h;
            minus[i] -= h;
            float numeric = (Loss(Tensor.FromArray(plus, 1, 2, 6, 7)) - Loss(Tensor.FromArray(minus, 1, 2, 6, 7))) / (2 * h);
            Assert.True(MathF.Abs(numeric - analytic[i]) < 2e-3f, $"element {i}: analytic {analytic[i]}, numeric {numeric}");
        }
        Assert.Contains(analytic, v => v != 0f);
    }

    [Fact]
    public void RoiAlignNamesABadBatchIndex()
    {
        var ex = Assert.Throws<ShapeMismatchException>(() =>
            VisionOps.RoiAlign(Tensor.Zeros(1, 1, 4, 4), Tensor.FromArray([1f, 0, 0, 2, 2], 1, 5), new Size2(2, 2)));
        Assert.Contains("batch index 1", ex.Message);
    }

    [Fact]
    public void RoiAlignPerImageBoxesEqualsRoiRows()
    {
        var input = Golden("roialign_input");
        var boxes0 = Tensor.FromArray([1f, 1, 9, 7], 1, 4);
        var boxes1 = Tensor.FromArray([0f, 0, 23, 19, 15, 12, 30, 26], 2, 4);
        var rows = Tensor.FromArray([0f, 1, 1, 9, 7, 1, 0, 0, 23, 19, 1, 15, 12, 30, 26], 3, 5);
        Assert.Equal(VisionOps.RoiAlign(input, rows, new Size2(3, 3), 0.5f, 2).ToArray(),
            VisionOps.RoiAlign(input, [boxes0, boxes1], new Size2(3, 3), 0.5f, 2).ToArray());
    }

    [Fact]
    public void SmoothL1MatchesTorchWithDetectionBeta()
    {
        var input = Golden("smoothl1_input");
        input.RequiresGrad = true;
        var loss = Functional.SmoothL1Loss(input, Golden("smoothl1_target"), Reduction.Sum, beta: 1f / 9);
        Assert.Equal(Golden("smoothl1_loss").ToArray()[0], loss.Item(), 5);
        loss.Backward();
        GoldenAssert.Close(Golden("smoothl1_grad"), input.Grad!, "smooth_l1 gradient", 1e-5f);
    }

    [Theory]
    [InlineData(0, 0.25f, 2f, Reduction.Mean)]
    [InlineData(1, -1f, 1.5f, Reduction.Sum)]
    public void SigmoidFocalLossMatchesTorchvision(int k, float alpha, float gamma, Reduction reduction)
    {
        var input = Golden("focal_input");
        input.RequiresGrad = true;
        var loss = VisionOps.SigmoidFocalLoss(input, Golden("focal_target"), alpha, gamma, reduction);
        float expected = Golden($"focal{k}_loss").ToArray()[0];
        Assert.True(MathF.Abs(loss.Item() - expected) <= 1e-5f * MathF.Abs(expected), $"loss {loss.Item()}, expected {expected}");
        loss.Backward();
        GoldenAssert.Close(Golden($"focal{k}_grad"), input.Grad!, $"focal case {k} gradient", 1e-4f);
    }
}
