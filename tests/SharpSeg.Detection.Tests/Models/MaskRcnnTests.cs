using SharpSeg.Detection.Data;
using SharpSeg.Detection.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;
using SharpSeg.Nn.Interop;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// <see cref="MaskRcnn"/> against torchvision 0.14's Mask R-CNN ResNet-50-FPN (FrozenBatchNorm2d body, 5 classes, min_size
/// 128, max_size 160, 200 proposals, 9 detections) with formula weights: strict load of torchvision's keys, detections,
/// 28×28 and pasted masks in eval mode, the five training losses and head gradients (fixtures by tools/golden_mask_rcnn.py).
/// </summary>
public class MaskRcnnTests(MaskRcnnTests.LoadedModel loaded) : IClassFixture<MaskRcnnTests.LoadedModel>
{
    private const string KeyFileName = "maskrcnn_resnet50_fpn_c5";

    /// <summary>One model with the formula weights loaded strictly from torchvision's keys, shared by the tests.</summary>
    public sealed class LoadedModel
    {
        public LoadedModel()
        {
            Model = new(new FasterRcnnOptions(NumClasses: 5, MinSize: 128, MaxSize: 160,
                Rpn: new RpnOptions(PostNmsTopN: 200, PostNmsTopNTrain: 100, BatchSizePerImage: 100000),
                RoiHeads: new RoiHeadsOptions(DetectionsPerImage: 9, BatchSizePerImage: 100000), InitializeWeights: false));
            Report = Model.LoadTorchvisionStateDict(FpnTests.Keys(KeyFileName).FormulaTensors());
            Model.Eval();
        }

        public MaskRcnn Model { get; }

        public LoadReport Report { get; }
    }

    // As FasterRcnnTests: float32 boxes sit within ~0.03 px of the float64 reference, scores within 1e-5. One detection's
    // mask is unusually sensitive to its box: torch's own float32 run (box 0.003 px off) differs from its float64 one by
    // 1.4e-4 there, ours (0.004 px off) by 6e-4, while the other eight agree to 4e-5. So the model's own 28×28 maps get
    // 1e-3, and the mask branch run on torch's boxes, which removes the box error, gets 1e-4.
    private const float BoxTolerance = 0.08f, ScoreTolerance = 1e-4f, Mask28Tolerance = 1e-3f, MaskTolerance = 1e-4f;

    [Fact]
    public void KeysAndFreezingMatchTorchvision()
    {
        FpnTests.AssertKeysAndFreezing(loaded.Model, KeyFileName);
        Assert.True(loaded.Report.IsExactMatch, "torchvision's state dict did not load exactly");
    }

    [Fact]
    public void DefaultModelsHaveTorchvisionsKeysAndShapes()
    {
        // maskrcnn_resnet50_fpn / fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None): 91 classes, BatchNorm2d body,
        // every layer trainable.
        var options = new FasterRcnnOptions(TrainableBackboneLayers: 5, FrozenBatchNorm: false, InitializeWeights: false);
        FpnTests.AssertKeysAndFreezing(new MaskRcnn(options), "maskrcnn_resnet50_fpn");
        FpnTests.AssertKeysAndFreezing(new FasterRcnn(options), "fasterrcnn_resnet50_fpn");
    }

