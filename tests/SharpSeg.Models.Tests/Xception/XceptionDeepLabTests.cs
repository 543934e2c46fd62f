using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Xception;

/// <summary>
/// PaddleSeg's XceptionDeeplab against the PyTorch twin in tools/gen_models_golden_xception.py (outputs of formula-filled
/// weights in float64, parameter counts, PaddleSeg's own names), and the family's output-stride rules. Keys and the feature
/// contract are checked with every registered backbone by Registry.BackboneRegistryTests.
/// </summary>
public class XceptionDeepLabTests
{
    [Theory]
    [InlineData(41, 16, "xception41_os16")]
    [InlineData(41, 8, "xception41_os8")]
    [InlineData(71, 16, "xception71_os16")]
    public void FeaturesMatchTheTorchTwinOfPaddleSegsArchitecture(int depth, int outputStride, string golden)
    {
        // 33×31 makes every stride-2 convolution end on a partial window (⌈n/2⌉ with padding 1).
        var model = new XceptionDeepLab(depth, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        FormulaWeights.Fill(model);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var features = model.ForwardFeatures(FormulaWeights.Input(1, 3, 33, 31));
            GoldenAssert.Close(GoldenFiles.ReadNpy($"Xception/{golden}_r4.npy"), features[0], $"{golden} reduction 4");
            GoldenAssert.Close(GoldenFiles.ReadNpy($"Xception/{golden}_out.npy"), features[1], $"{golden} output");
        }
    }

    [Theory]
    [InlineData(41, 24_920_560, 27_084_872L)]
    [InlineData(65, 37_867_312, 40_101_512L)]
    [InlineData(71, 40_289_736, null)]
    public void ParameterCountsMatchTheTwinAndPaddleClasPublishedImageNetModels(int depth, long headless, long? published)
    {
        // PaddleClas lists Xception41_deeplab at 27.08 M and Xception65_deeplab at 40.10 M parameters (no Xception71_deeplab):
        // its classifier (2048 × 1000 + 1000) and, as Paddle's summary counts them, the BatchNorm running statistics on top of ours.
        var model = new XceptionDeepLab(depth, initializeWeights: false);
        Assert.Equal(headless, model.ParameterCount);
        Assert.Equal(KeyFile.Read($"xception{depth}_deeplab").ParameterCount, model.ParameterCount);
        long statistics = model.Modules().OfType<BatchNorm2d>().Sum(bn => 2L * bn.NumFeatures);
        if (published is { } count) Assert.Equal(count, model.ParameterCount + 2048 * 1000 + 1000 + statistics);
    }

    [Theory]
    [InlineData("xception41", "xception41_deeplab")]
    [InlineData("Xception65", "xception65_deeplab")]
    [InlineData("XCEPTION71", "xception71_deeplab")]
    public void PaddleXNamesAreAliasesOfTheSameEntry(string alias, string name)
    {
        var entry = ModelRegistry.Get(name, RegistryKind.Backbone);
        Assert.Same(entry, ModelRegistry.Get(alias, RegistryKind.Backbone));
        Assert.Contains(alias.ToLowerInvariant(), entry.Aliases);
    }

    [Theory]
    [InlineData(41)]
    [InlineData(71)]
    public void PaddleSegKeyMapSendsEveryPaddleSegNameToOurKeyWithTheSameShape(int depth)
    {
        KeyFile.Read($"xception{depth}_deeplab.paddle").AssertMapsOnto(new XceptionDeepLab(depth, initializeWeights: false), XceptionDeepLab.PaddleSegKeyMap);
    }

