using System.Text.Json;
using SharpSeg.Data;
using SharpSeg.Data.Datasets;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Segmenter;

public sealed class SegmenterBehaviourTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("segmenter-behaviour");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void ModelNamesAreCanonicalAndABackboneGoesOnlyToModelsThatTakeOne()
    {
        var segmenter = new Training.Segmenter("DeepLabV3Plus", numClasses: 2, backbone: "ResNet18_vd");
        Assert.Equal("deeplabv3p", segmenter.ModelName);
        Assert.Equal("ResNet18_vd", ((Models.BackboneModelOptions)segmenter.Model.Options).Backbone);
        Assert.Equal(2, segmenter.Model.NumClasses);

        var paddleXDefault = new Training.Segmenter("deeplabv3p", numClasses: 2);   // paddlex.seg.DeepLabv3p(num_classes=2)
        var options = Assert.IsType<Models.DeepLabV3PlusOptions>(paddleXDefault.Model.Options);
        Assert.Equal(("mobilenetv2_x1.0", 16), (options.Backbone, options.OutputStride));
        Assert.IsType<Models.MobileNetV2>(paddleXDefault.Model.Backbone);

        var error = Assert.Throws<ArgumentException>(() => new Training.Segmenter("unet", numClasses: 2, backbone: "resnet18_vd"));
        Assert.Contains("model 'unet' takes no backbone (got 'resnet18_vd'); models that do: deeplabv3p", error.Message);
    }

    [Theory]
    [InlineData(1, 2, 3)]   // evaluations after epochs 1, 2, 3: the first sets the best, 2 and 3 do not improve
    [InlineData(2, 2, 6)]   // evaluations after epochs 2, 4, 6: patience counts evaluations, not epochs
    [InlineData(1, 4, 5)]
    public void EarlyStoppingFiresAfterPatienceEvaluationsWithoutImprovement(int interval, int patience, int expectedEpochs)
    {
        // A zero learning rate and no BatchNorm keep the model, hence every evaluation's mIoU, fixed.
        var segmenter = new Training.Segmenter(new TinyConvNet(3, batchNorm: false, dropout: 0), "tiny");
        var result = segmenter.Train(10, TestData.Synthetic(4, seed: 31), trainBatchSize: 2,
            evalDataset: TestData.Synthetic(2, seed: 32, mode: DatasetMode.Val), saveIntervalEpochs: interval, saveDir: _root,
            learningRate: 0, earlyStop: true, earlyStopPatience: patience, options: new TrainingOptions(WeightDecay: 0));

        Assert.True(result.StoppedEarly);
        Assert.Equal(expectedEpochs, result.EpochsCompleted);
        Assert.Equal(patience + 1, result.Evaluations.Count);
        Assert.Equal(interval, result.BestEpoch);
        var state = Checkpoint.ReadState(CheckpointFolders.EpochFolder(_root, expectedEpochs));
        Assert.Equal(patience, state.EarlyStopping!.EvaluationsWithoutImprovement);
        Assert.Equal(interval, Checkpoint.ReadState(CheckpointFolders.BestModelFolder(_root)).Epoch);
    }

    [Fact]
    public void WithoutEarlyStoppingEveryEpochRunsAndOnlyTheLastCheckpointsAreKept()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, batchNorm: false, dropout: 0), "tiny");
        var result = segmenter.Train(4, TestData.Synthetic(4, seed: 31), trainBatchSize: 2, saveDir: _root, learningRate: 0,
            options: new TrainingOptions(KeepLastCheckpoints: 2));

        Assert.False(result.StoppedEarly);
        Assert.Equal(4, result.EpochsCompleted);
        Assert.Equal([3, 4], CheckpointFolders.EpochFolders(_root).Select(f => f.Epoch));
        Assert.Null(result.BestModelFolder);
    }

    [Fact]
    public void ACheckpointOfAnotherClassCountOrModelIsRefused()
    {
        var train = TestData.Synthetic(4, seed: 41);
        new Training.Segmenter(new TinyConvNet(3), "tiny").Train(1, train, saveDir: _root, learningRate: 0.01);
        string folder = CheckpointFolders.EpochFolder(_root, 1);

        var fourClasses = new Training.Segmenter(new TinyConvNet(4), "tiny");
        var classError = Assert.Throws<CheckpointException>(() =>
            fourClasses.Train(2, TestData.Synthetic(4, seed: 41, numClasses: 4), saveDir: _root, resumeCheckpoint: folder));
        Assert.Contains("3 classes", classError.Message);
        Assert.Contains("4 were expected", classError.Message);

        var otherModel = new Training.Segmenter(new TinyConvNet(3), "other");
        var modelError = Assert.Throws<CheckpointException>(() => otherModel.Train(2, train, saveDir: _root, resumeCheckpoint: folder));
        Assert.Contains("'tiny'", modelError.Message);
        Assert.Contains("'other'", modelError.Message);

        var loadError = Assert.Throws<CheckpointException>(() => Training.Segmenter.Load(folder));
        Assert.Contains("'tiny' cannot be rebuilt", loadError.Message);
    }

    [Fact]
    public void AMissingNamedWeightSetSaysWhereToPutTheFileAndAPresentOneLoadsAroundANewHead()
    {
        string weights = Path.Combine(_root, "weights");
        Environment.SetEnvironmentVariable(Training.Segmenter.WeightsFolderVariable, weights);
        try
        {
            var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny");
            var error = Assert.Throws<FileNotFoundException>(() =>
                segmenter.Train(1, TestData.Synthetic(2, seed: 1), saveDir: _root, pretrainWeights: "IMAGENET"));
            Assert.Contains(Path.Combine(weights, "tiny_IMAGENET.safetensors"), error.Message);
            Assert.Contains("never downloads", error.Message);

            var pretrained = new TinyConvNet(5, seed: 2);
            Directory.CreateDirectory(weights);
            pretrained.SaveSafetensors(Path.Combine(weights, "tiny_IMAGENET.safetensors"));
            var headBefore = segmenter.Model.StateDict()["conv2.weight"].ToArray();
            var result = segmenter.Train(1, TestData.Synthetic(2, seed: 1), saveDir: _root, pretrainWeights: "imagenet", learningRate: 0,
                options: new TrainingOptions(WeightDecay: 0));
            Assert.Equal(["conv2.weight", "conv2.bias"], result.PretrainedWeights!.SkippedShapeMismatches.Select(m => m.Key));
            Assert.Equal(pretrained.StateDict()["conv1.weight"].ToArray(), segmenter.Model.StateDict()["conv1.weight"].ToArray());
            Assert.Equal(headBefore, segmenter.Model.StateDict()["conv2.weight"].ToArray());
        }
        finally
        {
            Environment.SetEnvironmentVariable(Training.Segmenter.WeightsFolderVariable, null);
        }
    }

    // In this class because it sets $SHARPSEG_WEIGHTS, as the test above does; xunit runs a class's tests one at a time.
    [Theory]
    [InlineData(".pth")]
    [InlineData(".pdparams")]
    public void A_named_set_may_be_a_downloaded_pth_or_pdparams_and_safetensors_comes_first(string extension)
    {
        using var folder = new TemporaryFolder("named-set");
        Directory.CreateDirectory(folder.Path);
        Environment.SetEnvironmentVariable(Training.Segmenter.WeightsFolderVariable, folder.Path);
        try
        {
            var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny");
            string downloaded = Path.Combine(folder.Path, "tiny_IMAGENET" + extension);
            File.WriteAllBytes(downloaded, []);

            Assert.Equal(downloaded, segmenter.ResolvePretrainedWeights("ImageNet"));

            File.WriteAllBytes(Path.Combine(folder.Path, "tiny_IMAGENET.safetensors"), []);
            Assert.Equal(Path.Combine(folder.Path, "tiny_IMAGENET.safetensors"), segmenter.ResolvePretrainedWeights("IMAGENET"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(Training.Segmenter.WeightsFolderVariable, null);
        }
    }

    [Fact]
    public void EvaluateCountsThePredictedLabelsAgainstTheDatasetLabels()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 4), "tiny") { Transforms = new Data.Transforms.Normalize() };
        var raw = TestData.Synthetic(3, seed: 51, mode: DatasetMode.Val);

        var counts = new long[3, 3];
        for (int i = 0; i < raw.Count; i++)
        {
            var sample = raw.Load(i);
            var prediction = segmenter.Predict(sample.Image);
            for (int p = 0; p < sample.Label!.Pixels.Length; p++)
                if (sample.Label.Pixels[p] != raw.IgnoreIndex) counts[sample.Label.Pixels[p], prediction.LabelMap.Pixels[p]]++;
        }
        var expected = ConfusionMatrix.FromCounts(counts).ComputeMetrics(includeConfusionMatrix: true);

        var actual = segmenter.Evaluate(raw, batchSize: 2, returnDetails: true);
        Assert.Equal(expected.ConfusionMatrix, actual.ConfusionMatrix);
        Assert.Equal(expected.MeanIou, actual.MeanIou);
        Assert.Null(segmenter.Evaluate(raw).ConfusionMatrix);
        Assert.True(segmenter.Model.IsTraining);
    }

    [Fact]
    public void CancellationStopsBeforeTheNextStepAndEarlyStoppingNeedsAnEvaluationSet()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3), "tiny");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var interrupted = Assert.Throws<TrainingInterruptedException>(() =>
            segmenter.Train(1, TestData.Synthetic(2, seed: 1), saveDir: _root, cancellationToken: cancelled.Token));
        Assert.Null(interrupted.CheckpointFolder);
        Assert.Contains("nothing had been trained, so there is nothing to resume from", interrupted.Message);
        Assert.Empty(CheckpointFolders.EpochFolders(_root));

        var error = Assert.Throws<ArgumentException>(() => segmenter.Train(1, TestData.Synthetic(2, seed: 1), saveDir: _root, earlyStop: true));
        Assert.Contains("evaluation dataset", error.Message);
    }

    [Fact]
    public void LogsEveryStepAndEvaluationAsJsonLinesAndTensorBoardScalars()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 2), "tiny");
        var result = segmenter.Train(2, TestData.Synthetic(4, seed: 61), trainBatchSize: 2,
            evalDataset: TestData.Synthetic(2, seed: 62, mode: DatasetMode.Val), logIntervalSteps: 1, saveDir: _root, useVdl: true);

        var lines = File.ReadAllLines(Path.Combine(_root, Training.Segmenter.MetricsFileName)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var trainLines = lines.Where(l => l.GetProperty("event").GetString() == "train").ToList();
        Assert.Equal(result.StepLosses, trainLines.Select(l => l.GetProperty("loss").GetDouble()));
        Assert.Equal([1L, 2, 3, 4], trainLines.Select(l => l.GetProperty("step").GetInt64()));
        var evaluationLines = lines.Where(l => l.GetProperty("event").GetString() == "evaluation").ToList();
        Assert.Equal(result.Evaluations.Select(e => e.Metrics.MeanIou), evaluationLines.Select(l => l.GetProperty("metrics").GetProperty("miou").GetDouble()));

        string eventsFile = Assert.Single(Directory.GetFiles(Path.Combine(_root, Training.Segmenter.TensorBoardFolderName), "events.out.tfevents.*"));
        var scalars = Logging.TfRecordReader.ReadEvents(eventsFile).SelectMany(e => e.Scalars.Select(s => (e.Step, s.Item1, s.Item2))).ToList();
        Assert.Equal(result.StepLosses.Select(l => (float)l), scalars.Where(s => s.Item2 == "Train/loss").Select(s => s.Item3));
        Assert.Equal([1L, 2], scalars.Where(s => s.Item2 == "Evaluation/miou").Select(s => s.Step));
        Assert.Equal(result.Evaluations.Select(e => (float)e.Metrics.MeanIou), scalars.Where(s => s.Item2 == "Evaluation/miou").Select(s => s.Item3));
    }

    [Fact]
    public void TwoClassModelsTrainWithPaddleXsBceAndDiceLosses()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(2, seed: 3), "tiny");
        var result = segmenter.Train(2, TestData.Synthetic(4, seed: 71, numClasses: 2), trainBatchSize: 2, saveDir: _root, learningRate: 0.05,
            options: new TrainingOptions(UseBceLoss: true, UseDiceLoss: true));
        Assert.All(result.StepLosses, l => Assert.True(double.IsFinite(l) && l > 0));
        Assert.True(result.EpochLosses[1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");
    }

    [Fact]
    public void PredictRefusesAnImageWithTheWrongChannelCount()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3), "tiny");
        var error = Assert.Throws<ArgumentException>(() => segmenter.Predict(new Image<byte>(4, 4, 1)));
        Assert.Contains("1 channels", error.Message);
        Assert.Contains("takes 3", error.Message);
    }
}
