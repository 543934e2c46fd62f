using System.Text.Json.Nodes;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

/// <summary>Saving and restoring optimizer state resumes training bit for bit.</summary>
public class StateDictTests
{
    public static TheoryData<string> Configurations => ["sgd_warmup_poly", "sgd_nesterov", "adam_amsgrad", "adamw_groups"];

    private static Optimizer Make(string configuration, Tensor[] parameters) => configuration switch
    {
        "sgd_warmup_poly" => new Sgd(parameters, 0.1, momentum: 0.9, dampening: 0.1)
        {
            Schedule = new LinearWarmup(new PolynomialDecay(0.1, decaySteps: 3, endLearningRate: 0.001), warmupSteps: 2, startLearningRate: 0.01),
        },
        "sgd_nesterov" => new Sgd(parameters, 0.1, momentum: 0.9, weightDecay: 0.05, nesterov: true),
        "adam_amsgrad" => new Adam(parameters, 0.01, beta2: 0.5, weightDecay: 0.05, amsgrad: true),
        _ => new AdamW(
            [.. ParameterGroup.SplitByWeightDecay(parameters.Take(1), learningRateMultiplier: 0.1), .. ParameterGroup.SplitByWeightDecay(parameters.Skip(1))],
            0.01, weightDecay: 0.1),
    };

