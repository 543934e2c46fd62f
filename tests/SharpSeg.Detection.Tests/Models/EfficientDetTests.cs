using SharpSeg.Detection.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// <see cref="EfficientDet"/> against tools/efficientdet_reference.py (a PyTorch reference with efficientdet-pytorch's module
/// names, float64, formula weights): state-dict keys and parameter counts of the full efficientdet_d0 and
/// tf_efficientdet_lite0, head outputs of two narrow configurations (D0's structure, and lite0's with TF "SAME" padding, ReLU6
/// and plain-sum fusion), anchors, anchor labels, post-processing, pre-processing, training losses and gradients.
/// </summary>
public class EfficientDetTests
{
    // The reference's narrow configurations (SMALL_D0 and SMALL_LITE0 in the script).
    internal static EfficientDetConfig SmallD0 => EfficientDetConfig.EfficientDetD0 with
    {
        ImageSize = 128, FpnChannels = 16, FpnCellRepeats = 2, BoxClassRepeats = 2, NumForegroundClasses = 3, BackboneDropPathRate = 0,
    };

    internal static EfficientDetConfig SmallLite0 => EfficientDetConfig.TfEfficientDetLite0 with
    {
        ImageSize = 96, FpnChannels = 16, FpnCellRepeats = 2, BoxClassRepeats = 2, NumForegroundClasses = 3,
    };

    private static KeyFile Keys(string name) => KeyFile.FromFile(GoldenFiles.PathOf($"EfficientDet/keys/{name}.txt"));

    private static Tensor Golden(string name) => GoldenFiles.ReadNpy($"EfficientDet/{name}.npy");

    // The reference's weights: the formula, with the BiFPN edge weights w turned into 1 + 2 w (build() in the script).
    internal static EfficientDet Loaded(EfficientDetConfig config, string keyFile)
    {
        var model = new EfficientDet(config);
        var weights = Keys(keyFile).FormulaTensors();
        foreach (var key in weights.Keys.Where(k => k.EndsWith("edge_weights", StringComparison.Ordinal)).ToArray())
            weights[key] = 1f + 2f * weights[key];
        var report = model.LoadStateDict(weights);
        Assert.True(report.IsExactMatch, $"{keyFile}: the reference's state dict did not load exactly");
        return model;
    }

    [Theory]
    [InlineData("efficientdet_d0", "efficientdet_d0")]
    [InlineData("efficientdet_lite0", "tf_efficientdet_lite0")]
    public void PresetsHaveTheReferenceKeysShapesAndParameterCounts(string preset, string keyFile)
    {
        var model = EfficientDet.FromName(preset, numClasses: 91);
        var keys = Keys(keyFile);
        Assert.Equal(KeyFile.Describe(keys.Entries), KeyFile.Describe(model));
        Assert.Equal(keys.ParameterCount, model.ParameterCount);
        Assert.Equal(91, model.NumClasses);
    }

    [Theory]
    [InlineData("small_d0")]
    [InlineData("small_lite0")]
    public void HeadOutputsMatchTheReference(string name)
    {
        var config = name == "small_d0" ? SmallD0 : SmallLite0;
        var model = Loaded(config, name);
        Assert.Equal(KeyFile.Describe(Keys(name).Entries), KeyFile.Describe(model));
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var (classes, boxes) = model.ForwardHeads(FormulaWeights.Input(1, 3, config.ImageSize, config.ImageSize));
        Assert.Equal(5, classes.Count);
        for (int level = 0; level < 5; level++)
        {
            GoldenAssert.Close(Golden($"{name}_class_{level}"), classes[level], $"{name} class map P{level + 3}");
            GoldenAssert.Close(Golden($"{name}_box_{level}"), boxes[level], $"{name} box map P{level + 3}");
        }
    }

    [Theory]
    [InlineData("small_d0")]
    [InlineData("small_lite0")]
    public void AnchorsMatchTheReference(string name)
    {
        var anchors = new EfficientDetAnchors(name == "small_d0" ? SmallD0 : SmallLite0);
        // The reference keeps (y1, x1, y2, x2); ours are (x1, y1, x2, y2).
        var expected = Golden($"{name}_anchors").ToArray();
        Assert.Equal(expected.Length, anchors.Boxes.Length);
        for (int i = 0; i < expected.Length; i += 4)
            Assert.Equal([expected[i + 1], expected[i], expected[i + 3], expected[i + 2]], anchors.Boxes[i..(i + 4)]);
    }

    [Fact]
    public void AnchorLabelsMatchTheReference()
    {
        var anchors = new EfficientDetAnchors(SmallD0);
        var (classes, targets, positives) = anchors.Label([12f, 18, 76, 66, 63, 66, 123, 122, 27, 87, 48, 112], [1L, 3, 2], 0.5f);
        var expectedClasses = Golden("small_d0_labels_cls").ToArray();
        Assert.Equal(expectedClasses.Select(c => (int)c), classes);
        Assert.Equal(expectedClasses.Count(c => c >= 0), positives);
        Assert.True(positives > 3, "the fixture should match more anchors than the forced ones");
        GoldenAssert.Close(Golden("small_d0_labels_box"), Tensor.FromArray(targets, anchors.Count, 4), "box targets (ty, tx, th, tw)", 1e-5f);
    }

