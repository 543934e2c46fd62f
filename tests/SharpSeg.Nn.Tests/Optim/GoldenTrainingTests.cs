using System.Text.Json;
using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

/// <summary>
/// Five training steps of the tiny net under each optimizer configuration end with PyTorch 1.13's parameters
/// (fixture from tools/gen_nn_golden_optim.py).
/// </summary>
public class GoldenTrainingTests
{
    public static TheoryData<string> Cases => [.. TinyNet.CaseNames];

    [Theory]
    [MemberData(nameof(Cases))]
    public void FiveStepsMatchPyTorch(string caseName)
    {
        var golden = TinyNet.Case(caseName);
        var net = new TinyNet();
        var optimizer = Build(golden, net);
        var expectedRates = golden.GetProperty("lrs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var expectedLosses = TinyNet.Floats(golden.GetProperty("losses"));
        float[]? expectedNorms = golden.TryGetProperty("grad_norms", out var norms) ? TinyNet.Floats(norms) : null;

        for (int step = 0; step < TinyNet.Steps; step++)
        {
            Assert.Equal(expectedRates[step], optimizer.LearningRate, 1e-12);
            optimizer.ZeroGrad();
            float loss = net.LossAndBackward();
            Assert.True(Math.Abs(loss - expectedLosses[step]) <= 1e-5, $"{caseName} step {step}: loss {loss}, torch {expectedLosses[step]}");
            if (golden.TryGetProperty("clip_norm", out var maxNorm))
            {
                float total = GradientClipping.ClipGradNorm(net.Parameters, maxNorm.GetDouble());
                Assert.True(Math.Abs(total - expectedNorms![step]) <= 1e-5 * expectedNorms[step], $"step {step}: total norm {total}, torch {expectedNorms[step]}");
            }
            if (golden.TryGetProperty("clip_value", out var clipValue))
                GradientClipping.ClipGradValue(net.Parameters, clipValue.GetDouble());
            optimizer.Step();
            optimizer.Schedule?.Step();
        }

        var final = golden.GetProperty("final");
        foreach (var name in TinyNet.Names)
        {
            var expected = TinyNet.Floats(final.GetProperty(name));
            var actual = net[name].ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]),
                    $"{caseName}: {name}[{i}] = {actual[i]}, torch {expected[i]}");
        }
    }

    [Fact]
    public void TrainingMovesEveryParameterAwayFromItsStart()
    {
        // The golden comparison means something only if the fixture's parameters move far more than its 1e-5 tolerance.
        var initial = new TinyNet();
        var final = TinyNet.Case("sgd_plain").GetProperty("final");
        foreach (var name in TinyNet.Names)
        {
            var start = initial[name].ToArray();
            var end = TinyNet.Floats(final.GetProperty(name));
            Assert.True(start.Zip(end).Max(pair => Math.Abs(pair.First - pair.Second)) > 1e-3, $"{name} barely moves in the fixture");
        }
    }

    private static Optimizer Build(JsonElement golden, TinyNet net)
    {
        var options = golden.GetProperty("options");
        double Option(string key, double fallback) => options.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;
        bool Flag(string key) => options.TryGetProperty(key, out var v) && v.GetBoolean();
        double lr = Option("lr", double.NaN);
        double weightDecay = Option("weight_decay", 0);
        string kind = golden.GetProperty("optimizer").GetString()!;

        IEnumerable<ParameterGroup> groups = [new ParameterGroup(net.Parameters)];
        if (golden.TryGetProperty("groups", out _))
        {
            // The fixture's torch groups, rebuilt the PaddleSeg way: backbone (conv) at lr_mult 0.1, no decay on rank ≤ 1.
            var backbone = ParameterGroup.SplitByWeightDecay(net.NamedParameters.Where(p => p.Name.StartsWith("conv", StringComparison.Ordinal)), learningRateMultiplier: 0.1);
            var head = ParameterGroup.SplitByWeightDecay(net.NamedParameters.Where(p => !p.Name.StartsWith("conv", StringComparison.Ordinal)));
            groups = [.. backbone, .. head];
        }

        Optimizer optimizer = kind switch
        {
            "sgd" => new Sgd(groups, lr, Option("momentum", 0), Option("dampening", 0), weightDecay, Flag("nesterov")),
            "adam" => new Adam(groups, lr, Betas(options)[0], Betas(options)[1], Option("eps", 1e-8), weightDecay, Flag("amsgrad")),
            _ => new AdamW(groups, lr, Betas(options)[0], Betas(options)[1], Option("eps", 1e-8), weightDecay, Flag("amsgrad")),
        };
        if (golden.TryGetProperty("schedule", out _))
            optimizer.Schedule = new LinearWarmup(new PolynomialDecay(lr, decaySteps: 3, endLearningRate: 0.001, power: 0.9), warmupSteps: 2, startLearningRate: 0.01);
        return optimizer;
    }

    private static double[] Betas(JsonElement options) => options.GetProperty("betas").EnumerateArray().Select(e => e.GetDouble()).ToArray();
}
