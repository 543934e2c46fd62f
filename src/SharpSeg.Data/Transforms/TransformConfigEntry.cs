using System.Text.Json;

namespace SharpSeg.Data.Transforms;

/// <summary>
/// The parameters of one entry of a transform list. Each getter returns the given value, checked for its JSON type,
/// or the fallback when the parameter is left out; a failure is a <see cref="TransformConfigException"/> naming the
/// source, entry, transform and parameter.
/// </summary>
internal sealed class TransformConfigEntry(string source, int index, string name, IReadOnlyDictionary<string, JsonElement> parameters)
{
    /// <summary>The parameters as given, in document order.</summary>
    public IReadOnlyDictionary<string, JsonElement> Parameters => parameters;

    public TransformConfigException Error(string? parameter, string problem, Exception? inner = null) =>
        new(source, index, name, parameter, problem, inner);

    public int Int(string parameter, int fallback) =>
        parameters.TryGetValue(parameter, out var value) ? ReadInt(parameter, value, "") : fallback;

    public int RequiredInt(string parameter) => ReadInt(parameter, Required(parameter), "");

    /// <summary>An integer or JSON <c>null</c> (Python's <c>None</c>).</summary>
    public int? NullableInt(string parameter, int? fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return fallback;
        return value.ValueKind == JsonValueKind.Null ? null : ReadInt(parameter, value, " or null");
    }

    public bool Bool(string parameter, bool fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return fallback;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(parameter, $"expected true or false, got {TransformConfig.Describe(value)}."),
        };
    }

    public double Double(string parameter, double fallback) =>
        parameters.TryGetValue(parameter, out var value) ? ReadDouble(parameter, value) : fallback;

    public float Float(string parameter, float fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return fallback;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out float number) && float.IsFinite(number))
            return number;
        throw Error(parameter, $"expected a number (single precision), got {TransformConfig.Describe(value)}.");
    }

    /// <summary>
    /// An image padding value: a number, or PaddleX 1.x's one-per-channel list when its entries are equal (the
    /// transforms pad every channel with one value).
    /// </summary>
    public float PaddingValue(string parameter, float fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value) || value.ValueKind != JsonValueKind.Array)
            return Float(parameter, fallback);
        var values = Floats(parameter, []);
        if (values.Length == 0 || values.Any(v => v != values[0]))
            throw Error(parameter, $"expected a number, or a per-channel list of one repeated value, got {TransformConfig.Describe(value)}.");
        return values[0];
    }

    /// <summary>A list of numbers, one per channel; a single number stands for a one-entry list.</summary>
    public float[] Floats(string parameter, IReadOnlyList<float> fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return [.. fallback];
        if (value.ValueKind == JsonValueKind.Number)
            return [Float(parameter, 0)];
        if (value.ValueKind != JsonValueKind.Array)
            throw Error(parameter, $"expected a list of numbers, got {TransformConfig.Describe(value)}.");
        var result = new float[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (!(item.ValueKind == JsonValueKind.Number && item.TryGetSingle(out result[i]) && float.IsFinite(result[i])))
                throw Error(parameter, $"item {i}: expected a number (single precision), got {TransformConfig.Describe(item)}.");
            i++;
        }
        return result;
    }

    /// <summary>PaddleSeg's size argument: <c>[width, height]</c>, or one integer for both sides.</summary>
    public (int Width, int Height) Size(string parameter, (int Width, int Height) fallback) =>
        parameters.TryGetValue(parameter, out var value) ? ReadSize(parameter, value) : fallback;

    public (int Width, int Height) RequiredSize(string parameter) => ReadSize(parameter, Required(parameter));

    /// <summary>A two-number list such as PaddleSeg's <c>retain_ratio</c> <c>[width share, height share]</c>.</summary>
    public (double First, double Second) DoublePair(string parameter, (double First, double Second) fallback)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return fallback;
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
            throw Error(parameter, $"expected a list of two numbers, got {TransformConfig.Describe(value)}.");
        return (ReadDouble(parameter, value[0], "item 0: "), ReadDouble(parameter, value[1], "item 1: "));
    }

    /// <summary>One of a fixed set of strings (PaddleSeg's <c>interp='LINEAR'</c>, <c>blur_type='gaussian'</c>).</summary>
    public T Choice<T>(string parameter, T fallback, IReadOnlyList<(string Name, T Value)> choices)
    {
        if (!parameters.TryGetValue(parameter, out var value))
            return fallback;
        if (value.ValueKind == JsonValueKind.String)
        {
            string text = value.GetString()!;
            foreach (var (choiceName, choiceValue) in choices)
                if (choiceName == text)
                    return choiceValue;
        }
        throw Error(parameter,
            $"expected one of {string.Join(", ", choices.Select(c => $"\"{c.Name}\""))}, got {TransformConfig.Describe(value)}.");
    }

    private JsonElement Required(string parameter) =>
        parameters.TryGetValue(parameter, out var value)
            ? value
            : throw Error(parameter, $"missing; {name} has no default for it.");

    private int ReadInt(string parameter, JsonElement value, string orWhat) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number)
            ? number
            : throw Error(parameter, $"expected an integer{orWhat}, got {TransformConfig.Describe(value)}.");

    private double ReadDouble(string parameter, JsonElement value, string itemPrefix = "") =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double number) && double.IsFinite(number)
            ? number
            : throw Error(parameter, $"{itemPrefix}expected a number, got {TransformConfig.Describe(value)}.");

    private (int Width, int Height) ReadSize(string parameter, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int both))
            return (both, both);
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2
            && value[0].ValueKind == JsonValueKind.Number && value[0].TryGetInt32(out int width)
            && value[1].ValueKind == JsonValueKind.Number && value[1].TryGetInt32(out int height))
            return (width, height);
        throw Error(parameter, $"expected [width, height] or one integer for both, got {TransformConfig.Describe(value)}.");
    }
}
