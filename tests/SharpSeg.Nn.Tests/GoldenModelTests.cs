namespace SharpSeg.Nn.Tests;

/// <summary>Against tools/gen_nn_golden_modules.py (PyTorch 1.13).</summary>
public class GoldenModelTests
{
    [Fact]
    public void TorchSavedTinyResNetLoadsWithNoMissingOrUnexpectedKeysAndMatchesTorchOutput()
    {
        var model = new TinyResNet();
        var report = model.LoadSafetensors(Golden.PathOf("tiny_resnet.safetensors"));
        Assert.True(report.IsExactMatch, $"missing {string.Join(",", report.MissingKeys)}; unexpected {string.Join(",", report.UnexpectedKeys)}");
        Assert.Equal(Golden.Keys("tiny_resnet_keys.txt").Count, report.LoadedCount);
        Assert.Equal(2, ((BatchNorm2d)model.Modules().First(m => m is BatchNorm2d)).NumBatchesTracked);

        var io = Golden.Load("tiny_resnet_io.safetensors");
        model.Eval();
        using (GradMode.NoGrad())
            Golden.AssertClose(io["output"], model.Forward(io["input"]), what: "tiny resnet logits");
    }

    [Fact]
    public void BatchNormRunningStatisticsAfterThreeTrainingForwardsMatchTorch_AndEvalUsesThem()
    {
        var golden = Golden.Load("batchnorm.safetensors");
        var bn = new BatchNorm2d(3);
        bn.Weight!.CopyFrom(golden["bn.weight"]);
        bn.Bias!.CopyFrom(golden["bn.bias"]);
        Tensor? y = null;
        for (int i = 0; i < 3; i++) y = bn.Forward(golden[$"x{i}"]);

        Golden.AssertClose(golden["y2"], y!, what: "training output");
        Golden.AssertClose(golden["bn.running_mean"], bn.RunningMean!, what: "running_mean");
        Golden.AssertClose(golden["bn.running_var"], bn.RunningVar!, what: "running_var");
        Assert.Equal(3, bn.NumBatchesTracked);
        Assert.Equal(3L, bn.StateDict()["num_batches_tracked"].ToArray<long>()[0]);

        bn.Eval();
        Golden.AssertClose(golden["y_eval"], bn.Forward(golden["x_eval"]), what: "eval output");
        Assert.Equal(3, bn.NumBatchesTracked);

        // The same statistics give the eval output independently: (x − mean)/√(var + eps)·γ + β.
        var x = golden["x_eval"];
        var reshape = (Tensor t) => t.Reshape(1, 3, 1, 1);
        var manual = (x - reshape(bn.RunningMean!)) / (reshape(bn.RunningVar!) + 1e-5f).Sqrt() * reshape(bn.Weight!) + reshape(bn.Bias!);
        Golden.AssertClose(manual, bn.Forward(x), what: "eval formula");
    }

    [Fact]
    public void BatchNormWithNullMomentumKeepsTheCumulativeAverage()
    {
        var golden = Golden.Load("batchnorm.safetensors");
        var bn = new BatchNorm2d(3, momentum: null);
        for (int i = 0; i < 3; i++) bn.Forward(golden[$"x{i}"]);
        Golden.AssertClose(golden["cumulative.running_mean"], bn.RunningMean!, what: "cumulative running_mean");
        Golden.AssertClose(golden["cumulative.running_var"], bn.RunningVar!, what: "cumulative running_var");
    }

    [Fact]
    public void BatchNormWithoutRunningStatisticsUsesBatchStatisticsInEval()
    {
        var golden = Golden.Load("batchnorm.safetensors");
        var bn = new BatchNorm2d(3, affine: false, trackRunningStats: false);
        Assert.Empty(bn.StateDict());
        bn.Eval();
        var y = bn.Forward(golden["x0"]);
        var mean = y.Mean([0, 2, 3]).ToArray();
        var variance = y.Var([0, 2, 3], unbiased: false).ToArray();
        Assert.All(mean, m => Assert.Equal(0, m, 1e-5));
        Assert.All(variance, v => Assert.Equal(1, v, 1e-3));
    }

