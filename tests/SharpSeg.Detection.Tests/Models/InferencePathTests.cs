using SharpSeg.Detection.Models;
using SharpSeg.Models;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Detection.Tests.Models;

/// <summary>
/// The detectors' inference paths (no graph recorded): the in-place epilogues of <see cref="InferenceOps"/> equal the
/// out-of-place ops bit for bit, and the FPN, RPN head, box head, mask head and predictor, VGG features, and EfficientDet's blocks and
/// BiFPN give under <see cref="GradMode.NoGrad"/> what their recorded-graph forms give (torchvision's FPN golden of
/// tools/golden_detection_models.py for the FPN; the graph path elsewhere, to the last bits that folding BatchNorm and
/// packing weights change), and the same again on a second call, when reused buffers hold the first call's maps.
/// </summary>
public class InferencePathTests
{
    private static Tensor Values(Random random, params int[] dims) => Tensor.Randn(new Shape(dims), random) * 3f;

    [Fact]
    public void InPlaceEpiloguesEqualTheOutOfPlaceOpsBitForBit()
    {
        var random = new Random(5);
        var x = Values(random, 2, 3, 5, 7);
        Assert.Equal(x.Relu().ToArray(), InferenceOps.ReluInPlace(x.Clone()).ToArray());
        Assert.Equal(x.Relu6().ToArray(), InferenceOps.Relu6InPlace(x.Clone()).ToArray());
        Assert.Equal(x.Silu().ToArray(), InferenceOps.SiluInPlace(x.Clone()).ToArray());
        var big = Values(random, 1, 3, 200, 300);
        Assert.Equal(big.Silu().ToArray(), InferenceOps.SiluInPlace(big.Clone()).ToArray());

        var bias = Values(random, 3);
        Assert.Equal((x + bias.Reshape(1, 3, 1, 1)).Relu().ToArray(), InferenceOps.AddBiasReluInPlace(x.Clone(), bias).ToArray());
        var gate = Values(random, 2, 3, 1, 1).Sigmoid();
        Assert.Equal((x * gate).ToArray(), InferenceOps.ScaleChannelsInPlace(x.Clone(), gate).ToArray());
    }

    [Theory]
    [InlineData(5, 7, 10, 14)]
    [InlineData(5, 7, 11, 13)]
    [InlineData(4, 6, 4, 6)]
    [InlineData(3, 3, 8, 5)]
    public void AddNearestUpsampledEqualsInterpolateThenAdd(int inH, int inW, int outH, int outW)
    {
        var random = new Random(inH * 100 + outW);
        var target = Values(random, 2, 3, outH, outW);
        var coarse = Values(random, 2, 3, inH, inW);
        var expected = target + Functional.Interpolate(coarse, new Size2(outH, outW), mode: InterpolationMode.Nearest);
        Assert.Equal(expected.ToArray(), InferenceOps.AddNearestUpsampledInPlace(target.Clone(), coarse).ToArray());
    }

    [Fact]
    public void InPlaceOpsRefuseTensorsOfARecordedGraph()
    {
        var leaf = Tensor.Ones(1, 2, 2, 2);
        leaf.RequiresGrad = true;
        var ex = Assert.Throws<InvalidOperationException>(() => InferenceOps.ReluInPlace(leaf * 2f));
        Assert.Contains("ReluInPlace", ex.Message);
        Assert.Throws<InvalidOperationException>(() => InferenceOps.SiluInPlace(leaf));
        Assert.Throws<ShapeMismatchException>(() => InferenceOps.AddBiasReluInPlace(Tensor.Zeros(1, 2, 2, 2), Tensor.Zeros(3)));
    }

    [Fact]
    public void FpnInferenceMatchesTorchvisionGoldenTwice()
    {
        var model = new BackboneWithFpn(TorchvisionResNetArch.ResNet18, trainableLayers: 3);
        model.LoadStateDict(FpnTests.Keys("fpn_resnet18").FormulaTensors());
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        for (int call = 0; call < 2; call++)
            foreach (var (name, map) in model.Forward(FormulaWeights.Input(1, 3, 64, 96)))
                GoldenAssert.Close(GoldenFiles.ReadNpy($"Models/fpn_r18_{name}.npy"), map, $"FPN map {name} (no-grad, call {call})", 1e-4f);
    }

