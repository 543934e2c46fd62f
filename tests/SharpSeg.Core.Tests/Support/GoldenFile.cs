using System.Globalization;
using System.Text.Json;

namespace SharpSeg.Core.Tests.Support;

/// <summary>
/// One fixture file written by <c>tools/gen_core_golden.py</c> (PyTorch 1.13, float64 reference rounded to
/// float32): a list of cases, each with the op's arguments and its input, output and gradient tensors.
/// Every load parses the file afresh, so tests may modify the arrays they get.
/// </summary>
internal sealed class GoldenFile
{
    public const string Folder = "Golden";

    private readonly Dictionary<string, GoldenCase> _byName;

    private GoldenFile(string fileName, string generator, string torchVersion, IReadOnlyList<GoldenCase> cases)
    {
        FileName = fileName;
        Generator = generator;
        TorchVersion = torchVersion;
        Cases = cases;
        _byName = new Dictionary<string, GoldenCase>(StringComparer.Ordinal);
        foreach (var c in cases)
        {
            if (!_byName.TryAdd(c.Name, c))
                throw new InvalidDataException($"{fileName}: case name '{c.Name}' appears twice.");
        }
    }

    public string FileName { get; }

    public string Generator { get; }

    public string TorchVersion { get; }

    public IReadOnlyList<GoldenCase> Cases { get; }

    public static string FolderPath => Path.Combine(AppContext.BaseDirectory, Folder);

    /// <summary>Loads <c>Golden/&lt;fileName&gt;</c> from the test output folder; ".json" may be left off.</summary>
    public static GoldenFile Load(string fileName)
    {
        if (!fileName.EndsWith(".json", StringComparison.Ordinal))
            fileName += ".json";
        var path = Path.Combine(FolderPath, fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Golden fixture {path} does not exist (is it copied to the output folder?).", path);
        return Parse(File.ReadAllText(path), fileName);
    }

    /// <summary>The fixture files present in the output folder, e.g. "conv2d.json".</summary>
    public static IReadOnlyList<string> AllFileNames() =>
        Directory.GetFiles(FolderPath, "*.json").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();

    /// <summary>The case names of one file, for <c>[MemberData]</c> on a <c>[Theory]</c>.</summary>
    public static TheoryData<string> CaseNames(string fileName)
    {
        var data = new TheoryData<string>();
        foreach (var c in Load(fileName).Cases)
            data.Add(c.Name);
        return data;
    }

    public GoldenCase Case(string name) =>
        _byName.TryGetValue(name, out var c)
            ? c
            : throw new KeyNotFoundException($"{FileName} has no case '{name}'; it has: {string.Join(", ", _byName.Keys)}.");

    public static GoldenFile Parse(string json, string fileName)
    {
        using var document = ParseDocument(json, fileName);
        var root = document.RootElement;
        var cases = new List<GoldenCase>();
        foreach (var caseElement in Required(root, "cases", JsonValueKind.Array, fileName).EnumerateArray())
            cases.Add(GoldenCase.Parse(caseElement, fileName, cases.Count));
        return new GoldenFile(
            fileName,
            Required(root, "generator", JsonValueKind.String, fileName).GetString()!,
            Required(root, "torch", JsonValueKind.String, fileName).GetString()!,
            cases);
    }

    private static JsonDocument ParseDocument(string json, string fileName)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{fileName}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }
    }

    internal static JsonElement Required(JsonElement parent, string key, JsonValueKind kind, string where)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(key, out var value))
            throw new InvalidDataException($"{where}: missing \"{key}\".");
        if (value.ValueKind != kind)
            throw new InvalidDataException($"{where}: \"{key}\" is {value.ValueKind}, expected {kind}.");
        return value;
    }
}

/// <summary>One PyTorch call: its op name, its arguments and its named tensors (x, dy, y, dx, ...).</summary>
internal sealed class GoldenCase
{
    private readonly Dictionary<string, GoldenTensor> _tensors;

    private GoldenCase(string fileName, string name, string op, GoldenParams parameters, Dictionary<string, GoldenTensor> tensors)
    {
        FileName = fileName;
        Name = name;
        Op = op;
        Params = parameters;
        _tensors = tensors;
    }

    public string FileName { get; }

    public string Name { get; }

    public string Op { get; }

    public GoldenParams Params { get; }

    public IReadOnlyDictionary<string, GoldenTensor> Tensors => _tensors;