    [Fact]
    public void DetectionsAndMasksMatchTorchvision()
    {
        var model = loaded.Model;
        var image = FormulaWeights.Input(3, 100, 130);
        var result = model.Predict([image])[0];
        var expected = FasterRcnnTests.Rows(GoldenFiles.ReadNpy("Models/mrcnn_boxes.npy"), GoldenFiles.ReadNpy("Models/mrcnn_scores.npy"),
            GoldenFiles.ReadNpy("Models/mrcnn_labels.npy"));
        Assert.Equal(9, expected.Length);
        var match = FasterRcnnTests.MatchRows(expected, FasterRcnnTests.Rows(result.Boxes, result.Scores, result.Labels.To(DType.Float32)),
            [BoxTolerance, BoxTolerance, BoxTolerance, BoxTolerance, ScoreTolerance, 0f], "detection (x1, y1, x2, y2, score, label)");

        // The 28×28 probabilities before pasting (the heads' output in the resized image).
        using (GradMode.NoGrad())
        {
            var batch = model.Transform.Forward([image]);
            var features = model.Backbone.Forward(batch.Tensors);
            var heads = model.RoiHeads.Forward(features, model.Rpn.Forward(batch, [.. features.Values]), batch.ImageSizes)[0];
            Assert.Equal(new Shape(9, 1, 28, 28), heads.Masks!.Shape);
            var expected28 = GoldenFiles.ReadNpy("Models/mrcnn_masks28.npy");
            AssertMasksMatch(expected28, heads.Masks, match, "28×28 mask", Mask28Tolerance);
            // torch's boxes (mapped back to the resized image) through our mask branch: the label-2 map of every detection.
            var torchBoxes = GeneralizedRcnnTransform.ResizeBoxes(GoldenFiles.ReadNpy("Models/mrcnn_boxes.npy"), (100, 130), batch.ImageSizes[0]);
            var branch = model.RoiHeads.Mask!;
            var logits = branch.Predictor.Forward(branch.Head.Forward(branch.RoiPool.Forward(features, [torchBoxes], batch.ImageSizes)));
            Assert.All(expected.Select(r => r[5]), label => Assert.Equal(2f, label));
            AssertMasksMatch(expected28, logits.Narrow(1, 2, 1).Sigmoid(), [.. Enumerable.Range(0, 9)], "28×28 mask of torch's box", MaskTolerance);
        }
        Assert.Equal(new Shape(9, 1, 100, 130), result.Masks!.Shape);
        AssertMasksMatch(GoldenFiles.ReadNpy("Models/mrcnn_masks.npy"), result.Masks, match, "pasted mask", MaskTolerance);
    }

    /// <summary>Mask i of <paramref name="expected"/> against mask match[i] of <paramref name="actual"/>, element by element.</summary>
    private static void AssertMasksMatch(Tensor expected, Tensor actual, int[] match, string what, float tolerance)
    {
        int size = expected.Shape[1] * expected.Shape[2] * expected.Shape[3];
        var e = expected.ToArray();
        var a = actual.ToArray();
        // The formula weights keep every probability near 0.32, but their spread (0.014) is still 140 tolerances.
        Assert.True(e.Max() - e.Min() >= 0.01f, $"{what}: the expected masks are nearly constant");
        for (int i = 0; i < match.Length; i++)
            for (int p = 0; p < size; p++)
                Assert.True(MathF.Abs(e[i * size + p] - a[match[i] * size + p]) <= tolerance,
                    $"{what} {i}, pixel {p}: {a[match[i] * size + p]}, expected {e[i * size + p]}");
    }

    /// <summary>The two training objects of the fixture: an ellipse and a notched rectangle in a 100×130 image.</summary>
    internal static Tensor TrainingMasks()
    {
        var masks = new float[2 * 100 * 130];
        for (int y = 0; y < 100; y++)
            for (int x = 0; x < 130; x++)
            {
                double dx = (x + 0.5 - 35) / 25, dy = (y + 0.5 - 41) / 29;
                masks[y * 130 + x] = dx * dx + dy * dy <= 1 ? 1 : 0;
                masks[13000 + y * 130 + x] = x >= 70 && x < 125 && y >= 30 && y < 95 && !(x >= 100 && y < 50) ? 1 : 0;
            }
        return Tensor.FromArray(masks, 2, 100, 130);
    }

    [Fact]
    public void TargetMasksResizeByNearestAsTorchvision()
    {
        var resized = GeneralizedRcnnTransform.ResizeMasks(TrainingMasks(), loaded.Model.Transform.ResizedSize(100, 130));
        Assert.Equal(GoldenFiles.ReadNpy("Models/mask_resize.npy").ToArray(), resized.ToArray());
    }

