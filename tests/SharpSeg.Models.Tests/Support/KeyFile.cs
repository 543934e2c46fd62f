using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// A committed state-dict listing dumped from the PyTorch reference: "# parameters N" (the whole reference model),
/// optionally "# classifier PREFIX…" (the reference keys a headless backbone drops), then one "key shape" line per entry
/// (shape "AxBxC" or "scalar").
/// </summary>
public sealed record KeyFile(long ParameterCount, IReadOnlyList<string> ClassifierPrefixes, IReadOnlyList<(string Key, string Shape)> Entries)
{
    /// <summary>The file of a registered name: <c>Golden/Backbones/keys/&lt;name&gt;.txt</c>.</summary>
    public static string PathOf(string name) => GoldenFiles.PathOf(Path.Combine("Backbones", "keys", name + ".txt"));

    /// <summary>Reads <c>Golden/Backbones/keys/&lt;name&gt;.txt</c>.</summary>
    public static KeyFile Read(string name) => FromFile(PathOf(name));

    /// <summary>Reads a key file anywhere (fixtures of unregistered configurations live beside their golden outputs).</summary>
    public static KeyFile FromFile(string path)
    {
        var lines = File.ReadAllLines(path);
        long parameters = long.Parse(lines[0].Split(' ')[^1]);
        var classifier = lines.Skip(1).TakeWhile(l => l.StartsWith('#')).Where(l => l.StartsWith("# classifier ", StringComparison.Ordinal))
            .SelectMany(l => l["# classifier ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        var entries = lines.Skip(1).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToArray();
        return new KeyFile(parameters, classifier, entries);
    }

    /// <summary>The entries a headless backbone has: all but the classifier's.</summary>
    public IEnumerable<(string Key, string Shape)> HeadlessEntries => Entries.Where(e => !IsClassifier(e.Key));

    /// <summary>Parameters of the headless backbone: the reference's minus the classifier's (buffers are not parameters).</summary>
    public long HeadlessParameterCount => ParameterCount - Entries.Where(e => IsClassifier(e.Key) && !IsBuffer(e.Key)).Sum(e => Numel(e.Shape));

    /// <summary>
    /// A checkpoint with every entry as the reference would save it: <see cref="FormulaWeights.Values"/> with k the entry's
    /// position, <c>num_batches_tracked</c> int64 zeros.
    /// </summary>
    public OrderedDictionary<string, Tensor> FormulaTensors() => FormulaTensors(Entries);

    /// <summary><see cref="FormulaTensors()"/> of <paramref name="entries"/> (a selection of a file's, or entries added to them).</summary>
    public static OrderedDictionary<string, Tensor> FormulaTensors(IEnumerable<(string Key, string Shape)> entries)
    {
        var tensors = new OrderedDictionary<string, Tensor>();
        int k = 0;
        foreach (var (key, shapeText) in entries)
        {
            var shape = ParseShape(shapeText);
            tensors.Add(key, key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? Tensor.Zeros(shape, DType.Int64)
                : Tensor.FromArray(FormulaWeights.Values(key, k, shape), shape.ToArray()));
            k++;
        }
        return tensors;
    }

    /// <summary>
    /// Asserts that <paramref name="map"/> sends every entry, in order, to the key of <paramref name="module"/>'s state dict
    /// with the same shape. The module's <c>num_batches_tracked</c> buffers are skipped: Paddle checkpoints have none.
    /// </summary>
    public void AssertMapsOnto(Module module, KeyMap map)
    {
        var expected = Describe(module.StateDict().Where(p => !p.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)));
        Assert.Equal(expected, Entries.Select(e => $"{map.MapKey(e.Key)} {e.Shape}"));
    }

    /// <summary>A module's state dict as the key files write it: "key shape" lines.</summary>
    public static IEnumerable<string> Describe(Module module) => Describe(module.StateDict());

    /// <summary>Key-file entries as "key shape" lines.</summary>
    public static IEnumerable<string> Describe(IEnumerable<(string Key, string Shape)> entries) => entries.Select(e => $"{e.Key} {e.Shape}");

    /// <summary>Number of elements of a shape written the way the key files write it.</summary>
    public static long Numel(string shape) => shape == "scalar" ? 1 : shape.Split('x').Aggregate(1L, (a, d) => a * long.Parse(d));

    /// <summary>Whether <paramref name="key"/> is a BatchNorm statistic rather than a parameter.</summary>
    public static bool IsBuffer(string key) =>
        key.EndsWith(".running_mean", StringComparison.Ordinal) || key.EndsWith(".running_var", StringComparison.Ordinal)
        || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

    private bool IsClassifier(string key) => ClassifierPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));

    private static IEnumerable<string> Describe(IEnumerable<KeyValuePair<string, Tensor>> tensors) => tensors.Select(p => $"{p.Key} {Format(p.Value.Shape)}");

    private static string Format(Shape shape) => shape.Rank == 0 ? "scalar" : string.Join("x", shape.ToArray());

    private static Shape ParseShape(string shape) => shape == "scalar" ? new Shape() : new Shape(shape.Split('x').Select(int.Parse).ToArray());
}