    [Fact]
    public void PostProcessingMatchesTheReference()
    {
        // Synthetic, well-separated head outputs (synthetic_maps in the script): top-k, decoding, clipping to the scaled image
        // (128 × 102.4), batched NMS, 100 kept, boxes divided by the scale 2.56 and labels 1-based.
        var model = new EfficientDet(SmallD0);
        var sizes = EfficientDet.LevelSizes(128, 7).Skip(3).ToArray();
        int total = sizes.Sum(s => 27 * s.H * s.W), offset = 0;
        var classMaps = new List<Tensor>();
        var boxMaps = new List<Tensor>();
        for (int level = 0; level < sizes.Length; level++)
        {
            var (h, w) = sizes[level];
            var logits = new float[27 * h * w];
            for (int i = 0; i < logits.Length; i++) logits[i] = (float)(-3 + 6.0 * (7919L * (offset + i) % total) / total);
            offset += logits.Length;
            var codes = new float[36 * h * w];
            for (int i = 0; i < codes.Length; i++) codes[i] = (float)(0.5 * Math.Sin(0.23 * i + level));
            classMaps.Add(Tensor.FromArray(logits, 1, 27, h, w));
            boxMaps.Add(Tensor.FromArray(codes, 1, 36, h, w));
        }
        var result = model.PostProcess(classMaps, boxMaps, 0, 2.56, (128, 102.4));
        Assert.Equal(100, result.Scores.Shape[0]);
        GoldenAssert.Close(Golden("small_d0_detect_scores"), result.Scores, "scores", 1e-6f);
        Assert.Equal(Golden("small_d0_detect_labels").ToArray(), result.Labels.To(DType.Float32).ToArray());
        GoldenAssert.Close(Golden("small_d0_detect_boxes"), result.Boxes, "boxes", 1e-5f);
    }

    [Theory]
    [InlineData("pad", 100, 128)]
    [InlineData("resize", 50, 40)]
    public void PreparedImagesMatchTheReference(string tag, int height, int width)
    {
        // ResizePad: a 100 × 128 image is only padded; a 50 × 40 one is scaled by 2.56 to 128 × 102 (bilinear) and padded.
        var model = Loaded(SmallD0, "small_d0");
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var (input, scale, extent) = model.Prepare(FormulaWeights.Input(3, height, width) * 0.5f + 0.5f);
        Assert.Equal(Math.Min(128.0 / height, 128.0 / width), scale);
        Assert.Equal((height * scale, width * scale), extent);
        GoldenAssert.Close(Golden($"small_d0_prepared_{tag}_class_0"), model.ForwardHeads(input).ClassOutputs[0], $"{tag}: class map P3");
    }

    [Fact]
    public void PredictReturnsThePostProcessedHeadsInImagePixels()
    {
        var model = Loaded(SmallD0, "small_d0");
        var image = FormulaWeights.Input(3, 50, 40) * 0.5f + 0.5f;
        var results = model.Predict([FormulaWeights.Input(3, 128, 128), image]);
        Assert.Equal(2, results.Count);
        var result = results[1];
        Assert.True(model.IsTraining, "Predict must restore the training mode");
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        var (input, scale, extent) = model.Prepare(image);
        var (classes, boxes) = model.ForwardHeads(input);
        var expected = model.PostProcess(classes, boxes, 0, scale, extent);
        Assert.Equal(100, result.Scores.Shape[0]);
        Assert.Equal(expected.Scores.ToArray(), result.Scores.ToArray());
        Assert.Equal(expected.Boxes.ToArray(), result.Boxes.ToArray());
        var flat = result.Boxes.ToArray();
        Assert.All(flat.Where((_, i) => i % 2 == 0), x => Assert.InRange(x, 0f, 40f + 1e-4f));
        Assert.All(flat.Where((_, i) => i % 2 == 1), y => Assert.InRange(y, 0f, 50f + 1e-4f));
        Assert.All(result.Labels.ToArray<long>(), l => Assert.InRange(l, 1L, 3L));
    }