    [Fact]
    public void PaddleCheckpointWithClassifierLoadsStrictlyIntoAFourChannelBackbone()
    {
        var paddle = KeyFile.Read("xception41_deeplab.paddle");
        var tensors = paddle.FormulaTensors();
        // PaddleClas's ImageNet Xception41_deeplab adds a classifier (Paddle's Linear stores [in, out]).
        tensors.Add("_fc.weight", Tensor.Zeros(2048, 1000));
        tensors.Add("_fc.bias", Tensor.Zeros(1000));
        using var file = TemporaryCheckpoint.Save(tensors);
        IPretrainedBackbone model = new XceptionDeepLab(41, new BackboneOptions(InChannels: 4), initializeWeights: false);
        var report = model.LoadPretrained(file.Path);
        Assert.Empty(report.MissingKeys);
        Assert.Empty(report.UnexpectedKeys);
        Assert.Equal(paddle.Entries.Count, report.LoadedCount);

        var state = model.Module.StateDict();
        Assert.Equal(tensors["xception_41/middle_flow/block8._conv3._bn2._variance"].ToArray(), state["middle_flow.7._conv3._bn2.running_var"].ToArray());
        Assert.Equal(tensors["xception_41/entry_flow/block1._short._conv.weight"].ToArray(), state["entry_flow.0._short._conv.weight"].ToArray());
        Assert.Equal(tensors["_exit_flow_2._conv3._bn2._mean"].ToArray(), state["_exit_flow_2._conv3._bn2.running_mean"].ToArray());
        var rgb = tensors["_conv1._conv.weight"];
        Assert.Equal(PretrainedWeights.AdaptInputChannels(rgb, 4).ToArray(), state["_conv1._conv.weight"].ToArray());
    }

    [Fact]
    public void OwnKeysLoadStrictlyAndAMissingTensorIsNamed()
    {
        var source = new XceptionDeepLab(41, initializeWeights: false);
        var target = new XceptionDeepLab(41, initializeWeights: false);
        var state = source.StateDict();
        Assert.Equal(state.Count, target.LoadPretrained(state).LoadedCount);
        Assert.Equal(state["middle_flow.3._conv2._conv1.weight"].ToArray(), target.StateDict()["middle_flow.3._conv2._conv1.weight"].ToArray());

        state.Remove("_exit_flow_1._short._bn.weight");
        var error = Assert.Throws<StateDictMismatchException>(() => target.LoadPretrained(state));
        Assert.Contains("_exit_flow_1._short._bn.weight", error.Message);
    }

    [Theory]
    [InlineData(41, 16, new[] { 2, 2, 2 }, new[] { 1, 1, 1 }, 1, 1, 1, 2)]
    [InlineData(41, 8, new[] { 2, 2, 1 }, new[] { 1, 1, 1 }, 2, 1, 2, 4)]
    [InlineData(71, 16, new[] { 2, 1, 2, 1, 2 }, new[] { 1, 1, 1, 1, 1 }, 1, 1, 1, 2)]
    [InlineData(71, 8, new[] { 2, 1, 2, 1, 1 }, new[] { 1, 1, 1, 1, 1 }, 2, 1, 2, 4)]
    public void OutputStrideTurnsTheSkippedStridesIntoDilations(int depth, int outputStride, int[] entryStrides, int[] entryDilations,
        int middleDilation, int exit1Stride, int exit1Dilation, int exit2Dilation)
    {
        var model = new XceptionDeepLab(depth, new BackboneOptions(OutputStride: outputStride), initializeWeights: false);
        var convs = model.NamedModules().Where(m => m.Module is Conv2d).ToDictionary(m => m.Name, m => ((Conv2d)m.Module).Options);
        Assert.Equal(outputStride, model.OutputStride);
        Assert.Equal([new FeatureInfo(128, 4, "entry_flow.0"), new FeatureInfo(2048, outputStride, "_exit_flow_2")], model.FeatureInfo);

        for (int i = 0; i < entryStrides.Length; i++)
        {
            AssertConv(convs[$"entry_flow.{i}._conv3._conv1"], entryStrides[i], entryDilations[i]);
            AssertConv(convs[$"entry_flow.{i}._conv1._conv1"], 1, entryDilations[i]);
            Assert.Equal(new Size2(entryStrides[i], entryStrides[i]), convs[$"entry_flow.{i}._short._conv"].Stride);
        }
        foreach (var name in convs.Keys.Where(n => n.StartsWith("middle_flow.", StringComparison.Ordinal) && n.EndsWith("._conv1", StringComparison.Ordinal)))
            AssertConv(convs[name], 1, middleDilation);
        AssertConv(convs["_exit_flow_1._conv3._conv1"], exit1Stride, exit1Dilation);
        Assert.Equal(new Size2(exit1Stride, exit1Stride), convs["_exit_flow_1._short._conv"].Stride);
        for (int s = 1; s <= 3; s++) AssertConv(convs[$"_exit_flow_2._conv{s}._conv1"], 1, exit2Dilation);
        Assert.DoesNotContain(convs.Keys, n => n.StartsWith("middle_flow.", StringComparison.Ordinal) && n.Contains("_short", StringComparison.Ordinal));
        Assert.DoesNotContain(convs.Keys, n => n.StartsWith("_exit_flow_2._short", StringComparison.Ordinal));

        var bn = model.Modules().OfType<BatchNorm2d>().ToArray();
        Assert.All(bn, b => Assert.Equal((1e-3, 0.01), (b.Eps, b.Momentum!.Value)));
        Assert.All(convs.Values, c => Assert.False(c.Bias));
    }

