namespace SharpSeg.Nn.Tests;

public class InitTests
{
    private static (double Mean, double Std, double MaxAbs) Stats(Tensor t)
    {
        var v = t.ToArray();
        double mean = v.Average(x => (double)x);
        double std = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
        return (mean, std, v.Max(x => Math.Abs((double)x)));
    }

    [Fact]
    public void KaimingNormalFanInForReluHasStdSqrtTwoOverFanIn()
    {
        var w = Init.KaimingNormal(Tensor.Zeros(256, 128, 3, 3), nonlinearity: Nonlinearity.Relu, random: new Random(1));
        var (mean, std, _) = Stats(w);
        double expected = Math.Sqrt(2.0 / (128 * 9));
        Assert.Equal(0, mean, 2e-4);
        Assert.InRange(std, expected * 0.99, expected * 1.01);
    }

    [Fact]
    public void KaimingUniformFanOutLeakyReluHasTheGainedBound()
    {
        var w = Init.KaimingUniform(Tensor.Zeros(64, 256, 3, 3), a: 0.2, mode: FanMode.FanOut, nonlinearity: Nonlinearity.LeakyRelu, random: new Random(2));
        double bound = Math.Sqrt(2.0 / (1 + 0.04)) * Math.Sqrt(3.0 / (64 * 9));
        var (mean, std, maxAbs) = Stats(w);
        Assert.True(maxAbs <= bound * (1 + 1e-6), $"max |w| {maxAbs} beyond bound {bound}");
        Assert.True(maxAbs > bound * 0.999);
        Assert.Equal(0, mean, 1e-3);
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.99, bound / Math.Sqrt(3) * 1.01);
    }

    [Fact]
    public void XavierUsesBothFans()
    {
        var uniform = Init.XavierUniform(Tensor.Zeros(300, 500), gain: 2, random: new Random(3));
        double bound = 2 * Math.Sqrt(6.0 / 800);
        var (_, ustd, umax) = Stats(uniform);
        Assert.True(umax <= bound * (1 + 1e-6) && umax > bound * 0.999);
        Assert.InRange(ustd, bound / Math.Sqrt(3) * 0.99, bound / Math.Sqrt(3) * 1.01);

        var normal = Init.XavierNormal(Tensor.Zeros(300, 500), random: new Random(4));
        Assert.InRange(Stats(normal).Std, Math.Sqrt(2.0 / 800) * 0.99, Math.Sqrt(2.0 / 800) * 1.01);
    }

    [Fact]
    public void NormalUniformAndConstantFillInPlace()
    {
        var t = Tensor.Zeros(200, 500);
        Assert.Same(t, Init.Normal(t, mean: 3, std: 0.5, random: new Random(5)));
        var (mean, std, _) = Stats(t);
        Assert.Equal(3, mean, 0.01);
        Assert.InRange(std, 0.495, 0.505);

        Init.Uniform(t, -2, 6, new Random(6));
        var v = t.ToArray();
        Assert.True(v.Min() >= -2 && v.Max() < 6 && v.Min() < -1.99 && v.Max() > 5.99);
        Assert.Equal(2, v.Average(x => (double)x), 0.02);

        Assert.All(Init.Constant(t, 0.25).ToArray(), x => Assert.Equal(0.25f, x));
        Assert.All(Init.Ones(t).ToArray(), x => Assert.Equal(1f, x));
        Assert.All(Init.Zeros(t).ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void SeededInitialisationIsReproducible()
    {
        var a = Init.KaimingUniform(Tensor.Zeros(8, 4, 3, 3), random: new Random(42)).ToArray();
        var b = Init.KaimingUniform(Tensor.Zeros(8, 4, 3, 3), random: new Random(42)).ToArray();
        var c = Init.KaimingUniform(Tensor.Zeros(8, 4, 3, 3), random: new Random(43)).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);

        Engine.ManualSeed(7);
        var first = new TinyResNet().StateDict();
        Engine.ManualSeed(7);
        var second = new TinyResNet().StateDict();
        foreach (var (key, value) in first) Assert.Equal(value.ToArray(), second[key].ToArray());
        Assert.NotEqual(first["conv1.weight"].ToArray(), first["layer1.0.conv1.weight"].ToArray().Take(216));
    }

    [Fact]
    public void LayersUseTorchDefaultInitialisation()
    {
        var conv = new Conv2d(16, 32, 3);
        AssertUniformWithin(conv.Weight, 1 / Math.Sqrt(16 * 9));
        AssertUniformWithin(conv.Bias!, 1 / Math.Sqrt(16 * 9));

        var linear = new Linear(400, 50);
        AssertUniformWithin(linear.Weight, 1 / Math.Sqrt(400));
        AssertUniformWithin(linear.Bias!, 1 / Math.Sqrt(400));

        // torch's fan_in for a transposed-conv weight [in, out/groups, kh, kw] is (out/groups)·kh·kw.
        var deconv = new ConvTranspose2d(64, 8, 3, groups: 2);
        Assert.Equal(new Shape(64, 4, 3, 3), deconv.Weight.Shape);
        AssertUniformWithin(deconv.Weight, 1 / Math.Sqrt(4 * 9));

        var bn = new BatchNorm2d(5);
        Assert.All(bn.Weight!.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(bn.Bias!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningMean!.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bn.RunningVar!.ToArray(), v => Assert.Equal(1f, v));
    }

    private static void AssertUniformWithin(Tensor t, double bound)
    {
        var (_, std, maxAbs) = Stats(t);
        Assert.True(maxAbs <= bound * (1 + 1e-6), $"max |w| {maxAbs} beyond bound {bound}");
        Assert.True(maxAbs > bound * 0.8, $"max |w| {maxAbs} far inside bound {bound}: wrong scale");
        if (t.Numel >= 1000) Assert.InRange(std, bound / Math.Sqrt(3) * 0.95, bound / Math.Sqrt(3) * 1.05);
    }

    [Fact]
    public void GainsAndFansFollowTorch()
    {
        Assert.Equal(Math.Sqrt(2), Init.CalculateGain(Nonlinearity.Relu), 12);
        Assert.Equal(5.0 / 3, Init.CalculateGain(Nonlinearity.Tanh), 12);
        Assert.Equal(Math.Sqrt(2 / 1.0001), Init.CalculateGain(Nonlinearity.LeakyRelu), 12);
        Assert.Equal(Math.Sqrt(2.0 / 6), Init.CalculateGain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 12);
        Assert.Equal(1, Init.CalculateGain(Nonlinearity.Conv));
        Assert.Equal((4L * 6, 8L * 6), Init.Fans(Tensor.Zeros(8, 4, 2, 3)));
        Assert.Contains("rank 2", Assert.Throws<ArgumentException>(() => Init.Fans(Tensor.Zeros(5))).Message);
    }
}