    [Fact]
    public void TrainingLossesAndGradientsMatchTorchvision()
    {
        var model = loaded.Model;
        model.ZeroGrad();
        var target = new RcnnTarget(Tensor.FromArray([10f, 12, 60, 70, 70, 30, 125, 95], 2, 4), Tensor.FromArray([1L, 3], 2), TrainingMasks());
        var losses = model.Losses([FormulaWeights.Input(3, 100, 130)], [target]);
        Assert.Equal(["loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness", "loss_rpn_box_reg"], losses.ToDictionary().Keys);
        FasterRcnnTests.AssertLossesMatchGolden(losses, "mtrain_");
        losses.Total.Backward();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        // The mask head's bias gradient sums P·14·14 terms behind the transposed convolution: torch's own float32 run differs
        // from its float64 one by 4.3e-3 of the scale there (ours by 1.1e-3), so it gets the backbone's 5e-3.
        foreach (var (key, tolerance) in new[] { ("roi_heads.mask_predictor.mask_fcn_logits.bias", 1e-4), ("roi_heads.mask_head.3.0.bias", 5e-3),
            ("roi_heads.box_predictor.cls_score.bias", 1e-4) })
            GoldenAssert.CloseToScale(GoldenFiles.ReadNpy($"Models/mtrain_grad_{key.Replace('.', '_')}.npy"), parameters[key].Grad!, tolerance, $"gradient of {key}");
        model.ZeroGrad();
    }

    [Fact]
    public void AnImageWithNoObjectsHasAZeroMaskLoss()
    {
        var model = loaded.Model;
        model.ZeroGrad();
        var empty = new RcnnTarget(Tensor.Zeros(0, 4), Tensor.Zeros(new Shape(0), DType.Int64), Tensor.Zeros(0, 100, 130));
        var losses = model.Losses([FormulaWeights.Input(3, 100, 130)], [empty]);
        FasterRcnnTests.AssertLossesMatchGolden(losses, "mtrain_empty_");
        Assert.Equal(0f, losses.Mask!.Item());
        // As torchvision's mask_logits.sum() * 0, the zero still backpropagates (to zero gradients).
        losses.Mask.Backward();
        var grad = model.NamedParameters().First(p => p.Name == "roi_heads.mask_predictor.mask_fcn_logits.bias").Parameter.Grad!.ToArray();
        Assert.All(grad, g => Assert.Equal(0f, g));
        model.ZeroGrad();
    }

    [Fact]
    public void TargetsWithoutMasksAreRefusedByName()
    {
        var target = new RcnnTarget(Tensor.FromArray([10f, 12, 60, 70], 1, 4), Tensor.FromArray([1L], 1));
        var ex = Assert.Throws<ShapeMismatchException>(() => loaded.Model.Losses([Tensor.Zeros(3, 100, 130)], [target]));
        Assert.Contains("target 0 needs masks [1, 100, 130]", ex.Message);
        var wrongSize = target with { Masks = Tensor.Zeros(1, 50, 130) };
        Assert.Throws<ShapeMismatchException>(() => loaded.Model.Losses([Tensor.Zeros(3, 100, 130)], [wrongSize]));
    }

    [Fact]
    public void PasteMasksInImageMatchesTorchvision()
    {
        var pasted = MaskOps.PasteMasksInImage(GoldenFiles.ReadNpy("Models/paste_masks.npy"), GoldenFiles.ReadNpy("Models/paste_boxes.npy"), (50, 70));
        GoldenAssert.Close(GoldenFiles.ReadNpy("Models/paste_result.npy"), pasted, "pasted masks", 1e-6f);
        Assert.Equal(new Shape(0, 1, 50, 70), MaskOps.PasteMasksInImage(Tensor.Zeros(0, 1, 28, 28), Tensor.Zeros(0, 4), (50, 70)).Shape);
    }