    public bool HasTensor(string name) => _tensors.ContainsKey(name);

    public GoldenTensor Tensor(string name) =>
        _tensors.TryGetValue(name, out var t)
            ? t
            : throw new KeyNotFoundException($"{this} has no tensor '{name}'; it has: {string.Join(", ", _tensors.Keys)}.");

    public GoldenTensor? TensorOrNull(string name) => _tensors.GetValueOrDefault(name);

    public override string ToString() => $"{FileName}/{Name}";

    internal static GoldenCase Parse(JsonElement element, string fileName, int index)
    {
        var where = $"{fileName} case #{index}";
        var name = GoldenFile.Required(element, "name", JsonValueKind.String, where).GetString()!;
        where = $"{fileName}/{name}";
        var op = GoldenFile.Required(element, "op", JsonValueKind.String, where).GetString()!;
        var parameters = new GoldenParams(GoldenFile.Required(element, "params", JsonValueKind.Object, where), where);
        var tensors = new Dictionary<string, GoldenTensor>(StringComparer.Ordinal);
        foreach (var property in GoldenFile.Required(element, "tensors", JsonValueKind.Object, where).EnumerateObject())
            tensors.Add(property.Name, GoldenTensor.Parse(property.Value, $"{where} tensor '{property.Name}'", property.Name));
        return new GoldenCase(fileName, name, op, parameters, tensors);
    }
}

/// <summary>
/// A case's arguments as PyTorch received them. An int pair may be stored as one int (torch's <c>3</c> for
/// <c>(3, 3)</c>) or as <c>[h, w]</c>; the getters accept both. Python's None is JSON null.
/// </summary>
internal sealed class GoldenParams
{
    private readonly Dictionary<string, JsonElement> _values;
    private readonly string _where;

    internal GoldenParams(JsonElement element, string where)
    {
        _where = where;
        _values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
            _values.Add(property.Name, property.Value.Clone());
    }

    public IEnumerable<string> Keys => _values.Keys;

    public bool Has(string key) => _values.ContainsKey(key);

    public bool IsNull(string key) => Get(key).ValueKind == JsonValueKind.Null;

    public int Int(string key) => ToInt(NotNull(key), key);

    public int? IntOrNull(string key) => IsNull(key) ? null : Int(key);

    public double Double(string key)
    {
        var value = NotNull(key);
        return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Wrong(key, value, "a number");
    }

    public double? DoubleOrNull(string key) => IsNull(key) ? null : Double(key);

    public bool Bool(string key)
    {
        var value = NotNull(key);
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(key, value, "true or false"),
        };
    }

    public bool? BoolOrNull(string key) => IsNull(key) ? null : Bool(key);

    public string String(string key)
    {
        var value = NotNull(key);
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Wrong(key, value, "a string");
    }

    public string? StringOrNull(string key) => IsNull(key) ? null : String(key);

    /// <summary>An (h, w) argument given as one int for both or as <c>[h, w]</c>.</summary>
    public (int H, int W) Pair(string key)
    {
        var value = NotNull(key);
        if (value.ValueKind == JsonValueKind.Number)
        {
            var v = ToInt(value, key);
            return (v, v);
        }
        var items = Ints(key);
        return items.Length == 2 ? (items[0], items[1]) : throw Wrong(key, value, "an int or a pair [h, w]");
    }

    public (int H, int W)? PairOrNull(string key) => IsNull(key) ? null : Pair(key);

    /// <summary>A list of ints such as reduction dims; a single int reads as a one-element list.</summary>
    public int[] Ints(string key)
    {
        var value = NotNull(key);
        if (value.ValueKind == JsonValueKind.Number)
            return [ToInt(value, key)];
        if (value.ValueKind != JsonValueKind.Array)
            throw Wrong(key, value, "an int or a list of ints");
        return value.EnumerateArray().Select(item => ToInt(item, key)).ToArray();
    }

    public int[]? IntsOrNull(string key) => IsNull(key) ? null : Ints(key);

    public override string ToString() =>
        string.Join(", ", _values.Select(kv => $"{kv.Key}={kv.Value.GetRawText()}"));

    private JsonElement Get(string key) =>
        _values.TryGetValue(key, out var value)
            ? value
            : throw new KeyNotFoundException($"{_where}: params have no \"{key}\"; they have: {string.Join(", ", _values.Keys)}.");

    private JsonElement NotNull(string key)
    {
        var value = Get(key);
        return value.ValueKind == JsonValueKind.Null
            ? throw new InvalidDataException($"{_where}: param \"{key}\" is null; use the ...OrNull getter.")
            : value;
    }

    private int ToInt(JsonElement value, string key) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var v) ? v : throw Wrong(key, value, "an int");

    private InvalidDataException Wrong(string key, JsonElement value, string expected) =>
        new($"{_where}: param \"{key}\" is {value.GetRawText()}, expected {expected}.");
}

