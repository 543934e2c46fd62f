using System.Text.Json;
using SharpSeg.Detection.Data;
using SharpSeg.Detection.Evaluation;
using SharpSeg.Detection.Models;

namespace SharpSeg.Detection.Tests.Evaluation;

/// <summary>
/// VOC-style mAP against tools/voc_map_reference.py (PaddleDetection's DetectionMAP rules written out in Python;
/// tools/voc_map_crosscheck.py ran PaddleDetection's own ppdet/metrics/map_utils.py on the same file: difference 0) on
/// Golden/voc/voc_map.json: 8 images, difficult objects, duplicates, equal scores, a class without ground truth and one
/// without detections, detections given out of score order; both AP modes, with and without difficult objects, with
/// continuous and inclusive-pixel boxes. Plus hand-worked cases and the difficult/ignore path through COCO evaluation.
/// </summary>
public class VocEvaluatorTests
{
    private static readonly string Golden = Path.Combine(AppContext.BaseDirectory, "Golden", "voc", "voc_map.json");

    [Fact]
    public void EveryGoldenCaseEqualsTheReference()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Golden));
        var root = document.RootElement;
        int numClasses = root.GetProperty("num_classes").GetInt32();
        var images = root.GetProperty("images").EnumerateArray().ToArray();
        int cases = 0;
        foreach (var expected in root.GetProperty("cases").EnumerateArray())
        {
            var mode = expected.GetProperty("mode").GetString() == "11point" ? VocApMode.ElevenPoint : VocApMode.Integral;
            var evaluator = new VocEvaluator(numClasses, mode, evaluateDifficult: expected.GetProperty("evaluate_difficult").GetBoolean(),
                pixelInclusiveBoxes: expected.GetProperty("pixel_inclusive").GetBoolean());
            foreach (var image in images)
            {
                var gts = image.GetProperty("gt").EnumerateArray().ToArray();
                var dets = image.GetProperty("det").EnumerateArray().ToArray();
                evaluator.AddImage(
                    [.. gts.SelectMany(g => g.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()))],
                    [.. gts.Select(g => g.GetProperty("label").GetInt32())],
                    [.. gts.Select(g => g.GetProperty("difficult").GetBoolean())],
                    [.. dets.SelectMany(d => d.GetProperty("box").EnumerateArray().Select(v => v.GetSingle()))],
                    [.. dets.Select(d => d.GetProperty("score").GetSingle())],
                    [.. dets.Select(d => d.GetProperty("label").GetInt32())]);
            }
            var metrics = evaluator.Summarize();
            string name = $"{mode} difficult={evaluator.EvaluateDifficult} inclusive={evaluator.PixelInclusiveBoxes}";
            Assert.True(Math.Abs(metrics.Map - expected.GetProperty("map").GetDouble()) <= 1e-9, $"{name}: mAP {metrics.Map:R}");
            var classAp = expected.GetProperty("class_ap").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble()).ToArray();
            Assert.Equal(classAp.Length, metrics.ClassAp.Count);
            for (int label = 0; label < classAp.Length; label++)
            {
                Assert.Equal(classAp[label].HasValue, metrics.ClassAp[label].HasValue);
                if (classAp[label] is { } ap)
                    Assert.True(Math.Abs(metrics.ClassAp[label]!.Value - ap) <= 1e-9, $"{name}: class {label} AP {metrics.ClassAp[label]:R}, reference {ap:R}");
            }
            cases++;
        }
        Assert.Equal(8, cases);
    }

    [Fact]
    public void HandWorkedCurveGivesBothModes()
    {
        // Two objects; detections TP 0.9, FP 0.8 (nowhere), TP 0.7: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
        float[] gts = [0, 0, 10, 10, 20, 20, 30, 30];
        float[] boxes = [0, 0, 10, 10, 50, 50, 60, 60, 20, 20, 30, 30];
        float[] scores = [0.9f, 0.8f, 0.7f];
        foreach (var (mode, expected) in new[] { (VocApMode.ElevenPoint, (6 * 1.0 + 5 * (2.0 / 3)) / 11), (VocApMode.Integral, 0.5 * 1 + 0.5 * (2.0 / 3)) })
        {
            var evaluator = new VocEvaluator(2, mode);
            evaluator.AddImage(gts, [1, 1], [], boxes, scores, [1, 1, 1]);
            Assert.Equal(expected, evaluator.Summarize().Map, 12);
        }
    }

    [Fact]
    public void DifficultObjectsAreNeitherHitNorMissUnlessEvaluated()
    {
        // An ordinary object found, a difficult one found by a higher-scoring detection, and a difficult one missed.
        float[] gts = [0, 0, 10, 10, 20, 20, 30, 30, 40, 40, 50, 50];
        bool[] difficult = [false, true, true];
        float[] boxes = [0, 0, 10, 10, 20, 20, 30, 30];
        var ignored = new VocEvaluator(2);
        ignored.AddImage(gts, [1, 1, 1], difficult, boxes, [0.5f, 0.9f], [1, 1]);
        Assert.Equal(1, ignored.Summarize().Map, 12);
        var counted = new VocEvaluator(2, evaluateDifficult: true);
        counted.AddImage(gts, [1, 1, 1], difficult, boxes, [0.5f, 0.9f], [1, 1]);
        // Recall 1/3 then 2/3 at precision 1: 11-point levels 0 … 0.6 score 1.
        Assert.Equal(7.0 / 11, counted.Summarize().Map, 12);
    }

    [Fact]
    public void ClassesWithoutGroundTruthAreLeftOutAndThoseWithoutDetectionsScoreZero()
    {
        var evaluator = new VocEvaluator(4);
        // Class 1 found perfectly, class 2 never detected, class 3 only false positives (no ground truth).
        evaluator.AddImage([0, 0, 10, 10, 20, 20, 30, 30], [1, 2], [], [0, 0, 10, 10, 40, 40, 50, 50], [0.9f, 0.8f], [1, 3]);
        var metrics = evaluator.Summarize();
        Assert.Equal([null, 1.0, 0.0, null], metrics.ClassAp);
        Assert.Equal(0.5, metrics.Map, 12);
        Assert.Contains("mAP(0.50, 11point) = 0.5000", metrics.ToSummary(["background", "a", "b", "c"]));
    }

    [Fact]
    public void BadInputIsAnErrorNamingImageAndEntry()
    {
        var evaluator = new VocEvaluator(3);
        Assert.Contains("detection 0 has label 3", Assert.Throws<ArgumentException>(() =>
            evaluator.AddImage([], [], [], [0, 0, 1, 1], [0.5f], [3])).Message);
        Assert.Contains("ground truth 0 has label 0", Assert.Throws<ArgumentException>(() =>
            evaluator.AddImage([0, 0, 1, 1], [0], [], [], [], [])).Message);
        Assert.Contains("score NaN", Assert.Throws<ArgumentException>(() =>
            evaluator.AddImage([], [], [], [0, 0, 1, 1], [float.NaN], [1])).Message);
        Assert.Contains("2 ground-truth labels need 8 box values", Assert.Throws<ArgumentException>(() =>
            evaluator.AddImage([0, 0, 1, 1], [1, 1], [], [], [], [])).Message);
    }

    [Fact]
    public void CocoIgnoreFlagIsNotACrowd()
    {
        // An ignored object: the first detection on it is neither TP nor FP, a second one is a false positive (a crowd
        // would absorb both), and it does not count towards recall.
        var gts = new[]
        {
            new CocoGroundTruth(1, 1, new CocoBox(0, 0, 10, 10), 100),
            new CocoGroundTruth(1, 1, new CocoBox(20, 20, 10, 10), 100, Ignore: true),
        };
        var found = new CocoDetection(1, 1, 0.5, new CocoBox(0, 0, 10, 10));
        var once = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1], [1], gts, [found, new CocoDetection(1, 1, 0.9, new CocoBox(20, 20, 10, 10))]).Summarize();
        Assert.Equal(1, once.AP, 12);
        Assert.Equal(1, once.AR100, 12);
        var twice = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1], [1], gts,
            [found, new CocoDetection(1, 1, 0.9, new CocoBox(20, 20, 10, 10)), new CocoDetection(1, 1, 0.8, new CocoBox(20, 20, 10, 10))]).Summarize();
        Assert.True(twice.AP < 0.9, $"a second detection on an ignored object must be a false positive, AP {twice.AP}");
        var asCrowd = CocoEvaluator.Evaluate(CocoIouType.Bbox, [1], [1], [gts[0], gts[1] with { Ignore = false, IsCrowd = true }],
            [found, new CocoDetection(1, 1, 0.9, new CocoBox(20, 20, 10, 10)), new CocoDetection(1, 1, 0.8, new CocoBox(20, 20, 10, 10))]).Summarize();
        Assert.Equal(1, asCrowd.AP, 12);
    }

    [Fact]
    public void VocDifficultReachesCocoEvaluationAsIgnoreAndTrainingKeepsIt()
    {
        var target = new DetectionTarget([0, 0, 10, 10, 20, 20, 30, 30], [1, 1], imageId: 7, difficult: [false, true]);
        var truths = CocoConversions.GroundTruths(target, [0, 1]);
        Assert.Equal([false, true], truths.Select(t => t.Ignore));
        // PaddleDetection trains on difficult objects (only evaluation ignores them); crowds are what training drops.
        Assert.Equal([2, 4], RcnnTarget.From(target).Boxes.Shape.ToArray());
    }

    [Fact]
    public void CocoFileIgnoreFieldIsReadAndChecked()
    {
        using var folder = new Data.TempFolder();
        string Json(string ignore) => "{\"images\":[{\"id\":1,\"file_name\":\"a.png\",\"height\":20,\"width\":20}]," +
            "\"categories\":[{\"id\":1,\"name\":\"x\"}],\"annotations\":[" +
            "{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[1,1,5,5],\"area\":25,\"iscrowd\":0" + ignore + "}," +
            "{\"id\":2,\"image_id\":1,\"category_id\":1,\"bbox\":[8,8,5,5],\"area\":25,\"iscrowd\":0}]}";
        folder.File("ok.json", Json(",\"ignore\":1"));
        var file = CocoAnnotationFile.Load(Path.Combine(folder.Path, "ok.json"));
        Assert.Equal([true, false], file.GroundTruths(1).Select(g => g.Ignore));
        folder.File("bad.json", Json(",\"ignore\":2"));
        var error = Assert.Throws<InvalidDataException>(() => CocoAnnotationFile.Load(Path.Combine(folder.Path, "bad.json")));
        Assert.Contains("ignore is 2", error.Message);
        Assert.Contains("annotation 1", error.Message);
    }

    [Fact]
    public void DetectorEvaluateAddsVocMapWhenAsked()
    {
        // One image, so the check costs two forward passes; the CLI test covers the default (no VOC lines).
        var shapes = new SyntheticDetectionDataset(new SyntheticDetectionOptions(1, 64, 64, Seed: 3, MinObjects: 2, MaxObjects: 2));
        Engine.ManualSeed(4);
        var detector = new Detector("faster_rcnn", 4, "resnet18_fpn",
            DetectionModelOptions.SmallImages with { MinSize = 64, MaxSize = 64, FpnChannels = 16, RepresentationSize = 32 });
        var metrics = detector.Evaluate(shapes, metric: DetectionMetric.VocIntegral);
        // The same numbers as feeding the evaluator the sample's target and prediction.
        var expected = new VocEvaluator(4, VocApMode.Integral);
        var sample = shapes.Get(0, new Random(0));
        expected.AddImage(sample.Target, detector.Predict(sample.Image));
        Assert.Equal(expected.Summarize().ClassAp, metrics.Voc!.ClassAp);
        Assert.Equal(VocApMode.Integral, metrics.Voc.Mode);
        Assert.Contains("mAP(0.50, integral)", metrics.ToSummary());
    }
}