    [Fact]
    public void FeaturesHaveTheCeilingSizeAndGradientsReachEveryParameter()
    {
        var model = new XceptionDeepLab(41, new BackboneOptions(InChannels: 2, OutputStride: 8), initializeWeights: false);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var features = model.ForwardFeatures(FormulaWeights.Input(1, 2, 40, 33));
            Assert.Equal(new Shape(1, 128, 10, 9), features[0].Shape);
            Assert.Equal(new Shape(1, 2048, 5, 5), features[1].Shape);
        }

        model.Train();
        var small = model.ForwardFeatures(FormulaWeights.Input(2, 2, 17, 9));
        Assert.Equal(new Shape(2, 128, 5, 3), small[0].Shape);
        Assert.Equal(new Shape(2, 2048, 3, 2), small[1].Shape);
        small.Select(f => (f * f).Mean()).Aggregate((a, b) => a + b).Backward();
        foreach (var (key, parameter) in model.NamedParameters())
        {
            var grad = Assert.IsType<Tensor>(parameter.Grad).ToArray();
            Assert.True(grad.All(float.IsFinite) && grad.Any(g => g != 0), $"gradient of {key} is zero or not finite");
        }
    }

    [Theory]
    [InlineData(32, "output stride must be 8 or 16")]
    [InlineData(4, "output stride must be 8 or 16")]
    public void UnsupportedOutputStridesAreRefusedNamingTheAllowedOnes(int outputStride, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => new XceptionDeepLab(65, new BackboneOptions(OutputStride: outputStride)));
        Assert.Contains("Xception65_deeplab", error.Message);
        Assert.Contains(message, error.Message);
        Assert.Contains(outputStride.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void OptionsTheFamilyCannotHonourAreRefused()
    {
        Assert.Contains("41, 65 and 71", Assert.Throws<ArgumentException>(() => new XceptionDeepLab(50)).Message);
        Assert.Contains("multi-grid", Assert.Throws<ArgumentException>(() => new XceptionDeepLab(41, new BackboneOptions(MultiGrid: [1, 2, 4]))).Message);
        Assert.Contains("lr_mult_list", Assert.Throws<ArgumentException>(() => new XceptionDeepLab(41, new BackboneOptions(LrMultList: [1, 1, 1, 1]))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new XceptionDeepLab(41, new BackboneOptions(InChannels: 0)));
        var model = new XceptionDeepLab(41, initializeWeights: false);
        Assert.Throws<ShapeMismatchException>(() => model.ForwardFeatures(Tensor.Zeros(1, 4, 16, 16)));
    }

    private static void AssertConv(Conv2dOptions conv, int stride, int dilation)
    {
        Assert.Equal(new Size2(stride, stride), conv.Stride);
        Assert.Equal(new Size2(dilation, dilation), conv.Dilation);
        Assert.Equal(new Size2(dilation, dilation), conv.Padding);
    }
}
