using System.Text.Json;
using System.Text.Json.Nodes;
using SharpSeg.Data.Transforms;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Inference;

/// <summary>
/// The prediction transforms kept in a checkpoint's <c>state.json</c>, as the list PaddleX 1.x writes to
/// <c>model.yml</c> <c>Transforms</c>: <c>[{"Normalize": {"mean": […], "std": […], "min_val": […], "max_val": […]}}]</c>,
/// or <c>[]</c> without normalisation.
/// </summary>
internal static class TransformsJson
{
    public static string Write(Normalize? normalize)
    {
        var list = new JsonArray();
        if (normalize is not null)
            list.Add(new JsonObject
            {
                ["Normalize"] = new JsonObject
                {
                    ["mean"] = Array(normalize.Mean),
                    ["std"] = Array(normalize.Std),
                    ["min_val"] = Array(normalize.MinValue),
                    ["max_val"] = Array(normalize.MaxValue),
                },
            });
        return list.ToJsonString();
    }

    /// <exception cref="CheckpointException">The JSON is not a transform list this build understands.</exception>
    public static Normalize? ReadNormalize(string json, string folder)
    {
        try
        {
            if (JsonNode.Parse(json) is not JsonArray list)
                throw new CheckpointException(folder, "its transforms are not a JSON list.");
            Normalize? normalize = null;
            foreach (var item in list)
            {
                if (item is not JsonObject entry || entry.Count != 1)
                    throw new CheckpointException(folder, $"transform entry {item?.ToJsonString() ?? "null"} is not {{\"Name\": {{…}}}}.");
                var (name, parameters) = entry.First();
                if (name != "Normalize")
                    throw new CheckpointException(folder, $"transform '{name}' is not supported at prediction time (only Normalize).");
                normalize = new Normalize(Floats(parameters, "mean", folder), Floats(parameters, "std", folder),
                    Floats(parameters, "min_val", folder), Floats(parameters, "max_val", folder));
            }
            return normalize;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException(folder, $"its transforms cannot be read: {e.Message}", e);
        }
    }

    private static JsonArray Array(IReadOnlyList<float> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v))];

    private static float[] Floats(JsonNode? parameters, string key, string folder) =>
        parameters?[key] is JsonArray values
            ? [.. values.Select(v => v!.GetValue<float>())]
            : throw new CheckpointException(folder, $"Normalize lacks the list '{key}'.");
}