/// <summary>A tensor in C order: float32 values, int64 values (labels, indices, counters) or bools (masks).</summary>
internal sealed class GoldenTensor
{
    private readonly float[]? _floats;
    private readonly long[]? _longs;
    private readonly bool[]? _bools;
    private readonly string _where;

    private GoldenTensor(string name, string where, int[] shape, string dtype, float[]? floats, long[]? longs, bool[]? bools)
    {
        Name = name;
        _where = where;
        Shape = shape;
        DType = dtype;
        _floats = floats;
        _longs = longs;
        _bools = bools;
    }

    public string Name { get; }

    /// <summary>Sizes per dimension; empty for a scalar (which holds one value).</summary>
    public int[] Shape { get; }

    /// <summary>"float32", "int64" or "bool".</summary>
    public string DType { get; }

    public int Length => _floats?.Length ?? _longs?.Length ?? _bools!.Length;

    public bool IsScalar => Shape.Length == 0;

    public float[] Floats => _floats ?? throw new InvalidOperationException($"{_where} is {DType}, not float32.");

    public long[] Longs => _longs ?? throw new InvalidOperationException($"{_where} is {DType}, not int64.");

    public bool[] Bools => _bools ?? throw new InvalidOperationException($"{_where} is {DType}, not bool.");

    /// <summary>The single value of a scalar float tensor (a loss, a scalar upstream gradient).</summary>
    public float Scalar => Floats.Length == 1
        ? Floats[0]
        : throw new InvalidOperationException($"{_where} has shape [{string.Join(", ", Shape)}], not a single value.");

    public override string ToString() => $"{Name} {DType}[{string.Join(", ", Shape)}]";

    internal static GoldenTensor Parse(JsonElement element, string where, string name)
    {
        var shape = GoldenFile.Required(element, "shape", JsonValueKind.Array, where).EnumerateArray()
            .Select(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var v) && v >= 0
                ? v
                : throw new InvalidDataException($"{where}: shape entry {d.GetRawText()} is not a size."))
            .ToArray();
        var dtype = GoldenFile.Required(element, "dtype", JsonValueKind.String, where).GetString()!;
        var data = GoldenFile.Required(element, "data", JsonValueKind.Array, where);

        long expected = 1;
        foreach (var d in shape)
            expected *= d;
        var length = data.GetArrayLength();
        if (length != expected)
            throw new InvalidDataException($"{where}: shape [{string.Join(", ", shape)}] holds {expected} values but data has {length}.");

        return dtype switch
        {
            "float32" => new GoldenTensor(name, where, shape, dtype, ReadValues(data, where, ReadFloat), null, null),
            "int64" => new GoldenTensor(name, where, shape, dtype, null, ReadValues(data, where, ReadLong), null),
            "bool" => new GoldenTensor(name, where, shape, dtype, null, null, ReadValues(data, where, ReadBool)),
            _ => throw new InvalidDataException($"{where}: dtype \"{dtype}\" is not float32, int64 or bool."),
        };
    }

    private static T[] ReadValues<T>(JsonElement data, string where, Func<JsonElement, T?> read)
        where T : struct
    {
        var values = new T[data.GetArrayLength()];
        var i = 0;
        foreach (var item in data.EnumerateArray())
        {
            values[i] = read(item) ?? throw new InvalidDataException(
                $"{where}: data[{i}] = {item.GetRawText()} is not a valid {typeof(T).Name.ToLower(CultureInfo.InvariantCulture)}.");
            i++;
        }
        return values;
    }

    // The generator checked that every printed value reads back to the same float32 whether it is parsed
    // straight to float or through double, so no reader can be off by double rounding.
    private static float? ReadFloat(JsonElement item) =>
        item.ValueKind == JsonValueKind.Number && item.TryGetSingle(out var v) && float.IsFinite(v) ? v : null;

    private static long? ReadLong(JsonElement item) =>
        item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var v) ? v : null;

    private static bool? ReadBool(JsonElement item) => item.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