    private static void Train(TinyNet net, Optimizer optimizer, int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            optimizer.ZeroGrad();
            net.LossAndBackward();
            optimizer.Step();
            optimizer.Schedule?.Step();
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void TwoStepsSavedRestoredAndThreeMoreEqualFiveStraight(string configuration)
    {
        var straight = new TinyNet();
        Train(straight, Make(configuration, straight.Parameters), 5);

        var first = new TinyNet();
        var firstOptimizer = Make(configuration, first.Parameters);
        Train(first, firstOptimizer, 2);
        var saved = firstOptimizer.StateDict();
        string? schedule = firstOptimizer.Schedule?.StateJson();
        var savedParameters = first.CloneParameters();
        Train(first, firstOptimizer, 1);  // the saved tensors are copies: training on must not change them

        // Through a file, as a checkpoint stores it.
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-optim-{Guid.NewGuid():N}.safetensors");
        OptimizerState restored;
        try
        {
            saved.Save(path);
            restored = OptimizerState.Load(path);
        }
        finally
        {
            File.Delete(path);
        }

        var resumed = new TinyNet();
        resumed.SetParameters(savedParameters);
        var resumedOptimizer = Make(configuration, resumed.Parameters);
        resumedOptimizer.LoadStateDict(restored);
        if (schedule is not null) resumedOptimizer.Schedule!.LoadStateJson(schedule);
        Train(resumed, resumedOptimizer, 3);

        for (int i = 0; i < TinyNet.Names.Length; i++)
            Assert.Equal(straight.Parameters[i].ToArray(), resumed.Parameters[i].ToArray());
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void ResumingWithoutTheStateDiverges(string configuration)
    {
        // Shows the round trip above tests something: a fresh optimizer state gives different parameters.
        var straight = new TinyNet();
        Train(straight, Make(configuration, straight.Parameters), 5);
        var first = new TinyNet();
        Train(first, Make(configuration, first.Parameters), 2);
        var fresh = Make(configuration, first.Parameters);
        for (int i = 0; i < 2; i++) fresh.Schedule?.Step();
        Train(first, fresh, 3);
        Assert.NotEqual(straight.Parameters[0].ToArray(), first.Parameters[0].ToArray());
    }

    [Fact]
    public void AdamStateHoldsMomentsPerParameterAndStepCountsInJson()
    {
        var net = new TinyNet();
        var adam = new Adam(net.Parameters, 0.01, amsgrad: true);
        Train(net, adam, 2);
        var state = adam.StateDict();
        var expectedKeys = Enumerable.Range(0, 5).SelectMany(i => new[] { $"state.{i}.exp_avg", $"state.{i}.exp_avg_sq", $"state.{i}.max_exp_avg_sq" });
        Assert.Equal(expectedKeys.Order(), state.Tensors.Keys.Order());
        Assert.Equal(net["conv_w"].Shape, state.Tensors["state.0.exp_avg"].Shape);
        Assert.Contains(state.Tensors["state.3.exp_avg"].ToArray(), v => v != 0);

        var json = JsonNode.Parse(state.Json)!;
        Assert.Equal("Adam", (string)json["optimizer"]!);
        Assert.Equal(2, (long)json["state"]!["4"]!["step"]!);
        Assert.Equal(0.01, (double)json["learning_rate"]!);
        Assert.True((bool)json["hyper_parameters"]!["amsgrad"]!);
    }

    [Fact]
    public void StateOfAnotherOptimizerKindIsRejected()
    {
        var net = new TinyNet();
        var adam = new Adam(net.Parameters);
        Train(net, adam, 1);
        var e = Assert.Throws<ArgumentException>(() => new AdamW(net.Parameters).LoadStateDict(adam.StateDict()));
        Assert.Contains("saved by Adam, not AdamW", e.Message);
    }

    [Fact]
    public void DifferentHyperParametersAreRejectedNamingTheField()
    {
        var net = new TinyNet();
        var sgd = new Sgd(net.Parameters, 0.1, momentum: 0.9);
        Train(net, sgd, 1);
        var e = Assert.Throws<ArgumentException>(() => new Sgd(net.Parameters, 0.1, momentum: 0.8).LoadStateDict(sgd.StateDict()));
        Assert.Contains("hyper_parameters.momentum", e.Message);
        Assert.Contains("0.9", e.Message);
    }

    [Fact]
    public void DifferentParameterShapesAreRejected()
    {
        var net = new TinyNet();
        var sgd = new Sgd(net.Parameters, 0.1, momentum: 0.9);
        Train(net, sgd, 1);
        var e = Assert.Throws<ArgumentException>(() => new Sgd(net.Parameters.Reverse(), 0.1, momentum: 0.9).LoadStateDict(sgd.StateDict()));
        Assert.Contains("param_groups[0] parameter 0 has shape [4, 3, 3, 3]", e.Message);
    }

    [Fact]
    public void AFailedLoadChangesNothing()
    {
        var net = new TinyNet();
        var sgd = new Sgd(net.Parameters, 0.1, momentum: 0.9);
        Train(net, sgd, 1);
        var before = sgd.StateDict();

        var other = new Sgd(net.Parameters, 0.1, momentum: 0.9);
        Train(net, other, 2);
        var broken = new Dictionary<string, Tensor>(other.StateDict().Tensors) { ["state.4.momentum_buffer"] = Tensor.Zeros(7) };
        var e = Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(new OptimizerState(broken, other.StateDict().Json)));
        Assert.Contains("state.4.momentum_buffer", e.Message);

        var after = sgd.StateDict();
        Assert.Equal(before.Json, after.Json);
        foreach (var (key, tensor) in before.Tensors) Assert.Equal(tensor.ToArray(), after.Tensors[key].ToArray());
    }

    [Fact]
    public void UnknownBuffersAndMalformedJsonAreRejected()
    {
        var net = new TinyNet();
        var sgd = new Sgd(net.Parameters, 0.1, momentum: 0.9);
        Train(net, sgd, 1);
        var state = sgd.StateDict();
        var extra = new Dictionary<string, Tensor>(state.Tensors) { ["state.0.exp_avg"] = Tensor.Zeros(net["conv_w"].Shape) };
        Assert.Contains("unknown buffer 'exp_avg'", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(state with { Tensors = extra })).Message);
        var stray = new Dictionary<string, Tensor>(state.Tensors) { ["momentum"] = Tensor.Zeros(1) };
        Assert.Contains("unexpected tensor 'momentum'", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(state with { Tensors = stray })).Message);
        Assert.Contains("malformed", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(state with { Json = "{\"optimizer\":" })).Message);
        string wrongType = state.Json.Replace("\"optimizer\":\"SGD\"", "\"optimizer\":3", StringComparison.Ordinal);
        Assert.NotEqual(state.Json, wrongType);
        Assert.Contains("wrong type", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(state with { Json = wrongType })).Message);
    }

    [Fact]
    public void AModelWeightFileIsRefusedAsOptimizerState()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-weights-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["weight"] = Tensor.Ones(2) });
            var error = Assert.Throws<InvalidDataException>(() => OptimizerState.Load(path));
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