    [Fact]
    public void BatchNormRejectsWrongInput()
    {
        var bn = new BatchNorm2d(3);
        Assert.Contains("4D", Assert.Throws<ShapeMismatchException>(() => bn.Forward(Tensor.Zeros(2, 3))).Message);
        Assert.Contains("4 channels", Assert.Throws<ShapeMismatchException>(() => bn.Forward(Tensor.Zeros(2, 4, 2, 2))).Message);
    }

    [Fact]
    public void LayersMatchTorchDefaults()
    {
        var golden = Golden.Load("layers.safetensors");
        var x = golden["x"];
        var layers = new (string Name, TensorModule Layer)[]
        {
            ("relu", new Relu()), ("relu6", new Relu6()), ("leaky_relu", new LeakyRelu()), ("sigmoid", new Sigmoid()),
            ("tanh", new Tanh()), ("hardsigmoid", new Hardsigmoid()), ("hardswish", new Hardswish()), ("gelu", new Gelu()),
            ("silu", new Silu()), ("flatten", new Flatten()), ("maxpool_k2", new MaxPool2d(2)),
            ("maxpool_k3s2p1_ceil", new MaxPool2d(3, 2, 1, ceilMode: true)), ("avgpool_k3s2p1", new AvgPool2d(3, 2, 1)),
            ("avgpool_k2_nopad_count", new AvgPool2d(3, 2, 1, countIncludePad: false)), ("adaptive_2x3", new AdaptiveAvgPool2d((2, 3))),
            ("upsample_nearest_x2", new Upsample(scaleFactor: 2)),
            ("upsample_bilinear_9x11", new Upsample(size: (9, 11), mode: InterpolationMode.Bilinear, alignCorners: false)),
            ("upsample_bilinear_ac", new Upsample(scaleFactor: 2, mode: InterpolationMode.Bilinear, alignCorners: true)),
        };
        foreach (var (name, layer) in layers)
        {
            Assert.Empty(layer.StateDict());
            Golden.AssertClose(golden[name], layer.Forward(x), what: name);
        }
    }

    [Fact]
    public void ParameterisedLayersMatchTorchWithTorchWeights()
    {
        var golden = Golden.Load("layers.safetensors");
        var x = golden["x"];
        var layers = new (string Prefix, TensorModule Layer)[]
        {
            ("conv", new Conv2d(4, 6, 3, stride: 2, padding: 2, dilation: 2, groups: 2)),
            ("deconv", new ConvTranspose2d(4, 6, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)),
            ("linear", new Linear(9, 3)),
        };
        foreach (var (prefix, layer) in layers)
        {
            var dict = golden.Where(p => p.Key.StartsWith(prefix + ".", StringComparison.Ordinal) && !p.Key.EndsWith(".out", StringComparison.Ordinal))
                .ToDictionary(p => p.Key[(prefix.Length + 1)..], p => p.Value);
            Assert.True(layer.LoadStateDict(dict).IsExactMatch);
            Golden.AssertClose(golden[prefix + ".out"], layer.Forward(x), what: prefix);
        }
    }

    [Fact]
    public void DropoutFollowsTheTrainingFlag()
    {
        var x = Tensor.Ones(new Shape(4, 8, 3, 3));
        foreach (TensorModule dropout in new TensorModule[] { new Dropout(0.5, new Random(3)), new Dropout2d(0.5, new Random(3)) })
        {
            var y = dropout.Forward(x).ToArray();
            Assert.All(y, v => Assert.True(v == 0f || v == 2f));
            Assert.Contains(0f, y);
            Assert.Contains(2f, y);
            dropout.Eval();
            Assert.Equal(x.ToArray(), dropout.Forward(x).ToArray());
        }
        var channels = new Dropout2d(0.5, new Random(5)).Forward(x).ToArray();
        for (int plane = 0; plane < 32; plane++)
            Assert.Single(channels.Skip(plane * 9).Take(9).Distinct());
    }
}
