using System.Text.Json;
using SharpSeg;

namespace SharpSeg.Nn.Tests.Optim;

/// <summary>
/// The functional conv → BN(train) → ReLU → global-avg-pool → linear net of tools/gen_nn_golden_optim.py, with the
/// fixture's inputs, targets, initial parameters and per-case PyTorch results.
/// </summary>
internal sealed class TinyNet
{
    public static readonly string[] Names = ["conv_w", "bn_w", "bn_b", "fc_w", "fc_b"];

    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "Optim", "tiny_net_training.json"))));

    private readonly Tensor _input;
    private readonly Tensor _target;

    public TinyNet()
    {
        var root = Fixture.Value.RootElement;
        _input = TensorOf(root.GetProperty("input"));
        _target = Tensor.FromArray(root.GetProperty("target").EnumerateArray().Select(e => e.GetInt64()).ToArray(), root.GetProperty("target").GetArrayLength());
        var init = root.GetProperty("params");
        Parameters = Names.Select(n => TensorOf(init.GetProperty(n))).ToArray();
        foreach (var p in Parameters) p.RequiresGrad = true;
    }

    public static int Steps => Fixture.Value.RootElement.GetProperty("steps").GetInt32();

    public static IEnumerable<string> CaseNames => Fixture.Value.RootElement.GetProperty("cases").EnumerateObject().Select(c => c.Name);

    public Tensor[] Parameters { get; }

    public Tensor this[string name] => Parameters[Array.IndexOf(Names, name)];

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters => Names.Zip(Parameters);

    public static JsonElement Case(string name) => Fixture.Value.RootElement.GetProperty("cases").GetProperty(name);

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();

    /// <summary>Forward and backward once; returns the loss.</summary>
    public float LossAndBackward()
    {
        var y = Functional.Conv2d(_input, this["conv_w"], null, padding: 1);
        y = Functional.BatchNorm(y, null, null, this["bn_w"], this["bn_b"], training: true, momentum: 0.1, eps: 1e-5);
        y = Functional.AdaptiveAvgPool2d(y.Relu(), 1).Flatten(1);
        var loss = Functional.CrossEntropy(Functional.Linear(y, this["fc_w"], this["fc_b"]), _target);
        loss.Backward();
        return loss.Item();
    }

    /// <summary>Parameters rebuilt from saved values, as a resumed run would load them.</summary>
    public Tensor[] CloneParameters()
    {
        var copies = Parameters.Select(p => Tensor.FromArray(p.ToArray(), p.Shape.ToArray())).ToArray();
        foreach (var p in copies) p.RequiresGrad = true;
        return copies;
    }

    public void SetParameters(Tensor[] values)
    {
        for (int i = 0; i < values.Length; i++) values[i].AsSpan().CopyTo(Parameters[i].AsSpan());
    }

    private static Tensor TensorOf(JsonElement e) =>
        Tensor.FromArray(Floats(e.GetProperty("data")), e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray());
}