    [Fact]
    public void TrainingLossesAndGradientsMatchTheReference()
    {
        var model = Loaded(SmallD0, "small_d0");
        model.Train();
        var images = new[] { FormulaWeights.Input(3, 128, 128) * 0.5f + 0.5f, FormulaWeights.Input(3, 96, 128) * 0.25f + 0.5f };
        var targets = new[]
        {
            new RcnnTarget(Tensor.FromArray([12f, 18, 76, 66, 63, 66, 123, 122, 27, 87, 48, 112], 3, 4), Tensor.FromArray([1L, 3, 2], 3)),
            new RcnnTarget(Tensor.FromArray([5f, 10, 98, 87], 1, 4), Tensor.FromArray([2L], 1)),
        };
        var losses = model.ComputeLosses(images, targets);
        Assert.Equal(["loss_class", "loss_box"], losses.Keys);
        GoldenAssert.Close(Golden("small_d0_train_loss_class"), losses["loss_class"].Reshape(1), "loss_class");
        GoldenAssert.Close(Golden("small_d0_train_loss_box"), losses["loss_box"].Reshape(1), "loss_box");
        (losses["loss_class"] + losses["loss_box"]).Backward();
        var parameters = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        // float32 against a float64 reference through train-mode BatchNorm: the class gradients agree to 1e-4 of their scale;
        // the box gradients are sums of Huber slopes out − target inside ±0.1, small differences of nearly equal numbers,
        // and agree to ~1.2e-3 of their scale, as do the BiFPN's and backbone's further down.
        foreach (var (key, tolerance) in new[] { ("class_net.predict.conv_pw.bias", 1e-4), ("class_net.bn_rep.1.4.bn.weight", 1e-3),
                     ("box_net.predict.conv_pw.weight", 3e-3), ("fpn.cell.0.fnode.0.combine.edge_weights", 3e-3), ("backbone.blocks.6.0.bn3.weight", 3e-3) })
            GoldenAssert.CloseToScale(Golden($"small_d0_train_grad_{key.Replace('.', '_')}"), parameters[key].Grad!, tolerance, $"gradient of {key}");
    }

    [Fact]
    public void AnImageWithNoObjectsHasOnlyTheFocalLossOfItsNegatives()
    {
        // No ground truth: every anchor is background, the box loss is exactly 0 and the class loss is
        // Σ (1 − α) p^γ · −log(1 − p) over all logits, divided by 0 positives + 1.
        var model = Loaded(SmallD0, "small_d0");
        model.Eval();
        var image = FormulaWeights.Input(3, 128, 128) * 0.5f + 0.5f;
        var losses = model.ComputeLosses([image], [new RcnnTarget(Tensor.Zeros(0, 4), Tensor.Zeros(new Shape(0), DType.Int64))]);
        Assert.Equal(0f, losses["loss_box"].ToArray()[0]);
        double expected = 0;
        using (GradMode.NoGrad())
            foreach (var map in model.ForwardHeads(model.Prepare(image).Input).ClassOutputs)
                foreach (float logit in map.ToArray())
                {
                    double p = 1 / (1 + Math.Exp(-logit));
                    expected += 0.75 * Math.Pow(p, 1.5) * -Math.Log(1 - p);
                }
        Assert.Equal(expected, losses["loss_class"].ToArray()[0], expected * 1e-5);
    }

    [Fact]
    public void BadInputsAreRefusedWithTheirShapeOrLabel()
    {
        var model = new EfficientDet(SmallD0);
        var wrongSize = Assert.ThrowsAny<Exception>(() => model.ForwardHeads(Tensor.Zeros(1, 3, 64, 64)));
        Assert.Contains("128", wrongSize.Message);
        var badLabel = Assert.Throws<ArgumentException>(() => model.ComputeLosses([Tensor.Zeros(3, 128, 128)],
            [new RcnnTarget(Tensor.FromArray([1f, 1, 20, 20], 1, 4), Tensor.FromArray([4L], 1))]));
        Assert.Contains("label 4", badLabel.Message);
        Assert.Throws<ArgumentException>(() => EfficientDetConfig.FromName("efficientdet_d9"));
    }

    [Fact]
    public void PresetsFollowEfficientDetPytorchsConfigs()
    {
        var expected = new (string Name, string Backbone, int Size, int Channels, int Cells, int Repeats, int MaxLevel, double AnchorScale, bool Weighted)[]
        {
            ("efficientdet_d0", "efficientnet_b0", 512, 64, 3, 3, 7, 4, true),
            ("efficientdet_d1", "efficientnet_b1", 640, 88, 4, 3, 7, 4, true),
            ("efficientdet_d2", "efficientnet_b2", 768, 112, 5, 3, 7, 4, true),
            ("efficientdet_d3", "efficientnet_b3", 896, 160, 6, 4, 7, 4, true),
            ("efficientdet_d4", "efficientnet_b4", 1024, 224, 7, 4, 7, 4, true),
            ("efficientdet_d5", "efficientnet_b5", 1280, 288, 7, 4, 7, 4, true),
            ("efficientdet_d6", "tf_efficientnet_b6", 1280, 384, 8, 5, 7, 4, false),
            ("efficientdet_d7", "tf_efficientnet_b6", 1536, 384, 8, 5, 7, 5, false),
            ("efficientdet_d7x", "tf_efficientnet_b7", 1536, 384, 8, 5, 8, 4, false),
            ("efficientdet_lite0", "tf_efficientnet_lite0", 320, 64, 3, 3, 7, 3, false),
        };
        Assert.Equal(expected.Select(e => e.Name), EfficientDetConfig.PresetNames);
        foreach (var e in expected)
        {
            var c = EfficientDetConfig.FromName(e.Name);
            Assert.Equal((e.Backbone, e.Size, e.Channels, e.Cells, e.Repeats, e.MaxLevel, e.AnchorScale, e.Weighted),
                (c.Backbone.Name, c.ImageSize, c.FpnChannels, c.FpnCellRepeats, c.BoxClassRepeats, c.MaxLevel, c.AnchorScale, c.WeightedFusion));
        }
    }
}
