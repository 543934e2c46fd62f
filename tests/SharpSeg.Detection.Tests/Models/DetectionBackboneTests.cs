using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpSeg.Detection.Models;
using SharpSeg.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// <see cref="DetectionBackbones"/> against torchvision 0.14's builders (fixtures by tools/golden_detection_backbones.py):
/// state-dict keys, shapes, trainable parameters and output maps of every ResNet-FPN, the MobileNetV3-Large FPN and the
/// icevision VGG backbones; the MobileNet FPN's maps; Faster R-CNN over MobileNetV3-Large-320-FPN and VGG-11-BN in eval
/// mode with formula weights (proposals and detections).
/// </summary>
public class DetectionBackboneTests
{
    private const float BoxTolerance = 0.08f, ScoreTolerance = 1e-4f;

    private static readonly Dictionary<string, JsonElement> Layouts =
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(GoldenFiles.PathOf("Models/backbone_layouts.json")))!;

    public static TheoryData<string> LayoutNames() => [.. Layouts.Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(LayoutNames))]
    public void LayoutMatchesTorchvisionsBuilder(string name)
    {
        var expected = Layouts[name];
        var backbone = Build(name);
        var keys = KeyFile.Describe(backbone).ToArray();
        var trainable = backbone.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).ToArray();

        Assert.Equal(expected.GetProperty("entries").GetInt32(), keys.Length);
        Assert.Equal(expected.GetProperty("parameters").GetInt64(), backbone.ParameterCount);
        Assert.True(expected.GetProperty("keys_sha256").GetString() == Sha256(keys), $"{name}: state-dict keys or shapes differ from torchvision's; ours:\n{string.Join("\n", keys.Take(40))}");
        Assert.Equal(expected.GetProperty("trainable").GetInt32(), trainable.Length);
        Assert.True(expected.GetProperty("trainable_sha256").GetString() == Sha256(trainable), $"{name}: trainable parameters differ: {string.Join(" ", trainable.Take(20))} …");
        if (expected.GetProperty("maps").ValueKind == JsonValueKind.Array)
        {
            using var noGrad = GradMode.NoGrad();
            backbone.Eval();
            Assert.Equal(expected.GetProperty("maps").EnumerateArray().Select(m => m.GetString()), backbone.Forward(Tensor.Zeros(1, 3, 64, 64)).Keys);
        }
    }

    // "resnet_fpn/<arch>/t<k>" | ".../bn_t5" | "resnet_fpn/resnet18/r<stages>", "mobilenet_v3_large_fpn/t<k>" | ".../bn_t6", "vgg/<name>".
    private static DetectionBackbone Build(string layout)
    {
        var parts = layout.Split('/');
        if (parts[0] == "vgg") return DetectionBackbones.Create(parts[1], new(InitializeWeights: false)).Backbone;
        string factoryName = parts[0] == "resnet_fpn" ? parts[1] + "_fpn" : parts[0];
        string variant = parts[^1];
        if (variant.StartsWith('r'))
            return new BackboneWithFpn(TorchvisionResNetArch.ResNet18, 3, [.. variant[1..].Select(c => c - '0')], initializeWeights: false);
        bool batchNorm = variant.StartsWith("bn_", StringComparison.Ordinal);
        int trainable = variant[^1] - '0';
        return DetectionBackbones.Create(factoryName, new(FrozenBatchNorm: !batchNorm, TrainableLayers: trainable, InitializeWeights: false)).Backbone;
    }

    private static string Sha256(IEnumerable<string> lines) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines))));

    [Fact]
    public void MobileNetFpnMapsMatchTorchvision()
    {
        var backbone = new MobileNetV3FpnBackbone(initializeWeights: false);
        Assert.Equal([0, 2, 4, 7, 13, 16], backbone.StageIndices);
        backbone.LoadStateDict(FormulaTensors(backbone));
        backbone.Eval();
        using var noGrad = GradMode.NoGrad();
        var maps = backbone.Forward(FormulaWeights.Input(1, 3, 64, 96));
        Assert.Equal(["0", "1", "pool"], maps.Keys);
        foreach (var (name, map) in maps)
            GoldenAssert.Close(GoldenFiles.ReadNpy($"Models/mnv3_fpn_{name}.npy"), map, $"MobileNet FPN map {name}", 1e-4f);
    }

    [Fact]
    public void MobileNet320FasterRcnnMatchesTorchvision()
    {
        // fasterrcnn_mobilenet_v3_large_320_fpn's own settings: 320/640, 150 proposals, RPN score threshold 0.05, which
        // leaves 5 proposals and 2 detections with formula weights (150 without the threshold).
        var parts = DetectionBackbones.Create("mobilenet_v3_large_320_fpn", new(InitializeWeights: false));
        var model = parts.CreateFasterRcnn(5);
        AssertDetectionsMatch(model, "fasterrcnn_mobilenet_v3_large_320_fpn_c5", "mnv3_320", expectedCount: 2);
    }

    [Fact]
    public void Vgg11BnFasterRcnnMatchesTorchvision()
    {
        var parts = DetectionBackbones.Create("vgg11_bn", new(InitializeWeights: false));
        // Formula weights tie scores exactly, and float32 rounding alone changes which tied box the box NMS keeps, so the
        // fixture keeps every box (NMS threshold 1) and cuts none; the RPN's NMS and the single-map pooling are what is checked.
        var model = new FasterRcnn(new FasterRcnnOptions(NumClasses: 5, MinSize: 128, MaxSize: 160,
                RoiHeads: new RoiHeadsOptions(NmsThresh: 1f, DetectionsPerImage: 1000)),
            parts.Backbone, parts.AnchorGenerator, parts.BoxRoiPool);
        AssertDetectionsMatch(model, "fasterrcnn_vgg11_bn_c5", "vgg11_bn", expectedCount: 194);
    }

    private static void AssertDetectionsMatch(FasterRcnn model, string keyFile, string fixture, int expectedCount)
    {
        FpnTests.AssertKeysAndFreezing(model, keyFile);
        Assert.True(model.LoadTorchvisionStateDict(FpnTests.Keys(keyFile).FormulaTensors()).IsExactMatch, "torchvision's state dict did not load exactly");
        model.Eval();
        var image = FormulaWeights.Input(3, 120, 160);
        var result = model.Predict([image])[0];
        var expected = Rows(GoldenFiles.ReadNpy($"Models/{fixture}_boxes.npy"), GoldenFiles.ReadNpy($"Models/{fixture}_scores.npy"), GoldenFiles.ReadNpy($"Models/{fixture}_labels.npy"));
        Assert.Equal(expectedCount, expected.Length);
        AssertSameRows(expected, Rows(result.Boxes, result.Scores, result.Labels.To(DType.Float32)), [BoxTolerance, BoxTolerance, BoxTolerance, BoxTolerance, ScoreTolerance, 0f],
            $"{fixture} detection (x1, y1, x2, y2, score, label)");

        using var noGrad = GradMode.NoGrad();
        var batch = model.Transform.Forward([image]);
        var proposals = model.Rpn.Forward(batch, [.. model.Backbone.Forward(batch.Tensors).Values])[0];
        AssertSameRows(Rows(GoldenFiles.ReadNpy($"Models/{fixture}_proposals.npy")), Rows(proposals), [BoxTolerance, BoxTolerance, BoxTolerance, BoxTolerance], $"{fixture} proposal");
    }

    [Fact]
    public void BuildersCarryTorchvisionsSizesAnchorsAndRpnSettings()
    {
        var small = DetectionBackbones.Create("mobilenet_v3_large_320_fpn", new(InitializeWeights: false));
        Assert.Equal((320, 640), (small.MinSize, small.MaxSize));
        Assert.Equal(new RpnOptions(PreNmsTopN: 150, PostNmsTopN: 150, ScoreThresh: 0.05f), small.Rpn);
        Assert.Equal([15, 15, 15], small.AnchorGenerator.NumAnchorsPerLocation());

        var full = DetectionBackbones.Create("MobileNet_V3_Large_FPN", new(InitializeWeights: false));
        Assert.Equal((800, 1333), (full.MinSize, full.MaxSize));
        Assert.Equal(new RpnOptions(ScoreThresh: 0.05f), full.Rpn);

        var resnet = DetectionBackbones.Create("resnet18_fpn", new(InitializeWeights: false));
        Assert.Equal([3, 3, 3, 3, 3], resnet.AnchorGenerator.NumAnchorsPerLocation());
        Assert.Equal(new RpnOptions(), resnet.Rpn);
        Assert.Equal(["0", "1", "2", "3"], resnet.BoxRoiPool.FeatmapNames);
        Assert.Equal(new Size2(14, 14), resnet.MaskRoiPool.OutputSize);

        var vgg = DetectionBackbones.Create("vgg13", new(InitializeWeights: false));
        Assert.Equal(512, vgg.Backbone.OutChannels);
        Assert.Equal([15], vgg.AnchorGenerator.NumAnchorsPerLocation());
        Assert.Equal(["0"], vgg.BoxRoiPool.FeatmapNames);
        Assert.Equal(new Shape(1, 512, 2, 3), vgg.Backbone.Forward(Tensor.Zeros(1, 3, 64, 96))["0"].Shape);
    }

    [Fact]
    public void NamesListEveryBackboneAndUnknownOnesAreRefused()
    {
        Assert.Equal(19, DetectionBackbones.Names.Count);
        Assert.Contains("resnext50_32x4d_fpn", DetectionBackbones.Names);
        Assert.Contains("vgg19_bn", DetectionBackbones.Names);
        var ex = Assert.Throws<ArgumentException>(() => DetectionBackbones.Create("resnet51_fpn"));
        Assert.Contains("resnet51_fpn", ex.Message);
        Assert.Contains("mobilenet_v3_large_320_fpn", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => DetectionBackbones.Create("vgg16", new(TrainableLayers: 2)));
        Assert.Contains("trainable", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DetectionBackbones.Create("mobilenet_v3_large_fpn", new(TrainableLayers: 7, InitializeWeights: false)));
    }

    [Fact]
    public void ImageNetWeightsLoadIntoTheBodies()
    {
        // torchvision-layout ImageNet checkpoints (BatchNorm2d with num_batches_tracked, a classifier) written with formula
        // weights; the detection bodies take every body tensor and ignore the classifier and the frozen layers' counters.
        string directory = Directory.CreateTempSubdirectory("sharpseg-detbackbone").FullName;
        try
        {
            var resnet = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, numClasses: 10, initializeWeights: false);
            var mobilenet = new MobileNetV3(MobileNetV3Arch.Large, numClasses: 10, initializeWeights: false);
            var vgg = new Vgg(11, batchNorm: true, numClasses: 10, initializeWeights: false, classifierWidth: 8);
            foreach (var (network, file, name, bodyKey, key) in new (Module, string, string, string, string)[]
            {
                (resnet, "resnet18.safetensors", "resnet18_fpn", "body.layer3.1.conv2.weight", "layer3.1.conv2.weight"),
                (mobilenet, "mnv3.safetensors", "mobilenet_v3_large_fpn", "body.12.block.1.0.weight", "features.12.block.1.0.weight"),
                (vgg, "vgg11_bn.safetensors", "vgg11_bn", "5.running_var", "features.5.running_var"),
            })
            {
                network.LoadStateDict(FormulaTensors(network));
                string path = Path.Combine(directory, file);
                network.SaveSafetensors(path);
                var backbone = DetectionBackbones.Create(name, new(PretrainedPath: path)).Backbone;
                var loaded = backbone.StateDict()[bodyKey].ToArray();
                Assert.Equal(network.StateDict()[key].ToArray(), loaded);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The formula weights of tools/gen_models_golden_backbones.py for <paramref name="module"/>'s own state dict.</summary>
    private static OrderedDictionary<string, Tensor> FormulaTensors(Module module) =>
        KeyFile.FormulaTensors(KeyFile.Describe(module).Select(line => line.Split(' ')).Select(p => (p[0], p[1])));

    // Formula weights leave scores tied to 1e-7 (and VGG's exactly), so rank order is not meaningful: every expected row
    // must equal a distinct actual row, column c to within tolerances[c].
    private static void AssertSameRows(float[][] expected, float[][] actual, float[] tolerances, string what)
    {
        var used = new bool[actual.Length];
        var missing = new List<float[]>();
        foreach (var row in expected)
        {
            int match = Enumerable.Range(0, actual.Length)
                .FirstOrDefault(j => !used[j] && row.Select((v, c) => MathF.Abs(v - actual[j][c]) <= tolerances[c]).All(ok => ok), -1);
            if (match >= 0) used[match] = true;
            else missing.Add(row);
        }
        var extra = actual.Where((_, j) => !used[j]).ToArray();
        Assert.True(missing.Count == 0 && extra.Length == 0,
            $"{what}: {missing.Count} expected rows unmatched ({string.Join("; ", missing.Take(5).Select(r => string.Join(", ", r)))}), " +
            $"{extra.Length} extra ({string.Join("; ", extra.Take(5).Select(r => string.Join(", ", r)))})");
    }

    private static float[][] Rows(params Tensor[] columns)
    {
        int n = columns[0].Shape[0];
        var data = columns.Select(c => c.ToArray()).ToArray();
        return [.. Enumerable.Range(0, n).Select(i => data.SelectMany(d => d.Skip(i * (d.Length / n)).Take(d.Length / n)).ToArray())];
    }
}

/// <summary>
/// The allocation-saving paths of the detection pipeline against their general forms: the RPN's per-level top-k against a
/// stable descending sort (ties at the cut, NaN), the transform's one-pass batch against its differentiable form.
/// </summary>
public class DetectionFastPathTests
{
    [Fact]
    public void OnePassTransformEqualsTheDifferentiableOne()
    {
        var transform = new GeneralizedRcnnTransform(64, 100, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        Tensor[] images = [FormulaWeights.Input(3, 40, 50), FormulaWeights.Input(3, 30, 45)];
        var fast = transform.Forward(images);
        foreach (var image in images) image.RequiresGrad = true;
        var general = transform.Forward(images);
        Assert.True(general.Tensors.RequiresGrad);
        Assert.Equal(new Shape(2, 3, 64, 96), fast.Tensors.Shape);
        Assert.Equal(general.ImageSizes, fast.ImageSizes);
        Assert.Equal(general.Tensors.Detach().ToArray(), fast.Tensors.ToArray());
    }

    [Fact]
    public void TopIndicesEqualAStableDescendingSortsFirstK()
    {
        float[] values = [9f, 3f, 5f, 3f, 7f, 3f, 1f, 5f, 3f];
        foreach (var (offset, count) in new[] { (0, 9), (1, 7), (2, 3) })
            for (int k = 0; k <= count; k++)
            {
                var expected = Enumerable.Range(offset, count).OrderByDescending(i => values[i]).Take(k).ToArray();
                Assert.Equal(expected, RegionProposalNetwork.TopIndices(values, offset, count, k));
            }
        float[] withNaN = [2f, float.NaN, 4f, float.NaN];
        Assert.Equal([2, 0, 1], RegionProposalNetwork.TopIndices(withNaN, 0, 4, 3));
        Assert.Equal([2, 0], RegionProposalNetwork.TopIndices(withNaN, 0, 4, 2));
    }
}
