using SharpSeg.Detection.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// <see cref="FasterRcnn"/> against torchvision 0.14's Faster R-CNN ResNet-50-FPN (FrozenBatchNorm2d body, 5 classes,
/// min_size 128, max_size 160, 200 proposals) with formula weights in eval mode: strict load of torchvision's keys,
/// proposals, boxes, scores and labels (fixtures by tools/golden_detection_models.py).
/// </summary>
public class FasterRcnnTests(FasterRcnnTests.LoadedModel loaded) : IClassFixture<FasterRcnnTests.LoadedModel>
{
    private const string KeyFileName = "fasterrcnn_resnet50_fpn_c5";

    /// <summary>One model with the formula weights loaded strictly from torchvision's keys, shared by the tests (construction dominates their time).</summary>
    public sealed class LoadedModel
    {
        public LoadedModel()
        {
            // Test-time settings of the eval fixtures, training settings of the train fixture (quotas above every candidate count).
            Model = new(new FasterRcnnOptions(NumClasses: 5, MinSize: 128, MaxSize: 160,
                Rpn: new RpnOptions(PostNmsTopN: 200, PostNmsTopNTrain: 100, BatchSizePerImage: 100000),
                RoiHeads: new RoiHeadsOptions(DetectionsPerImage: 300, BatchSizePerImage: 100000), InitializeWeights: false));
            Report = Model.LoadTorchvisionStateDict(FpnTests.Keys(KeyFileName).FormulaTensors());
            Model.Eval();
        }

        public FasterRcnn Model { get; }

        public LoadReport Report { get; }
    }

    // Boxes pass through ResNet-50 activations of magnitude ~70 and exp(dw)·(anchor up to 512 px): float32 rounding moves
    // them by up to ~0.03 px from the float64 reference, 2e-4 of the 160 px image; scores stay within 1e-5.
    private const float BoxTolerance = 0.08f, ScoreTolerance = 1e-4f;

    [Fact]
    public void KeysAndFreezingMatchTorchvision()
    {
        FpnTests.AssertKeysAndFreezing(loaded.Model, KeyFileName);
        Assert.True(loaded.Report.IsExactMatch, "torchvision's state dict did not load exactly");
    }

    [Fact]
    public void DetectionsMatchTorchvision()
    {
        var result = loaded.Model.Predict([FormulaWeights.Input(3, 100, 130)])[0];

        var expected = Rows(GoldenFiles.ReadNpy("Models/frcnn_boxes.npy"), GoldenFiles.ReadNpy("Models/frcnn_scores.npy"), GoldenFiles.ReadNpy("Models/frcnn_labels.npy"));
        var actual = Rows(result.Boxes, result.Scores, result.Labels.To(DType.Float32));
        Assert.Equal(169, expected.Length);
        AssertSameRows(expected, actual, [BoxTolerance, BoxTolerance, BoxTolerance, BoxTolerance, ScoreTolerance, 0f], "detection (x1, y1, x2, y2, score, label)");
        var scores = result.Scores.ToArray();
        Assert.True(scores.Zip(scores.Skip(1)).All(p => p.First >= p.Second), "detections are not sorted by score");
    }

    [Fact]
    public void TrainingLossesAndGradientsMatchTorchvision()
    {
        var model = loaded.Model;
        model.ZeroGrad();
        var target = new RcnnTarget(Tensor.FromArray([10f, 12, 60, 70, 70, 30, 125, 95], 2, 4), Tensor.FromArray([1L, 3], 2));
        var losses = model.Losses([FormulaWeights.Input(3, 100, 130)], [target]);
        AssertLossesMatchGolden(losses, "train_");
        losses.Total.Backward();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        // Head gradients agree to 1e-4 of their scale; the FPN's and body's are sums of millions of cancelling float32 terms
        // (their scale is ~400 times smaller than the classifier's) and agree to ~1.2e-3 of it.
        foreach (var (key, tolerance) in new[] { ("roi_heads.box_predictor.cls_score.bias", 1e-4), ("rpn.head.cls_logits.bias", 1e-4),
            ("backbone.fpn.layer_blocks.0.0.bias", 5e-3), ("backbone.body.layer2.0.conv1.weight", 5e-3) })
            GoldenAssert.CloseToScale(GoldenFiles.ReadNpy($"Models/train_grad_{key.Replace('.', '_')}.npy"), parameters[key].Grad!, tolerance, $"gradient of {key}");
        model.ZeroGrad();
    }

    [Fact]
    public void AnImageWithNoObjectsTrainsOnBackgroundOnly()
    {
        // torchvision's negative-only image: every anchor and proposal is background, the two box losses are exactly 0.
        var model = loaded.Model;
        model.ZeroGrad();
        var empty = new RcnnTarget(Tensor.Zeros(0, 4), Tensor.Zeros(new Shape(0), DType.Int64));
        var losses = model.Losses([FormulaWeights.Input(3, 100, 130)], [empty]);
        AssertLossesMatchGolden(losses, "train_empty_");
        losses.Total.Backward();
        var grad = model.NamedParameters().First(p => p.Name == "rpn.head.cls_logits.bias").Parameter.Grad!.ToArray();
        Assert.All(grad, g => Assert.True(float.IsFinite(g) && g != 0, $"objectness bias gradient {g}"));
        model.ZeroGrad();
    }

