using System.Text.Json;
using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

/// <summary>Cases written by tools/gen_nn_golden_losses.py (PyTorch 1.13 references following the Paddle source).</summary>
internal static class LossGolden
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Golden.PathOf(Path.Combine("Losses", "losses.json")))));

    public static JsonElement Root => Document.Value.RootElement;

    public static IEnumerable<string> CaseNames() => Root.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!);

    public static JsonElement Case(string name) => Root.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetInt32())];

    public static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];

    public static Tensor Logits(JsonElement c, string key = "logits") => Tensor.FromArray(Floats(c.GetProperty(key)), Ints(c.GetProperty("logits_shape")));

    public static Tensor Labels(JsonElement c)
    {
        var shape = Ints(c.GetProperty("logits_shape"));
        return Tensor.FromArray([.. Ints(c.GetProperty("labels")).Select(v => (long)v)], shape[0], shape[2], shape[3]);
    }

    /// <summary>The SharpSeg loss the case's "loss" and "params" describe.</summary>
    public static ISegmentationLoss LossOf(JsonElement c)
    {
        var p = c.GetProperty("params");
        float F(string key) => p.GetProperty(key).GetSingle();
        var normalization = p.TryGetProperty("normalization", out var n) && n.GetString() == "pixel_count"
            ? CrossEntropyNormalization.PixelCount
            : CrossEntropyNormalization.WeightSum;
        return c.GetProperty("loss").GetString() switch
        {
            "cross_entropy" => new CrossEntropyLoss(
                p.TryGetProperty("weights", out var w) ? ClassWeight.Of(Floats(w)) : p.TryGetProperty("dynamic", out _) ? ClassWeight.Dynamic : null,
                normalization: normalization),
            "bce" => new BceLoss(),
            "dice" => new DiceLoss(),
            "bce_dice" => PaddleXLoss.Create(2, useBceLoss: true, useDiceLoss: true),
            "lovasz_softmax" => p.GetProperty("classes").ValueKind == JsonValueKind.Array
                ? new LovaszSoftmaxLoss(Ints(p.GetProperty("classes")))
                : new LovaszSoftmaxLoss(p.GetProperty("classes").GetString() == "all" ? LovaszClasses.All : LovaszClasses.Present),
            "lovasz_hinge" => new LovaszHingeLoss(),
            "ohem" => new OhemCrossEntropyLoss(F("thresh"), p.GetProperty("min_kept").GetInt32()),
            "focal" => new FocalLoss(F("alpha"), F("gamma")),
            "multi_class_focal" => new MultiClassFocalLoss(F("alpha"), F("gamma")),
            "mixed" => new MixedLoss([new CrossEntropyLoss(), new LovaszSoftmaxLoss()], Floats(p.GetProperty("coefs"))),
            var other => throw new InvalidOperationException($"unknown loss '{other}' in the fixture"),
        };
    }
}
