using SharpSeg.Data;
using SharpSeg.Data.Transforms;
using SharpSeg.Training.Tests.Inference;

namespace SharpSeg.Training.Tests.Segmenter;

/// <summary>Prediction through <see cref="Training.Segmenter.Transforms"/>: transforms applied, then undone on the outputs.</summary>
public sealed class PredictionTransformsTests : IDisposable
{
    private readonly string _root = TestData.TempFolder("transforms");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    // A pointwise (1×1) model: each pixel's prediction depends on that pixel alone, so geometry errors show exactly.
    private static Training.Segmenter Pointwise(ISegTransform? transforms) =>
        new(new TinyConvNet(3, seed: 8, kernel: 1), "tiny") { Transforms = transforms };

    // The GEMM's SIMD blocking depends on the image width, so equal pixels may differ in the last bit.
    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-6f);
    }

    [Fact]
    public void PaddingIsCroppedOffTheOutputs()
    {
        var image = TestImages.Random(7, 9, seed: 2);
        var plain = Pointwise(new Normalize()).Predict(image);
        var padded = Pointwise(new Compose(new Padding(16, 12), new Normalize())).Predict(image);

        Assert.Equal((7, 9), (padded.LabelMap.Height, padded.LabelMap.Width));
        Assert.Equal(plain.LabelMap.Pixels, padded.LabelMap.Pixels);
        AssertClose(plain.ScoreMap.Pixels, padded.ScoreMap.Pixels);
    }

    [Fact]
    public void AResizeIsUndoneAtTheOriginalSize()
    {
        // Nearest ×2 replicates every pixel 2×2; undoing it (nearest for labels, bilinear ×0.5 for scores, which averages
        // two equal values) must give back the plain prediction.
        var image = TestImages.Random(5, 6, seed: 3);
        var plain = Pointwise(new Normalize()).Predict(image);
        var resized = Pointwise(new Compose(new Resize(12, 10, interpolation: Interpolation.Nearest), new Normalize())).Predict(image);

        Assert.Equal((5, 6), (resized.ScoreMap.Height, resized.ScoreMap.Width));
        Assert.Equal(plain.LabelMap.Pixels, resized.LabelMap.Pixels);
        AssertClose(plain.ScoreMap.Pixels, resized.ScoreMap.Pixels);
    }

    [Fact]
    public void ImagesOfDifferentSizesResizedToOneSizeShareABatch()
    {
        var segmenter = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny") { Transforms = new Compose(new Resize(8, 8), new Normalize()) };
        Image[] images = [TestImages.Random(5, 7, seed: 1), TestImages.Random(9, 4, seed: 2), TestImages.Random(8, 8, seed: 3)];

        var batched = segmenter.BatchPredict(images, batchSize: 3);

        for (int i = 0; i < images.Length; i++)
        {
            var single = segmenter.Predict(images[i]);
            Assert.Equal((images[i].Height, images[i].Width), (batched[i].LabelMap.Height, batched[i].LabelMap.Width));
            Assert.Equal(single.LabelMap.Pixels, batched[i].LabelMap.Pixels);
            for (int p = 0; p < single.ScoreMap.Pixels.Length; p++) Assert.Equal(single.ScoreMap.Pixels[p], batched[i].ScoreMap.Pixels[p], 1e-5f);
        }
    }

    [Fact]
    public void OverlapTilesApplyTheTransformsToEveryWindow()
    {
        // Padding every window to 16×16 and cropping it back leaves a pointwise model's tiles unchanged.
        var image = TestImages.Random(11, 10, seed: 4);
        var plain = Pointwise(new Normalize()).Predict(image);
        var tiled = Pointwise(new Compose(new Padding(16, 16), new Normalize())).OverlapTilePredict(image, (4, 4), (1, 2), batchSize: 4);

        Assert.Equal(plain.LabelMap.Pixels, tiled.LabelMap.Pixels);
        AssertClose(plain.ScoreMap.Pixels, tiled.ScoreMap.Pixels);
    }

    [Fact]
    public void RandomTransformsAreRefusedForPrediction()
    {
        var segmenter = Pointwise(null);
        var error = Assert.Throws<ArgumentException>(() => segmenter.Transforms = new Compose(new Normalize(), new RandomHorizontalFlip()));
        Assert.Contains("deterministic", error.Message);
        Assert.Null(segmenter.Transforms);
    }

    [Fact]
    public void TrainingKeepsTheEvaluationTransformsOrElseTheTrainingNormalization()
    {
        var evalTransforms = new Compose(new Resize(16, 16), new Normalize([0.1f, 0.2f, 0.3f], [0.5f, 0.5f, 0.5f]));
        var withEval = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny");
        withEval.Train(1, TestData.Synthetic(2, seed: 1, size: 16), evalDataset: new Data.Synthetic.SyntheticDataset(
            new Data.Synthetic.SyntheticOptions(Count: 1, Height: 16, Width: 16, NumClasses: 3, Seed: 2), Data.Datasets.DatasetMode.Val, evalTransforms),
            saveDir: _root);
        Assert.Same(evalTransforms, withEval.Transforms);

        var trainOnly = new Training.Segmenter(new TinyConvNet(3, seed: 1), "tiny");
        var training = new Data.Synthetic.SyntheticDataset(new Data.Synthetic.SyntheticOptions(Count: 2, Height: 16, Width: 16, NumClasses: 3, Seed: 1),
            Data.Datasets.DatasetMode.Train, new Compose(new RandomHorizontalFlip(), new Compose(new Normalize([0.4f, 0.4f, 0.4f])), new Clip()));
        trainOnly.Train(1, training, saveDir: Path.Combine(_root, "b"));
        var kept = Assert.IsType<Compose>(trainOnly.Transforms).Transforms;
        Assert.Equal(2, kept.Count);
        Assert.Equal([0.4f, 0.4f, 0.4f], Assert.IsType<Normalize>(kept[0]).Mean);
        Assert.IsType<Clip>(kept[1]);
    }

    [Fact]
    public void SavedTransformsReloadAndPredictIdentically()
    {
        var segmenter = new Training.Segmenter("unet", 3)
        {
            Transforms = new Compose(new Resize(12, 10, interpolation: Interpolation.Nearest), new Normalize([0.2f, 0.3f, 0.4f], [0.6f, 0.7f, 0.8f])),
        };
        segmenter.Save(Path.Combine(_root, "saved"));

        var reloaded = Training.Segmenter.Load(Path.Combine(_root, "saved"));

        Assert.Equal(TransformConfig.ToJson(segmenter.Transforms), TransformConfig.ToJson(reloaded.Transforms));
        var image = TestImages.Random(7, 9, seed: 5);
        Assert.Equal(segmenter.Predict(image).ScoreMap.Pixels, reloaded.Predict(image).ScoreMap.Pixels);
    }

    [Fact]
    public void ACheckpointWithARandomOrUnknownTransformIsRefusedNamingIt()
    {
        new Training.Segmenter("unet", 2) { Transforms = new Normalize() }.Save(_root);
        string state = Path.Combine(_root, "state.json");
        string original = File.ReadAllText(state);
        const string saved = "[{\"Normalize\"";
        Assert.Contains(saved, original);

        File.WriteAllText(state, original.Replace(saved, "[{\"RandomHorizontalFlip\":{\"prob\":0.5}},{\"Normalize\""));
        var random = Assert.Throws<Training.Checkpoints.CheckpointException>(() => Training.Segmenter.Load(_root));
        Assert.Contains("contain a random transform", random.Message);

        File.WriteAllText(state, original.Replace(saved, "[{\"Sharpen\":{}},{\"Normalize\""));
        var unknown = Assert.Throws<Training.Checkpoints.CheckpointException>(() => Training.Segmenter.Load(_root));
        Assert.Contains("prediction transforms cannot be rebuilt", unknown.Message);
        Assert.Contains("Sharpen", unknown.Message);
    }

    [Fact]
    public void APathIsReadAsTheModelsChannelsAndPredicted()
    {
        Directory.CreateDirectory(_root);
        var grey = new Image<byte>(6, 7, 1);
        new Random(3).NextBytes(grey.Pixels);
        string path = Path.Combine(_root, "grey.png");
        ImageFile.WritePng(path, grey);
        var rgb = new Image<byte>(6, 7, 3);
        for (int i = 0; i < grey.Pixels.Length; i++)
            for (int c = 0; c < 3; c++) rgb.Pixels[3 * i + c] = grey.Pixels[i];
        var segmenter = Pointwise(new Normalize());

        Assert.Equal(segmenter.Predict(rgb).ScoreMap.Pixels, segmenter.Predict(path).ScoreMap.Pixels);
        Assert.Throws<FileNotFoundException>(() => segmenter.Predict(Path.Combine(_root, "missing.png")));
    }
}
