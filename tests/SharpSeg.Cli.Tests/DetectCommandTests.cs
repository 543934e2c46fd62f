using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Detection.Data;

namespace SharpSeg.Cli.Tests;

/// <summary><c>sharpseg detect train|evaluate|predict</c> end to end on tiny synthetic shapes (one epoch, 64×64 images), and its usage errors.</summary>
public sealed class DetectCommandTests
{
    private static readonly string[] TinyShapes =
        ["--format", "synthetic", "--synthetic-size", "64", "--synthetic-val", "2", "--synthetic-seed", "5"];

    [Fact]
    public void Train_then_evaluate_and_predict_with_the_saved_best_model()
    {
        using var folder = new TempFolder();
        var train = CliRunner.Run(["detect", "train", .. TinyShapes, "--synthetic-train", "2", "--epochs", "1", "--batch-size", "2",
            "--save-dir", folder["out"]]);
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Contains("Training faster_rcnn (resnet18_fpn, 3 classes) on 2 images (evaluating on 2)", train.Output);
        Assert.True(File.Exists(folder["out/best_model/state.json"]));
        Assert.True(File.Exists(folder["out/metrics.jsonl"]));
        string trainMap = Line(train.Output, "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all");

        var evaluate = CliRunner.Run(["detect", "evaluate", "--model-dir", folder["out/best_model"], .. TinyShapes]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Error);
        Assert.Contains("IoU metric: bbox", evaluate.Output);
        Assert.Equal(trainMap, Line(evaluate.Output, "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all"));
        Assert.DoesNotContain("mAP(0.50", evaluate.Output);
        var voc = CliRunner.Run(["detect", "evaluate", "--model-dir", folder["out/best_model"], "--metric", "voc", .. TinyShapes]);
        Assert.True(voc.ExitCode == 0, voc.Error);
        Assert.Equal(trainMap, Line(voc.Output, "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all"));
        Assert.Contains("mAP(0.50, 11point) = ", voc.Output);
        // The per-class VOC lines name the model's classes rather than "class N".
        Assert.Matches(@"AP@0\.5 (rectangle|ellipse|triangle) +=", voc.Output);
        Assert.DoesNotMatch(@"AP@0\.5 class \d", voc.Output);

        var shapes = new SyntheticDetectionDataset(new SyntheticDetectionOptions(2, 64, 64, Seed: 7));
        Directory.CreateDirectory(folder["images"]);
        for (int i = 0; i < 2; i++)
            ImageFile.WritePng(folder[$"images/shape{i}.png"], Detection.Visualization.DetectionDrawing.ToBytes(shapes.Load(i).Image));
        var predict = CliRunner.Run("detect", "predict", "--model-dir", folder["out/best_model"], "--image", folder["images"], "--output", folder["drawn"],
            "--score-threshold", "0");
        Assert.True(predict.ExitCode == 0, predict.Error);
        var drawn = (Image<byte>)ImageFile.Read(folder["drawn/shape1.png"]);
        Assert.Equal((64, 64, 3), (drawn.Height, drawn.Width, drawn.Channels));
        using var results = JsonDocument.Parse(File.ReadAllText(folder["drawn/detections.json"]));
        var imageIds = results.RootElement.EnumerateArray().Select(d => d.GetProperty("image_id").GetInt64()).Distinct().Order().ToArray();
        Assert.All(imageIds, id => Assert.InRange(id, 1, 2));
        Assert.All(results.RootElement.EnumerateArray(), d => Assert.InRange(d.GetProperty("category_id").GetInt32(), 1, 3));
        Assert.Contains(folder["images/shape0.png"], predict.Output);
    }

    [Fact]
    public void Unknown_names_missing_data_and_missing_models_are_usage_errors()
    {
        using var folder = new TempFolder();
        var backbone = CliRunner.Run(["detect", "train", .. TinyShapes, "--backbone", "resnet7_fpn", "--save-dir", folder["out"]]);
        Assert.Equal(2, backbone.ExitCode);
        Assert.Contains("'resnet7_fpn'", backbone.Error);
        Assert.Contains("resnet50_fpn", backbone.Error);
        var ownBackbone = CliRunner.Run(["detect", "train", .. TinyShapes, "--model", "efficientdet_d0", "--backbone", "resnet18_fpn", "--save-dir", folder["out"]]);
        Assert.Equal(2, ownBackbone.ExitCode);
        Assert.Contains("does not fit model 'efficientdet_d0'", ownBackbone.Error);
        Assert.Contains("efficientnet_b0", ownBackbone.Error);

        var model = CliRunner.Run(["detect", "train", .. TinyShapes, "--model", "yolo", "--save-dir", folder["out"]]);
        Assert.Equal(2, model.ExitCode);
        Assert.Contains("faster_rcnn", model.Error);

        var coco = CliRunner.Run("detect", "train", "--train-annotations", folder["missing.json"], "--save-dir", folder["out"]);
        Assert.Equal(2, coco.ExitCode);
        Assert.Contains("--train-images", coco.Error);

        var evaluate = CliRunner.Run(["detect", "evaluate", "--model-dir", folder["nothing"], .. TinyShapes]);
        Assert.Equal(2, evaluate.ExitCode);
        Assert.Contains(folder["nothing"], evaluate.Error);
        Assert.DoesNotContain("   at ", evaluate.Error);
    }

    private static string Line(string output, string start) =>
        output.Split('\n').First(l => l.TrimStart().StartsWith(start.TrimStart(), StringComparison.Ordinal)).Trim();
}