    [Fact]
    public void ProjectMasksOnBoxesMatchesTorchvision()
    {
        var projected = MaskOps.ProjectMasksOnBoxes(GoldenFiles.ReadNpy("Models/project_gt.npy"), GoldenFiles.ReadNpy("Models/project_boxes.npy"), [1, 0, 1], 28);
        GoldenAssert.Close(GoldenFiles.ReadNpy("Models/project_result.npy"), projected, "projected masks", 1e-6f);
    }

    [Fact]
    public void TargetFromDatasetCarriesMasksWithoutCrowds()
    {
        var masks = new InstanceMasks(3, 4, 5);
        masks[0][1] = 1;
        masks[1][2] = 1;
        masks[2][3] = 7;
        var target = new DetectionTarget([0f, 0, 2, 2, 1, 1, 3, 3, 0, 0, 4, 4], [1, 2, 3], masks, isCrowd: [false, true, false]);
        var rcnn = RcnnTarget.From(target);
        // One byte a pixel, as torchvision's uint8 masks: no float [K, H, W] tensor is made for the dataset's masks.
        Assert.Null(rcnn.Masks);
        Assert.Equal((2, 4, 5), (rcnn.MaskBytes!.Count, rcnn.MaskBytes.Height, rcnn.MaskBytes.Width));
        var values = rcnn.MaskBytes.Data;
        Assert.Equal(1, values[1]);
        Assert.Equal(7, values[20 + 3]);
        Assert.Equal(8, values.Sum(v => v));
    }

    [Fact]
    public void ByteMaskTargetsGiveTheSameLossesAsFloatOnes()
    {
        var model = loaded.Model;
        var boxes = Tensor.FromArray([10f, 12, 60, 70, 70, 30, 125, 95], 2, 4);
        var labels = Tensor.FromArray([1L, 3], 2);
        var floats = TrainingMasks();
        var bytes = new InstanceMasks(2, 100, 130, [.. floats.ToArray().Select(v => (byte)v)]);
        var fromFloats = model.Losses([FormulaWeights.Input(3, 100, 130)], [new RcnnTarget(boxes, labels, floats)], new Random(5)).ToDictionary();
        var fromBytes = model.Losses([FormulaWeights.Input(3, 100, 130)], [new RcnnTarget(boxes, labels) { MaskBytes = bytes }], new Random(5)).ToDictionary();
        foreach (var (name, loss) in fromFloats)
            Assert.Equal(loss.Item(), fromBytes[name].Item());
        // The byte resize is torchvision's nearest resize too.
        var size = loaded.Model.Transform.ResizedSize(100, 130);
        Assert.Equal(GoldenFiles.ReadNpy("Models/mask_resize.npy").ToArray(),
            DetectionGeometry.ResizeMasksNearest(bytes, size.H, size.W).Data.Select(v => (float)v).ToArray());
    }
}

/// <summary>
/// A small Mask R-CNN (one convolution as backbone, width 8, 3 classes) saved by torch as a <c>.pth</c> file: strict load
/// through <see cref="WeightFile"/> and outputs equal to torch's; and images with no proposals, no detections or no
/// objects, for Mask R-CNN and Faster R-CNN (fixtures by tools/golden_mask_rcnn.py).
/// </summary>
public class TinyRcnnTests
{
    /// <summary>One 3×3 stride-4 convolution with ReLU returning map "0" (twin of golden_mask_rcnn.py's TinyBackbone).</summary>
    private sealed class TinyBackbone : DetectionBackbone
    {
        private readonly Conv2d _body;

        public TinyBackbone() => _body = Child("body", new Conv2d(3, 8, 3, stride: 4, padding: 1));

        public override int OutChannels => 8;

        public override OrderedDictionary<string, Tensor> Forward(Tensor images) => new() { ["0"] = _body.Forward(images).Relu() };
    }