    [Fact]
    public void RcnnHeadsGiveTheGraphPathsResultsWithoutAGraph()
    {
        Engine.ManualSeed(11);
        var random = new Random(11);
        var features = new[] { Values(random, 1, 16, 12, 10), Values(random, 1, 16, 6, 5) };
        var rpn = new RpnHead(16, 3);
        var (objectness, deltas) = rpn.Forward(features);
        Tensor[] objectnessNoGrad, deltasNoGrad;
        using (GradMode.NoGrad()) (objectnessNoGrad, deltasNoGrad) = rpn.Forward(features);
        for (int level = 0; level < 2; level++)
        {
            GoldenAssert.Close(objectness[level], objectnessNoGrad[level], $"RPN objectness level {level}", 1e-5f);
            GoldenAssert.Close(deltas[level], deltasNoGrad[level], $"RPN deltas level {level}", 1e-5f);
        }

        var pooled = Values(random, 6, 16, 7, 7);
        var boxHead = new TwoMlpHead(16 * 49, 32);
        var hidden = boxHead.Forward(pooled);
        using (GradMode.NoGrad()) GoldenAssert.Close(hidden, boxHead.Forward(pooled), "box head", 1e-5f);
        Assert.True(hidden.ToArray().Min() >= 0 && hidden.ToArray().Max() > 0, "the box head ends with a ReLU");

        var maskHead = new MaskRcnnHeads(16, [8, 8, 8]);
        var predictor = new MaskRcnnPredictor(8, 8, 4);
        var maskInput = Values(random, 5, 16, 14, 14);
        var logits = predictor.Forward(maskHead.Forward(maskInput));
        using (GradMode.NoGrad())
        {
            GoldenAssert.Close(logits, predictor.Forward(maskHead.Forward(maskInput)), "mask logits", 1e-5f);
            // A smaller batch after a larger one: the alternating maps are fresh per call, nothing of the last call leaks in.
            GoldenAssert.Close(predictor.Forward(maskHead.Forward(maskInput.Narrow(0, 1, 2))), logits.Narrow(0, 1, 2), "mask logits of a sub-batch", 1e-5f);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void VggFeaturesFusedWithoutAGraphEqualTheLayerByLayerForward(bool batchNorm)
    {
        Engine.ManualSeed(3);
        var random = new Random(3);
        var backbone = new VggBackbone(11, batchNorm);
        // Non-trivial statistics, so that folding the normalisation into the convolutions is really exercised.
        foreach (var norm in backbone.Modules().OfType<BatchNorm2d>())
        {
            norm.RunningMean!.CopyFrom(Values(random, norm.NumFeatures) * 0.1f);
            norm.RunningVar!.CopyFrom(Values(random, norm.NumFeatures).Abs() + 0.5f);
            norm.Weight!.CopyFrom(Values(random, norm.NumFeatures) * 0.3f + 1f);
            norm.Bias!.CopyFrom(Values(random, norm.NumFeatures) * 0.1f);
        }
        backbone.Eval();
        var input = Values(random, 1, 3, 64, 64);
        var layerByLayer = backbone.Forward(input)["0"];
        using var noGrad = GradMode.NoGrad();
        var fused = backbone.Forward(input)["0"];
        Assert.Equal(new Shape(1, 512, 2, 2), fused.Shape);
        GoldenAssert.Close(layerByLayer, fused, $"VGG11{(batchNorm ? "-BN" : "")} features", 1e-4f);
    }

    [Theory]
    [InlineData("small_d0")]
    [InlineData("small_lite0")]
    public void EfficientDetHeadsMatchTheReferenceWithoutAGraphTwiceAndTheGraphPath(string name)
    {
        var config = name == "small_d0" ? EfficientDetTests.SmallD0 : EfficientDetTests.SmallLite0;
        var model = EfficientDetTests.Loaded(config, name);
        model.Eval();
        var input = FormulaWeights.Input(1, 3, config.ImageSize, config.ImageSize);
        var (graphClasses, graphBoxes) = model.ForwardHeads(input);
        for (int call = 0; call < 2; call++)
        {
            using var noGrad = GradMode.NoGrad();
            var (classes, boxes) = model.ForwardHeads(input);
            for (int level = 0; level < 5; level++)
            {
                GoldenAssert.Close(GoldenFiles.ReadNpy($"EfficientDet/{name}_class_{level}.npy"), classes[level], $"{name} class P{level + 3}, call {call}");
                GoldenAssert.Close(GoldenFiles.ReadNpy($"EfficientDet/{name}_box_{level}.npy"), boxes[level], $"{name} box P{level + 3}, call {call}");
                GoldenAssert.Close(graphClasses[level], classes[level], $"{name} class P{level + 3} against the graph path", 5e-5f);
                GoldenAssert.Close(graphBoxes[level], boxes[level], $"{name} box P{level + 3} against the graph path", 5e-5f);
            }
        }
    }
}
