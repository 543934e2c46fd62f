using SharpSeg.Models.Tests.Segmentation;
using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.FastScnnFamily;

/// <summary>Fast-SCNN against its PyTorch twin (tools/gen_models_golden_fastscnn.py), its loss weights and its outputs.</summary>
public class FastScnnTests
{
    public static TheoryData<string> GoldenCases() => ["fastscnn", "fastscnn_3outputs_aligned"];

    private static FastScnn GoldenModel(string name) => name switch
    {
        "fastscnn" => new FastScnn(new FastScnnOptions(3)),
        "fastscnn_3outputs_aligned" => new FastScnn(new FastScnnOptions(3, InChannels: 4, AlignCorners: true, MultiLossWeight: [1.0, 0.4, 0.4])),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void StateDictKeysAndShapesEqualTheTorchTwins(string name) =>
        Assert.Equal(SegmentationAssert.GoldenKeys(name, "FastScnn"), SegmentationAssert.KeyLines(GoldenModel(name)));

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void EvalLogitsMatchTheTorchTwinWithTheSameWeights(string name) => SegmentationAssert.MatchesGolden(GoldenModel(name), name, "FastScnn");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EachLossWeightAddsOneOutputAtTheInputResolution(int count)
    {
        double[] weights = [.. new[] { 1.0, 0.4, 0.25 }.Take(count)];
        var model = new FastScnn(new FastScnnOptions(2, MultiLossWeight: weights));
        weights[0] = 7;
        Assert.Equal(new[] { 1.0, 0.4, 0.25 }.Take(count), model.LossCoefficients);

        var modules = model.NamedModules().Select(m => m.Name).ToHashSet();
        Assert.Equal(count >= 2, modules.Contains("aux_layer_higher"));
        Assert.Equal(count >= 3, modules.Contains("aux_layer_lower"));

        model.Eval();
        using var _ = GradMode.NoGrad();
        var logits = model.Forward(Tensor.Randn(new Shape(1, 3, 45, 37), new Random(2)));
        Assert.Equal(count, logits.Count);
        Assert.All(logits, l => Assert.Equal(new Shape(1, 2, 45, 37), l.Shape));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void MultiLossWeightOfAnotherLengthIsRefused(int count)
    {
        var error = Assert.Throws<ArgumentException>(() => new FastScnn(new FastScnnOptions(2, MultiLossWeight: [.. Enumerable.Repeat(1.0, count)])));
        Assert.Contains($"MultiLossWeight takes 1 to 3 weights (fusion branch, higher-resolution branch, lower-resolution branch), got {count}", error.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.4)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void NonPositiveOrInfiniteLossWeightsAreRefused(double weight)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.CreateModel("fastscnn", new FastScnnOptions(2, MultiLossWeight: [1.0, weight])));
        Assert.Contains($"MultiLossWeight[1] is {weight}; every loss weight must be positive and finite", error.Message);
    }

    [Fact]
    public void OptionsCompareTheLossWeightsByValue()
    {
        var options = new FastScnnOptions(2, MultiLossWeight: [1.0, 0.4]);
        var same = new FastScnnOptions(2, MultiLossWeight: new List<double> { 1.0, 0.4 });
        Assert.Equal(options, same);
        Assert.Equal(options.GetHashCode(), same.GetHashCode());
        Assert.NotEqual(options, options with { MultiLossWeight = [1.0, 0.5] });
        Assert.NotEqual(options, options with { MultiLossWeight = null });
        Assert.NotEqual(options, options with { AlignCorners = true });
        Assert.NotEqual<ModelOptions>(new ModelOptions(2), new FastScnnOptions(2));
    }

    [Fact]
    public void BackwardReachesEveryParameterWithThreeOutputs()
    {
        var model = new FastScnn(new FastScnnOptions(3, InChannels: 2, MultiLossWeight: [1.0, 0.4, 0.4]));
        var outputs = model.Forward(Tensor.Randn(new Shape(2, 2, 64, 48), new Random(5)));
        Assert.Equal(3, outputs.Count);
        SegmentationAssert.BackwardReachesEveryParameter(model, outputs);
    }

    [Fact]
    public void PlainModelOptionsGiveTheMainLogitsOnlyAndPaddleSegsLayers()
    {
        var model = (FastScnn)ModelRegistry.CreateModel("fastscnn", new ModelOptions(NumClasses: 4, InChannels: 2, AlignCorners: true));
        Assert.Equal(new FastScnnOptions(4, 2, true), model.FastScnnOptions);
        Assert.Equal([1.0], model.LossCoefficients);
        Assert.Equal(32, model.SizeDivisor);

        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var first = (Conv2d)modules["learning_to_downsample.conv_bn_relu.conv"];
        Assert.Equal(new Conv2dOptions(2, 32, 3, 2, 0, 1, 1, Bias: true), first.Options);
        Assert.Equal(new Conv2dOptions(32, 32, 3, 2, 1, 1, 32, Bias: true),
            ((Conv2d)modules["learning_to_downsample.dsconv_bn_relu1.depthwise_conv.conv"]).Options);
        Assert.Equal(new Conv2dOptions(64, 384, 1, 1, 0, 1, 1, Bias: false),
            ((Conv2d)modules["global_feature_extractor.bottleneck2.0.block.0.conv"]).Options);
        Assert.Equal(new Conv2dOptions(576, 576, 3, 1, 1, 1, 576, Bias: false),
            ((Conv2d)modules["global_feature_extractor.bottleneck3.0.block.1.conv"]).Options);
        Assert.Equal(new Conv2dOptions(128 + 4 * 32, 128, 3, 1, 1, 1, 1, Bias: true),
            ((Conv2d)modules["global_feature_extractor.ppm.conv_bn_relu2.conv"]).Options);
        Assert.Equal(new Size2(6, 6), ((AdaptiveAvgPool2d)modules["global_feature_extractor.ppm.stages.3.0"]).OutputSize);
        Assert.Equal(new Conv2dOptions(128, 128, 3, 1, 1, 1, 128, Bias: false), ((Conv2d)modules["feature_fusion.dwconv.conv"]).Options);
        Assert.Equal(new Conv2dOptions(128, 4, 1, 1, 0, 1, 1, Bias: true), ((Conv2d)modules["classifier.conv"]).Options);
        Assert.DoesNotContain(modules.Keys, k => k.StartsWith("aux_layer", StringComparison.Ordinal));
    }

    [Fact]
    public void PaddleSegNamesMapOntoTheKeysThroughThePaddleSegKeyMap()
    {
        // PaddleSeg names a ConvBNReLU/ConvBN's children _conv and _batch_norm (statistics _mean, _variance, no
        // num_batches_tracked); plain convolutions such as classifier.conv keep their names.
        var model = new FastScnn(new FastScnnOptions(3));
        FormulaWeights.Fill(model);
        var state = model.StateDict();
        var paddle = PaddleSegNames.Of(state);
        Assert.Contains("learning_to_downsample.dsconv_bn_relu1.piontwise_conv._batch_norm._variance", paddle.Keys);
        Assert.Contains("classifier.conv.weight", paddle.Keys);

        var loaded = new FastScnn(new FastScnnOptions(3));
        var report = loaded.LoadStateDict(KeyMap.PaddleSeg.Apply(paddle));
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Equal(state["global_feature_extractor.ppm.stages.2.1.bn.running_var"].ToArray(),
            loaded.StateDict()["global_feature_extractor.ppm.stages.2.1.bn.running_var"].ToArray());
    }

    [Fact]
    public void ParameterCountsFor19ClassesMatchTheTorchTwin()
    {
        // Printed by tools/gen_models_golden_fastscnn.py. PaddleSeg's pyramid pooling fuses with a 3×3 convolution
        // (256 → 128), where the paper's ~1.1M counts a 1×1 one.
        Assert.Equal(1_401_187, new FastScnn(new FastScnnOptions(19)).ParameterCount);
        Assert.Equal(1_457_865, new FastScnn(new FastScnnOptions(19, MultiLossWeight: [1.0, 0.4, 0.4])).ParameterCount);
    }
}
