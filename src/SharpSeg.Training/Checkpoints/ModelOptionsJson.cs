using System.Text.Json;
using System.Text.Json.Nodes;
using SharpSeg.Models;

namespace SharpSeg.Training.Checkpoints;

/// <summary>
/// Model options to and from the JSON kept in <see cref="CheckpointState.ModelOptionsJson"/>:
/// <c>{"type": "SharpSeg.Models.UNetOptions", "options": {…}}</c>, the concrete record type named so a
/// model-specific options record (backbone, output stride …) comes back as itself, not as the base
/// <see cref="ModelOptions"/>. Tuple-valued options are written as <c>{"item1": …, "item2": …}</c>. Equivalent to the
/// <c>_init_params</c> PaddleX 1.x writes to <c>model.yml</c> and passes back to the model's constructor on load.
/// </summary>
public static class ModelOptionsJson
{
    private static readonly JsonSerializerOptions Options = CreateOptions();

    /// <summary>The JSON of <paramref name="options"/> with its concrete type.</summary>
    public static string Serialize(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var type = options.GetType();
        return new JsonObject
        {
            ["type"] = type.FullName,
            ["options"] = JsonSerializer.SerializeToNode(options, type, Options),
        }.ToJsonString();
    }

    /// <summary>
    /// The options written by <see cref="Serialize"/>. For a registered <paramref name="modelName"/> they are read as the
    /// registry's options record for that model (<see cref="ModelRegistry.ModelOptionsType"/>), whatever type name the
    /// JSON holds, so renaming or moving a record never breaks a checkpoint. Otherwise (a custom model outside the
    /// registry) the named type must be a <see cref="ModelOptions"/> record in an assembly already loaded.
    /// </summary>
    /// <exception cref="ArgumentException">The JSON is malformed, names an unknown type, or does not fit the type.</exception>
    public static ModelOptions Deserialize(string json, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var root = JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException("Model options JSON is not an object.", nameof(json));
            string typeName = root["type"] is JsonValue v && v.TryGetValue(out string? name) ? name
                : throw new ArgumentException("Model options JSON lacks the string 'type'.", nameof(json));
            var type = RegisteredOptionsType(modelName) ?? FindOptionsType(typeName);
            var options = root["options"] ?? throw new ArgumentException("Model options JSON lacks 'options'.", nameof(json));
            return (ModelOptions)(options.Deserialize(type, Options)
                ?? throw new ArgumentException("Model options JSON has null 'options'.", nameof(json)));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Model options JSON does not fit: {e.Message}", nameof(json), e);
        }
    }

    private static Type? RegisteredOptionsType(string? modelName) =>
        modelName is null ? null : ModelRegistry.Find(modelName, RegistryKind.Model)?.OptionsType;

    // Only ModelOptions records are ever instantiated, so a tampered state.json cannot name an arbitrary type.
    private static Type FindOptionsType(string fullName)
    {
        var match = AppDomain.CurrentDomain.GetAssemblies()
            .Prepend(typeof(ModelOptions).Assembly)
            .Select(a => a.GetType(fullName, throwOnError: false))
            .FirstOrDefault(t => t is not null && typeof(ModelOptions).IsAssignableFrom(t) && !t.IsAbstract);
        return match ?? throw new ArgumentException($"Model options type '{fullName}' is not a ModelOptions record in any loaded assembly.");
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(TrainingJson.Compact) { IncludeFields = true };
        options.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