    private static FasterRcnnOptions Options(RpnOptions? rpn = null, RoiHeadsOptions? roiHeads = null) =>
        new(NumClasses: 3, MinSize: 64, MaxSize: 96, RepresentationSize: 32, Rpn: rpn, RoiHeads: roiHeads ?? new RoiHeadsOptions(DetectionsPerImage: 10));

    private static MaskRcnn TinyMaskRcnn(FasterRcnnOptions options) => new(options, new TinyBackbone(), new AnchorGenerator([[16f, 32f, 64f]], [[0.5f, 1f, 2f]]),
        new MultiScaleRoIAlign(["0"], new Size2(7, 7), 2),
        new MaskBranch(new MultiScaleRoIAlign(["0"], new Size2(14, 14), 2), new MaskRcnnHeads(8, [8, 8, 8, 8]), new MaskRcnnPredictor(8, 8, 3)));

    private static FasterRcnn TinyFasterRcnn(FasterRcnnOptions options) =>
        new(options, new TinyBackbone(), new AnchorGenerator([[16f, 32f, 64f]], [[0.5f, 1f, 2f]]), new MultiScaleRoIAlign(["0"], new Size2(7, 7), 2));

    private static MaskRcnn Loaded(FasterRcnnOptions options)
    {
        var model = TinyMaskRcnn(options);
        var report = model.LoadTorchvisionStateDict(WeightFile.Load(GoldenFiles.PathOf("Models/tiny_maskrcnn.pth")));
        Assert.True(report.IsExactMatch, "torch's .pth did not load exactly");
        model.Eval();
        return model;
    }

