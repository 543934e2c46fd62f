using System.Text.Json;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;

namespace SharpSeg.Detection.Tests.Evaluation;

/// <summary>
/// COCO metrics against tools/coco_eval_reference.py (COCOeval's algorithm reimplemented in numpy;
/// tools/coco_eval_crosscheck.py found its outputs identical, difference 0, to the COCO API's own cocoeval.py run over its
/// compiled maskApi.c) on the committed set under Golden/coco: 5 images, 4 categories (one never annotated), crowd regions,
/// every area range, equal scores within and across images, an image with 24 objects of one category and more than 100
/// detections.
/// </summary>
public class CocoEvaluatorTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Golden", "coco");

    // instances_ignore.json flags ten annotations "ignore": 1 (ordinary objects of every size and a crowd); its reference
    // numbers equal pycocotools' with _prepare keeping that flag (tools/coco_eval_crosscheck.py, difference 0).
    [Theory]
    [InlineData(CocoIouType.Bbox, "results_bbox.json", "bbox", "instances.json", "expected.json")]
    [InlineData(CocoIouType.Segm, "results_segm.json", "segm", "instances.json", "expected.json")]
    [InlineData(CocoIouType.Bbox, "results_bbox.json", "bbox", "instances_ignore.json", "expected_ignore.json")]
    [InlineData(CocoIouType.Segm, "results_segm.json", "segm", "instances_ignore.json", "expected_ignore.json")]
    public void MetricsEqualTheReference(CocoIouType iouType, string results, string key, string instances, string expectedFile)
    {
        var gt = CocoAnnotationFile.Load(Path.Combine(Folder, instances));
        var detections = CocoResultsFile.Load(Path.Combine(Folder, results), gt);
        var accumulation = CocoEvaluator.Evaluate(iouType, gt.Images.Select(i => i.Id), gt.Categories.Select(c => c.Id),
            gt.Images.SelectMany(i => gt.GroundTruths(i.Id)), detections);

        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, expectedFile)));
        var reference = expected.RootElement.GetProperty(key);
        var stats = accumulation.Summarize().Stats;
        var expectedStats = reference.GetProperty("stats").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int i = 0; i < stats.Length; i++)
            Assert.True(Math.Abs(stats[i] - expectedStats[i]) <= 1e-6,
                $"{key} {CocoMetrics.StatNames[i]}: ours {stats[i]:R}, reference {expectedStats[i]:R}");

        var recall = reference.GetProperty("recall").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var meanPrecision = reference.GetProperty("precision_mean_over_recall").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        int T = accumulation.Recall.GetLength(0), K = accumulation.Recall.GetLength(1), A = accumulation.Recall.GetLength(2),
            M = accumulation.Recall.GetLength(3), R = accumulation.Precision.GetLength(1);
        Assert.Equal(T * K * A * M, recall.Length);
        int flat = 0;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++)
                for (int a = 0; a < A; a++)
                    for (int m = 0; m < M; m++, flat++)
                    {
                        Assert.True(Math.Abs(accumulation.Recall[t, k, a, m] - recall[flat]) <= 1e-6,
                            $"{key} recall[{t},{k},{a},{m}]: ours {accumulation.Recall[t, k, a, m]:R}, reference {recall[flat]:R}");
                        double sum = 0;
                        for (int r = 0; r < R; r++)
                            sum += accumulation.Precision[t, r, k, a, m];
                        double ours = accumulation.Precision[t, 0, k, a, m] == -1 ? -1 : sum / R;
                        Assert.True(Math.Abs(ours - meanPrecision[flat]) <= 1e-6,
                            $"{key} mean precision[{t},{k},{a},{m}]: ours {ours:R}, reference {meanPrecision[flat]:R}");
                    }
    }

    [Fact]
    public void StreamingImagesInAnyOrderEqualsTheBatchEvaluation()
    {
        var gt = CocoAnnotationFile.Load(Path.Combine(Folder, "instances.json"));
        var detections = CocoResultsFile.Load(Path.Combine(Folder, "results_bbox.json"), gt);
        var batch = CocoEvaluator.Evaluate(CocoIouType.Bbox, gt.Images.Select(i => i.Id), gt.Categories.Select(c => c.Id),
            gt.Images.SelectMany(i => gt.GroundTruths(i.Id)), detections).Summarize();

        var evaluator = new CocoEvaluator(gt.Categories.Select(c => c.Id), CocoIouType.Bbox);
        // Equal scores across images are ordered by image id, as COCOeval does, whatever order the images arrive in.
        foreach (var image in gt.Images.OrderByDescending(i => i.FileName))
            evaluator.AddImage(image.Id, gt.GroundTruths(image.Id), [.. detections.Where(d => d.ImageId == image.Id)]);
        Assert.Equal(batch.Stats, evaluator.Summarize().Stats);
    }

    [Fact]
    public void PerfectDetectionsScoreOneAndMissingOnesZero()
    {
        var gts = new[]
        {
            new CocoGroundTruth(1, 1, new CocoBox(10, 10, 20, 20), 400),
            new CocoGroundTruth(1, 1, new CocoBox(50, 50, 100, 100), 10000),
            new CocoGroundTruth(2, 2, new CocoBox(0, 0, 50, 50), 2500),
        };
        var perfect = gts.Select(g => new CocoDetection(g.ImageId, g.CategoryId, 0.9, g.Box)).ToArray();
        var metrics = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1, 2], [1, 2], gts, perfect).Summarize();
        // Each size range holds exactly one object, so every AP and AR with 100 detections is 1; with 1 detection per
        // image, image 1 finds one of its two objects: AR1 = (1/2 + 1) / 2 over the two categories.
        // (Precision is tp / (tp + fp + 2⁻⁵²) in COCOeval, so "1" is 1 − 1e-16.)
        double[] expected = [1, 1, 1, 1, 1, 1, 0.75, 1, 1, 1, 1, 1];
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], metrics.Stats[i], 12);

        var none = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1, 2], [1, 2], gts, []).Summarize();
        Assert.All(none.Stats, s => Assert.Equal(0, s));
    }

    [Fact]
    public void ADetectionInsideACrowdRegionIsNeitherHitNorMiss()
    {
        var gts = new[]
        {
            new CocoGroundTruth(1, 1, new CocoBox(0, 0, 10, 10), 100),
            new CocoGroundTruth(1, 1, new CocoBox(20, 20, 60, 60), 3600, IsCrowd: true),
        };
        // One true positive, then two detections inside the crowd region (IoU = intersection / detection area = 1).
        var dts = new[]
        {
            new CocoDetection(1, 1, 0.9, new CocoBox(0, 0, 10, 10)),
            new CocoDetection(1, 1, 0.8, new CocoBox(25, 25, 10, 10)),
            new CocoDetection(1, 1, 0.7, new CocoBox(40, 40, 10, 10)),
        };
        var metrics = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1], [1], gts, dts).Summarize();
        Assert.Equal(1, metrics.AP, 12);
        Assert.Equal(1, metrics.AR100, 12);
    }

    [Fact]
    public void BoxIouFollowsCocoIncludingCrowds()
    {
        var a = new CocoBox(0, 0, 10, 10);
        var b = new CocoBox(5, 0, 10, 10);
        Assert.Equal(50.0 / 150, CocoEvaluator.BoxIou(a, b, crowd: false), 15);
        Assert.Equal(50.0 / 100, CocoEvaluator.BoxIou(a, b, crowd: true), 15);
        Assert.Equal(0, CocoEvaluator.BoxIou(a, new CocoBox(10, 0, 5, 5), crowd: false));
    }

    [Fact]
    public void UnknownCategoryAndRepeatedImageAreErrors()
    {
        var evaluator = new CocoEvaluator([1, 3], CocoIouType.Bbox);
        var error = Assert.Throws<ArgumentException>(() =>
            evaluator.AddImage(4, [], [new CocoDetection(4, 2, 0.5, new CocoBox(0, 0, 1, 1))]));
        Assert.Contains("category id 2", error.Message);
        Assert.Contains("image 4", error.Message);
        evaluator.AddImage(4, [], []);
        Assert.Contains("already added", Assert.Throws<ArgumentException>(() => evaluator.AddImage(4, [], [])).Message);
        var segm = new CocoEvaluator([1], CocoIouType.Segm);
        Assert.Contains("no mask", Assert.Throws<ArgumentException>(() =>
            segm.AddImage(1, [new CocoGroundTruth(1, 1, new CocoBox(0, 0, 1, 1), 1)], [])).Message);
    }

    [Fact]
    public void SummaryPrintsLikeCocoEval()
    {
        var metrics = new CocoMetrics(0.5, 0.75, 0.25, -1, 0.125, 1, 0.1, 0.2, 0.3, -1, 0.4, 0.5);
        string text = metrics.ToSummary(CocoIouType.Bbox);
        Assert.Contains(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500", text);
        Assert.Contains(" Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.750", text);
        Assert.Contains(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000", text);
    }

    [Fact]
    public void ResultsFileRoundTrips()
    {
        var gt = CocoAnnotationFile.Load(Path.Combine(Folder, "instances.json"));
        var detections = CocoResultsFile.Load(Path.Combine(Folder, "results_segm.json"), gt);
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-coco-results-{Guid.NewGuid():N}.json");
        try
        {
            CocoResultsFile.Write(path, detections);
            var again = CocoResultsFile.Load(path, gt);
            Assert.Equal(detections.Count, again.Count);
            for (int i = 0; i < detections.Count; i++)
            {
                Assert.Equal(detections[i].Box, again[i].Box);
                Assert.Equal(detections[i].Score, again[i].Score);
                Assert.Equal(detections[i].Mask!.Counts, again[i].Mask!.Counts);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>The torchvision-style conversions feeding the evaluator from targets and predictions.</summary>
public class CocoConversionTests
{
    [Theory]
    [InlineData(CocoIouType.Bbox)]
    [InlineData(CocoIouType.Segm)]
    public void PredictionsEqualToTheTargetsScoreOneAndShiftedOnesLess(CocoIouType iouType)
    {
        var dataset = new SyntheticDetectionDataset(new SyntheticDetectionOptions(Count: 6, Height: 64, Width: 64, Seed: 1));
        int[] categories = [0, 1, 2, 3];
        var perfect = new CocoEvaluator([1, 2, 3], iouType);
        var shifted = new CocoEvaluator([1, 2, 3], iouType);
        for (int i = 0; i < dataset.Count; i++)
        {
            var target = dataset.Load(i).Target;
            var scores = Enumerable.Range(0, target.Count).Select(n => 1f - 0.1f * n).ToArray();
            var gts = CocoConversions.GroundTruths(target, categories);
            perfect.AddImage(target.ImageId, gts,
                CocoConversions.Detections(target.ImageId, target.Boxes, scores, target.Labels, categories, target.Masks));
            // Every box and mask moved 3 pixels right: lower IoU, so AP falls below 1 at the strict thresholds.
            var moved = target.Boxes.Select((v, k) => k % 2 == 0 ? v + 3 : v).ToArray();
            var masks = new InstanceMasks(target.Count, 64, 64);
            for (int n = 0; n < target.Count; n++)
                for (int y = 0; y < 64; y++)
                    target.Masks![n].Slice(y * 64, 61).CopyTo(masks[n].Slice(y * 64 + 3, 61));
            shifted.AddImage(target.ImageId, gts, CocoConversions.Detections(target.ImageId, moved, scores, target.Labels, categories, masks));
        }
        var best = perfect.Summarize();
        Assert.Equal(1, best.AP, 12);
        Assert.Equal(1, best.AR100, 12);
        var worse = shifted.Summarize();
        Assert.InRange(worse.AP, 0.05, 0.95);
        Assert.True(worse.AP50 > worse.AP75, $"AP50 {worse.AP50} should exceed AP75 {worse.AP75}");
    }

    [Fact]
    public void LabelsWithoutCategoryAreErrors() =>
        Assert.Contains("Label 4 has no category id", Assert.Throws<ArgumentException>(() =>
            CocoConversions.Detections(1, [0, 0, 1, 1], [0.5f], [4], [0, 1, 2, 3])).Message);
}