    /// <summary>The four (five with a mask loss) losses against torchvision's (fixtures Models/{prefix}loss_*.npy) to 1e-4 relative.</summary>
    internal static void AssertLossesMatchGolden(FasterRcnnLosses losses, string prefix)
    {
        foreach (var (name, value) in losses.ToDictionary())
        {
            float expected = GoldenFiles.ReadNpy($"Models/{prefix}{name}.npy").ToArray()[0];
            Assert.True(MathF.Abs(value.Item() - expected) <= 1e-4f * MathF.Abs(expected), $"{prefix}{name}: {value.Item()}, expected {expected}");
        }
    }

    [Fact]
    public void DegenerateTargetBoxIsNamed()
    {
        var target = new RcnnTarget(Tensor.FromArray([10f, 12, 10, 70], 1, 4), Tensor.FromArray([1L], 1));
        var ex = Assert.Throws<ArgumentException>(() => loaded.Model.Losses([Tensor.Zeros(3, 32, 32)], [target]));
        Assert.Contains("target 0 box 0", ex.Message);
    }

    [Fact]
    public void ProposalsMatchTorchvision()
    {
        var model = loaded.Model;
        using var noGrad = GradMode.NoGrad();
        var batch = model.Transform.Forward([FormulaWeights.Input(3, 100, 130)]);
        var proposals = model.Rpn.Forward(batch, [.. model.Backbone.Forward(batch.Tensors).Values])[0];
        AssertSameRows(Rows(GoldenFiles.ReadNpy("Models/frcnn_proposals.npy")), Rows(proposals), [BoxTolerance, BoxTolerance, BoxTolerance, BoxTolerance], "proposal");
    }

    // The formula weights leave many scores within 1e-7 of each other, so rank order is not meaningful: every expected
    // row must equal a distinct actual row, column c to within tolerances[c].
    internal static void AssertSameRows(float[][] expected, float[][] actual, float[] tolerances, string what) =>
        MatchRows(expected, actual, tolerances, what);

    /// <summary>For each expected row, the index of the distinct actual row it equals (see <see cref="AssertSameRows"/>).</summary>
    internal static int[] MatchRows(float[][] expected, float[][] actual, float[] tolerances, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var used = new bool[actual.Length];
        var matches = new int[expected.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            var row = expected[i];
            int match = Enumerable.Range(0, actual.Length)
                .FirstOrDefault(j => !used[j] && row.Select((v, c) => MathF.Abs(v - actual[j][c]) <= tolerances[c]).All(ok => ok), -1);
            Assert.True(match >= 0, $"no {what} matches [{string.Join(", ", row)}]");
            used[match] = true;
            matches[i] = match;
        }
        return matches;
    }

    internal static float[][] Rows(params Tensor[] columns)
    {
        int n = columns[0].Shape[0];
        var data = columns.Select(c => c.ToArray()).ToArray();
        return [.. Enumerable.Range(0, n).Select(i => data.SelectMany(d => d.Skip(i * (d.Length / n)).Take(d.Length / n)).ToArray())];
    }

    [Fact]
    public void TransformResizesByTorchvisionsRuleAndPadsToMultiplesOf32()
    {
        var transform = loaded.Model.Transform;
        Assert.Equal((123, 160), transform.ResizedSize(100, 130));
        var batch = transform.Forward([Tensor.Ones(3, 100, 130)]);
        Assert.Equal(new Shape(1, 3, 128, 160), batch.Tensors.Shape);
        Assert.Equal((123, 160), batch.ImageSizes[0]);
        // ImageNet normalisation of a white image, zero padding below the resized rows.
        Assert.Equal((1 - 0.485f) / 0.229f, batch.Tensors.Select(2, 0).Select(1, 0).ToArray()[0], 5);
        Assert.Equal(0f, batch.Tensors.Select(2, 127).Select(1, 0).ToArray()[0]);
    }

    [Fact]
    public void AnchorsFollowTorchvisionsRoundingAndOrder()
    {
        var anchors = AnchorGenerator.FasterRcnnDefault().Anchors([(2, 3), (1, 2), (1, 1), (1, 1), (1, 1)], 64, 96).ToArray();
        // Level 0 (size 32): ratio 0.5 gives w = 32/√0.5 = 45.25, h = 22.63: half-sizes round to 23 and 11.
        Assert.Equal([-23f, -11f, 23f, 11f, -16f, -16f, 16f, 16f, -11f, -23f, 11f, 23f], anchors[..12]);
        // Second location of level 0 is one stride (96 / 3 = 32) to the right.
        Assert.Equal([32f - 23f, -11f, 32f + 23f, 11f], anchors[12..16]);
        Assert.Equal((6 + 2 + 1 + 1 + 1) * 3 * 4, anchors.Length);
    }

    [Fact]
    public void TargetFromDatasetDropsCrowdsAndKeepsBoxOrder()
    {
        var target = new SharpSeg.Detection.Data.DetectionTarget([1f, 2, 11, 12, 0, 0, 5, 5, 3, 4, 9, 9], [2, 1, 3], isCrowd: [false, true, false]);
        var rcnn = RcnnTarget.From(target);
        Assert.Equal(new Shape(2, 4), rcnn.Boxes.Shape);
        Assert.Equal([1f, 2, 11, 12, 3, 4, 9, 9], rcnn.Boxes.ToArray());
        Assert.Equal([2L, 3], rcnn.Labels.ToArray<long>());
    }
}