    [Fact]
    public void TorchSavedModelLoadsStrictlyAndPredictsAsTorch()
    {
        var result = Loaded(Options()).Predict([FormulaWeights.Input(3, 60, 80)])[0];
        // Random weights spread the scores (adjacent ones differ by 2e-4 or more), so rank order is meaningful here.
        GoldenAssert.Close(GoldenFiles.ReadNpy("Models/tiny_boxes.npy"), result.Boxes, "boxes", 1e-4f);
        GoldenAssert.Close(GoldenFiles.ReadNpy("Models/tiny_scores.npy"), result.Scores, "scores", 1e-4f);
        Assert.Equal(GoldenFiles.ReadNpy("Models/tiny_labels.npy").ToArray(), result.Labels.To(DType.Float32).ToArray());
        Assert.Equal(new Shape(10, 1, 60, 80), result.Masks!.Shape);
        var expected = GoldenFiles.ReadNpy("Models/tiny_masks.npy").ToArray();
        var actual = result.Masks.ToArray();
        Assert.Contains(expected, v => v > 0.5f);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-4f, $"mask element {i}: {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void OldMaskHeadKeysLoadAsTorchvisionRenamesThem()
    {
        // Checkpoints before torchvision 0.13 (the published COCO file among them) name the head's layers mask_fcn1…4.
        var model = TinyMaskRcnn(Options());
        var renamed = new Dictionary<string, Tensor>();
        foreach (var (key, value) in WeightFile.Load(GoldenFiles.PathOf("Models/tiny_maskrcnn.pth")))
        {
            var parts = key.Split('.');
            renamed[key.StartsWith("roi_heads.mask_head.", StringComparison.Ordinal)
                ? $"roi_heads.mask_head.mask_fcn{int.Parse(parts[2]) + 1}.{parts[4]}" : key] = value;
        }
        Assert.Contains("roi_heads.mask_head.mask_fcn4.weight", renamed.Keys);
        Assert.True(model.LoadTorchvisionStateDict(renamed).IsExactMatch);
        Assert.Equal(renamed["roi_heads.mask_head.mask_fcn3.bias"].ToArray(),
            model.StateDict()["roi_heads.mask_head.2.0.bias"].ToArray());
    }

    [Fact]
    public void NoProposalsOrNoDetectionsGiveEmptyResultsOfTheRightShapes()
    {
        var image = FormulaWeights.Input(3, 60, 80);
        // Objectness probabilities never reach 1.1: the RPN proposes nothing. A class probability never exceeds 1: nothing is detected.
        var noProposals = Options(rpn: new RpnOptions(ScoreThresh: 1.1f));
        var noDetections = Options(roiHeads: new RoiHeadsOptions(ScoreThresh: 1f));
        foreach (var options in new[] { noProposals, noDetections })
        {
            var masked = Loaded(options).Predict([image, image])[1];
            Assert.Equal(new Shape(0, 4), masked.Boxes.Shape);
            Assert.Equal(new Shape(0), masked.Scores.Shape);
            Assert.Equal(new Shape(0), masked.Labels.Shape);
            Assert.Equal(new Shape(0, 1, 60, 80), masked.Masks!.Shape);
            var boxesOnly = TinyFasterRcnn(options);
            boxesOnly.Eval();
            var result = boxesOnly.Predict([image])[0];
            Assert.Equal(new Shape(0, 4), result.Boxes.Shape);
            Assert.Equal(new Shape(0), result.Labels.Shape);
            Assert.Null(result.Masks);
        }
    }

    [Fact]
    public void TrainingWithoutProposalsUsesTheGroundTruthBoxes()
    {
        // torchvision adds the ground-truth boxes to the proposals, so with none proposed they are the only (positive) samples.
        var options = Options(rpn: new RpnOptions(ScoreThresh: 1.1f));
        var mask = Tensor.FromArray([.. Enumerable.Range(0, 4800).Select(p => p % 80 >= 10 && p % 80 < 35 && p / 80 >= 8 ? 1f : 0f)], 1, 60, 80);
        var target = new RcnnTarget(Tensor.FromArray([5f, 6, 40, 50], 1, 4), Tensor.FromArray([2L], 1), mask);
        var model = Loaded(options);
        model.Train();
        var losses = model.Losses([FormulaWeights.Input(3, 60, 80)], [target]);
        Assert.All(losses.ToDictionary().Values, l => Assert.True(float.IsFinite(l.Item()), "a loss is not finite"));
        Assert.True(losses.Mask!.Item() > 0);
        losses.Total.Backward();
        var grad = model.NamedParameters().First(p => p.Name == "roi_heads.mask_predictor.mask_fcn_logits.bias").Parameter.Grad!.ToArray();
        Assert.True(grad[2] != 0 && grad[0] == 0 && grad[1] == 0, $"only class 2's mask logits are trained, got [{string.Join(", ", grad)}]");

        // Nothing proposed and nothing annotated: the RoI heads have no sample (torchvision's means over none are NaN); their
        // three losses are exact zeros, the RPN still learns from its negative anchors.
        model.ZeroGrad();
        var nothing = new RcnnTarget(Tensor.Zeros(0, 4), Tensor.Zeros(new Shape(0), DType.Int64), Tensor.Zeros(0, 60, 80));
        var none = model.Losses([FormulaWeights.Input(3, 60, 80)], [nothing]);
        Assert.Equal([0f, 0f, 0f], new[] { none.Classifier.Item(), none.BoxReg.Item(), none.Mask!.Item() });
        Assert.True(none.Objectness.Item() > 0 && none.RpnBoxReg.Item() == 0);
        none.Total.Backward();
        Assert.All(model.NamedParameters().Where(p => p.Parameter.Grad is not null).SelectMany(p => p.Parameter.Grad!.ToArray()),
            g => Assert.True(float.IsFinite(g)));

        var fasterRcnn = TinyFasterRcnn(options);
        var boxLosses = fasterRcnn.Losses([FormulaWeights.Input(3, 60, 80)], [target with { Masks = null }]);
        Assert.Null(boxLosses.Mask);
        Assert.All(boxLosses.ToDictionary().Values, l => Assert.True(float.IsFinite(l.Item()), "a loss is not finite"));
    }
}
