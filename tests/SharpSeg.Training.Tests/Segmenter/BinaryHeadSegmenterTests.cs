using SharpSeg.Data.Datasets;
using SharpSeg.Data.Loading;
using SharpSeg.Data.Synthetic;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Checkpoints;
using SharpSeg.Training.Tests.Inference;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>PaddleX 1.x's one-channel head for two classes (<c>num_classes=2</c> with <c>use_bce_loss</c>/<c>use_dice_loss</c>).</summary>
public sealed class BinaryHeadSegmenterTests : IDisposable
{
    private const int Size = 16;
    private readonly string _root = TestData.TempFolder("binary-head");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Training.Segmenter BinaryUNet(int seed)
    {
        Engine.ManualSeed(seed);
        return new Training.Segmenter("unet", numClasses: 1);
    }

    [Fact]
    public void OneLogitChannelPredictsTwoClassesAndTakesTwoClassNames()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(1), "tiny", classNames: ["background", "object"]);

        Assert.True(segmenter.HasBinaryHead);
        Assert.Equal(2, segmenter.NumClasses);
        Assert.Equal(1, segmenter.Model.NumClasses);
        Assert.False(new Training.Segmenter(new TinyConvNet(2), "tiny").HasBinaryHead);
        var e = Assert.Throws<ArgumentException>(() => new Training.Segmenter(new TinyConvNet(1), "tiny", classNames: ["object"]));
        Assert.Contains("1 class names given for a model of 2 classes (its one-channel binary head", e.Message);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]   // neither: PaddleX's binary head trains with BCE
    public void TheDefaultLossIsPaddleXsBceAndOrDiceAndItDecreases(bool useBce, bool useDice)
    {
        var train = TestData.Synthetic(4, seed: 31, size: Size, numClasses: 2);
        var segmenter = new Training.Segmenter(new TinyConvNet(1, dropout: 0, seed: 4), "tiny");
        var replica = new TinyConvNet(1, dropout: 0, seed: 4);

        var result = segmenter.Train(2, train, trainBatchSize: 4, saveDir: _root, learningRate: 0.1,
            options: new TrainingOptions(Seed: 2, UseBceLoss: useBce, UseDiceLoss: useDice));

        // One step per epoch over all four samples: the first loss is the chosen loss of the untouched weights, which
        // does not depend on the shuffled order.
        var batch = new DataLoader(train, new DataLoaderOptions(BatchSize: 4)).Epoch(0).Single();
        replica.Train();
        var logits = replica.Forward(batch.ImageTensor())[0];
        float expected = 0;
        if (useBce || !useDice) expected += new BceLoss().Forward(logits, batch.LabelTensor()).Item();
        if (useDice) expected += new DiceLoss().Forward(logits, batch.LabelTensor()).Item();
        Assert.Equal(expected, result.StepLosses[0], 1e-4);
        Assert.True(result.EpochLosses[1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");
    }

    [Fact]
    public void ABinaryUNetTrainsEvaluatesTwoClassesAndReloadsToIdenticalPredictions()
    {
        var train = TestData.Synthetic(4, seed: 31, size: Size, numClasses: 2);
        Engine.ManualSeed(4);
        var segmenter = new Training.Segmenter("unet", numClasses: 1, classNames: ["background", "object"]);
        Assert.True(segmenter.HasBinaryHead);
        Assert.Equal(1, Assert.IsType<Models.UNetOptions>(segmenter.Model.Options).NumClasses);

        var result = segmenter.Train(2, train, trainBatchSize: 4, saveIntervalEpochs: 2, saveDir: _root, learningRate: 0.1,
            options: new TrainingOptions(Seed: 2, UseBceLoss: true, UseDiceLoss: true));

        Assert.True(result.EpochLosses[1] < result.EpochLosses[0], $"epoch losses {string.Join(", ", result.EpochLosses)}");
        var evalOptions = new SyntheticOptions(Count: 2, Height: Size, Width: Size, NumClasses: 2, Seed: 32, MaxShapes: 3);
        var metrics = segmenter.Evaluate(new SyntheticDataset(evalOptions, DatasetMode.Val, new Data.Transforms.Normalize()), returnDetails: true);
        Assert.Equal(2, metrics.CategoryIou.Count);
        // Evaluation and prediction decide labels alike: the matrix of Predict's label maps is Evaluate's.
        var raw = new SyntheticDataset(evalOptions, DatasetMode.Val);
        var fromPredictions = new ConfusionMatrix(2);
        var images = new List<Data.Image>();
        for (int i = 0; i < raw.Count; i++)
        {
            var sample = raw.Load(i);
            images.Add(sample.Image);
            fromPredictions.Update(segmenter.Predict(sample.Image).LabelMap.Pixels, sample.Label!.Pixels);
        }
        Assert.Equal(fromPredictions.ToArray().Select(row => row.ToList()), metrics.ConfusionMatrix!.Select(row => row.ToList()));
        Assert.Equal(2L * Size * Size, metrics.ConfusionMatrix!.Sum(row => row.Sum()));

        Assert.Equal(1, Checkpoint.ReadState(result.LastCheckpointFolder!).NumClasses);
        string saved = Path.Combine(_root, "saved");
        segmenter.Save(saved);
        var reloaded = Training.Segmenter.Load(saved);
        Assert.True(reloaded.HasBinaryHead);
        Assert.Equal(2, reloaded.NumClasses);
        Assert.Equal(["background", "object"], reloaded.ClassNames);
        var expectedPredictions = segmenter.BatchPredict(images);
        var actualPredictions = reloaded.BatchPredict(images);
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Equal(expectedPredictions[i].LabelMap.Pixels, actualPredictions[i].LabelMap.Pixels);
            Assert.Equal(expectedPredictions[i].ScoreMap.Pixels, actualPredictions[i].ScoreMap.Pixels);
            Assert.Equal(2, actualPredictions[i].ScoreMap.Channels);
        }
    }

    [Fact]
    public void PredictionGivesOneMinusSigmoidAndSigmoidOfTheModelsLogit()
    {
        var model = new TinyConvNet(1, seed: 3);
        var segmenter = new Training.Segmenter(model, "tiny");
        var image = SmallValues(TestImages.Random(5, 7, seed: 2));

        var prediction = segmenter.Predict(image);

        model.Eval();
        float[] logits;
        using (GradMode.NoGrad()) logits = model.Forward(ChwTensor(image))[0].ToArray<float>();
        int positives = 0;
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
            {
                double p = 1 / (1 + Math.Exp(-logits[y * 7 + x]));
                Assert.Equal(p, prediction.ScoreMap[y, x, 1], 1e-6);
                Assert.Equal(1 - p, prediction.ScoreMap[y, x, 0], 1e-6);
                Assert.Equal(p > 0.5 ? 1 : 0, prediction.LabelMap[y, x]);
                positives += prediction.LabelMap[y, x];
            }
        Assert.InRange(positives, 1, 34);   // both classes occur, so the labels are not constant by accident
    }

    [Fact]
    public void SlidingWindowsAverageTheOneLogitThenApplyTheSigmoid()
    {
        var model = new TinyConvNet(1, seed: 5);
        var segmenter = new Training.Segmenter(model, "tiny");
        // Values of ±10 give logits of several units, where the sigmoid is far from linear.
        var image = SmallValues(TestImages.Random(7, 9, seed: 3), 10);

        var slid = segmenter.SlidingWindowPredict(image, cropSize: (5, 4), stride: (3, 3), batchSize: 3);

        var input = ChwTensor(image);
        var sum = Tensor.Zeros(1, 1, 7, 9);
        var sigmoidSum = Tensor.Zeros(1, 1, 7, 9);
        var cover = Tensor.Zeros(1, 1, 7, 9);
        model.Eval();
        using (GradMode.NoGrad())
            foreach (int top in new[] { 0, 3 })
                foreach (int left in new[] { 0, 3, 4 })
                {
                    var logits = model.Forward(input.Narrow(2, top, 4).Narrow(3, left, 5).Contiguous())[0];
                    int[] padding = [left, 9 - left - 5, top, 7 - top - 4];
                    sum = sum + Functional.Pad(logits, padding);
                    sigmoidSum = sigmoidSum + Functional.Pad(logits.Sigmoid(), padding);
                    cover = cover + Functional.Pad(Tensor.Ones(1, 1, 4, 5), padding);
                }
        float[] mean = (sum / cover).ToArray<float>();
        float[] meanOfSigmoids = (sigmoidSum / cover).ToArray<float>();
        double largestGap = 0;
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 9; x++)
            {
                double p = 1 / (1 + Math.Exp(-mean[y * 9 + x]));
                Assert.Equal(p, slid.ScoreMap[y, x, 1], 1e-5);
                Assert.Equal(p > 0.5 ? 1 : 0, slid.LabelMap[y, x]);
                largestGap = Math.Max(largestGap, Math.Abs(p - meanOfSigmoids[y * 9 + x]));
            }
        // Averaging probabilities instead of logits would fail the checks above.
        Assert.True(largestGap > 1e-2, $"largest gap {largestGap}");
    }

    [Fact]
    public void OverlapTilesOfAPointwiseBinaryModelGiveTheWholeImagePrediction()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(1, seed: 8, kernel: 1), "tiny");
        var image = TestImages.Random(9, 10, seed: 4);

        var tiled = segmenter.OverlapTilePredict(image, (4, 3), (1, 2), batchSize: 5);
        var whole = segmenter.Predict(image);

        Assert.Equal(2, tiled.ScoreMap.Channels);
        Assert.Equal(whole.LabelMap.Pixels, tiled.LabelMap.Pixels);
        for (int i = 0; i < whole.ScoreMap.Pixels.Length; i++) Assert.Equal(whole.ScoreMap.Pixels[i], tiled.ScoreMap.Pixels[i], 1e-6f);
    }

    [Fact]
    public void PerClassLossesAndOtherClassCountsAreRefusedBeforeTraining()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(1), "tiny");
        var twoClasses = TestData.Synthetic(2, seed: 1, size: 8, numClasses: 2);

        var crossEntropy = Assert.Throws<ArgumentException>(() => segmenter.Train(1, twoClasses, saveDir: _root,
            options: new TrainingOptions(Loss: new CrossEntropyLoss())));
        Assert.Contains("model 'tiny' has a one-channel binary head (NumClasses 1), but a given loss is a CrossEntropyLoss", crossEntropy.Message);
        var mixed = Assert.Throws<ArgumentException>(() => segmenter.Train(1, twoClasses, saveDir: _root,
            options: new TrainingOptions(Loss: new MixedLoss([new BceLoss(), new LovaszSoftmaxLoss()], [1f, 1f]))));
        Assert.Contains("a given loss is a LovaszSoftmaxLoss", mixed.Message);
        var perOutput = Assert.Throws<ArgumentException>(() => segmenter.Train(1, twoClasses, saveDir: _root,
            options: new TrainingOptions(Losses: new LossList([(new BceLoss(), 1f), (new OhemCrossEntropyLoss(), 0.4f)]))));
        Assert.Contains("a given loss is a OhemCrossEntropyLoss", perOutput.Message);
        var threeClasses = Assert.Throws<ArgumentException>(() => segmenter.Train(1, TestData.Synthetic(2, seed: 1, size: 8), saveDir: _root));
        Assert.Contains("the training set has 3 classes but model 'tiny' predicts 2 (its one-channel binary head is for two-class data).",
            threeClasses.Message);
        Assert.False(Directory.Exists(_root));
    }

    [Fact]
    public void AResumedBinaryHeadRunEqualsTheStraightRunWithAnExplicitOneLogitLoss()
    {
        var train = TestData.Synthetic(4, seed: 6, size: 8, numClasses: 2);
        var options = new TrainingOptions(Seed: 1, Loss: new LovaszHingeLoss());
        var straight = new Training.Segmenter(new TinyConvNet(1, seed: 2), "tiny");
        straight.Train(2, train, saveDir: Path.Combine(_root, "straight"), options: options);

        string plannedDir = Path.Combine(_root, "interrupted");
        Assert.Throws<OperationCanceledException>(() => new Training.Segmenter(new TinyConvNet(1, seed: 2), "tiny")
            .Train(2, train, saveDir: plannedDir, options: options, progress: new StopAfterEpoch(1)));
        string checkpoint = CheckpointFolders.EpochFolder(plannedDir, 1);
        Assert.Equal(1, Checkpoint.ReadState(checkpoint).NumClasses);
        var resumed = new Training.Segmenter(new TinyConvNet(1, seed: 3), "tiny");
        resumed.Train(2, train, saveDir: plannedDir, resumeCheckpoint: checkpoint, options: options);

        foreach (var (key, tensor) in straight.Model.StateDict())
            Assert.Equal(tensor.ToArray(), resumed.Model.StateDict()[key].ToArray());
        var twoChannels = new Training.Segmenter(new TinyConvNet(2, seed: 3), "tiny");
        var e = Assert.Throws<CheckpointException>(() => twoChannels.Train(2, train, saveDir: plannedDir, resumeCheckpoint: checkpoint));
        Assert.Contains("it was trained for 1 classes, but 2 were expected (1 is a one-channel binary head for two classes).", e.Message);
    }

    /// <summary>The image scaled to [−range, range], where an untrained network's logit changes sign across the image.</summary>
    private static Data.Image<float> SmallValues(Data.Image<byte> image, float range = 1) =>
        new(image.Height, image.Width, image.Channels, [.. image.Pixels.Select(v => (v / 127.5f - 1) * range)]);

    private static Tensor ChwTensor(Data.Image<float> image)
    {
        var data = new float[3 * image.Height * image.Width];
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                for (int c = 0; c < 3; c++) data[(c * image.Height + y) * image.Width + x] = image[y, x, c];
        return Tensor.FromArray(data, 1, 3, image.Height, image.Width);
    }
}
