using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>First-convolution weights adapted to any input channel count (timm's adapt_input_conv rules).</summary>
public class InputChannelAdaptationTests
{
    // Two output kernels of 1×1 over R, G, B: out0 = (1, 2, 3), out1 = (10, 20, 30).
    private static Tensor RgbWeight() => Tensor.FromArray([1f, 2f, 3f, 10f, 20f, 30f], 2, 3, 1, 1);

    [Fact]
    public void OneChannelSumsTheRgbKernels()
    {
        var adapted = PretrainedWeights.AdaptInputChannels(RgbWeight(), 1);
        Assert.Equal(new Shape(2, 1, 1, 1), adapted.Shape);
        Assert.Equal([6f, 60f], adapted.ToArray());
    }

    [Fact]
    public void MoreChannelsReuseTheRgbKernelsCyclicallyScaledByThreeOverN()
    {
        var adapted = PretrainedWeights.AdaptInputChannels(RgbWeight(), 4);
        Assert.Equal(new Shape(2, 4, 1, 1), adapted.Shape);
        Assert.Equal([0.75f, 1.5f, 2.25f, 0.75f, 7.5f, 15f, 22.5f, 7.5f], adapted.ToArray());

        var two = PretrainedWeights.AdaptInputChannels(RgbWeight(), 2);
        Assert.Equal([1.5f, 3f, 15f, 30f], two.ToArray());
    }

    [Fact]
    public void ThreeChannelsAreLeftAlone()
    {
        var weight = RgbWeight();
        Assert.Same(weight, PretrainedWeights.AdaptInputChannels(weight, 3));
    }

    [Fact]
    public void GreyModelLoadedFromRgbWeightsEqualsTheRgbModelOnTheReplicatedImage()
    {
        var rgb = new ResNetVd(18, initializeWeights: false);
        FormulaWeights.Fill(rgb);
        using var file = TemporaryCheckpoint.Save(rgb.StateDict());
        var grey = new ResNetVd(18, new BackboneOptions(InChannels: 1), initializeWeights: false);
        Assert.True(grey.LoadPretrained(file.Path).IsExactMatch);
        var six = new ResNetVd(18, new BackboneOptions(InChannels: 6), initializeWeights: false);
        Assert.True(six.LoadPretrained(file.Path).IsExactMatch);

        rgb.Eval();
        grey.Eval();
        six.Eval();
        var x = FormulaWeights.Input(1, 1, 33, 29);
        var replicated = Tensor.Cat([x, x, x], 1);
        using (GradMode.NoGrad())
        {
            var expected = rgb.ForwardFeatures(replicated)[3];
            GoldenAssert.CloseToScale(expected, grey.ForwardFeatures(x)[3], 1e-4, "one channel");
            // Six channels holding the image twice: each RGB kernel is used twice at half weight.
            GoldenAssert.CloseToScale(expected, six.ForwardFeatures(Tensor.Cat([replicated, replicated], 1))[3], 1e-4, "six channels");
        }
    }

    [Fact]
    public void TorchvisionBackboneLoadsAClassifierCheckpointIgnoringItsHeadAndAdaptingConv1()
    {
        var classifier = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, initializeWeights: false);
        FormulaWeights.Fill(classifier);
        var checkpoint = classifier.StateDict();

        var backbone = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, 0, new BackboneOptions(InChannels: 4), initializeWeights: false);
        Assert.True(backbone.LoadPretrained(checkpoint).IsExactMatch);
        var source = checkpoint["conv1.weight"];
        var expected = Tensor.Cat([source, source.Narrow(1, 0, 1)], 1) * 0.75f;
        Assert.Equal(expected.ToArray(), backbone.StateDict()["conv1.weight"].ToArray());
        Assert.Equal(checkpoint["layer4.1.bn2.running_var"].ToArray(), backbone.StateDict()["layer4.1.bn2.running_var"].ToArray());

        var tenClasses = new TorchvisionResNet(TorchvisionResNetArch.ResNet18, 10, initializeWeights: false);
        Assert.Throws<StateDictMismatchException>(() => tenClasses.LoadPretrained(checkpoint));
        var fineTune = tenClasses.LoadPretrained(checkpoint, allowNewHead: true);
        Assert.Equal(new[] { "fc.weight", "fc.bias" }, fineTune.SkippedShapeMismatches.Select(m => m.Key));
    }

    [Fact]
    public void ACheckpointOfAnotherDepthIsRefusedNamingTheKeys()
    {
        var checkpoint = new ResNetVd(18, initializeWeights: false).StateDict();
        var e = Assert.Throws<StateDictMismatchException>(() => new ResNetVd(34, initializeWeights: false).LoadPretrained(checkpoint));
        Assert.Contains("layer1.2.conv1.weight", e.MissingKeys);
    }
}
