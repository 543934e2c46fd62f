namespace SharpSeg.Models.Tests.Support;

/// <summary>A committed state-dict listing: "# parameters N" then one "key shape" line per entry (shape "AxBxC" or "scalar").</summary>
public sealed record KeyFile(long ParameterCount, IReadOnlyList<(string Key, string Shape)> Entries)
{
    /// <summary>Reads <c>Golden/Backbones/keys/&lt;name&gt;.txt</c>.</summary>
    public static KeyFile Read(string name)
    {
        var lines = File.ReadAllLines(GoldenFiles.PathOf(Path.Combine("Backbones", "keys", name + ".txt")));
        long parameters = long.Parse(lines[0].Split(' ')[^1]);
        var entries = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToArray();
        return new KeyFile(parameters, entries);
    }

    /// <summary>A shape written the way the key files write it.</summary>
    public static string Format(Shape shape) => shape.Rank == 0 ? "scalar" : string.Join("x", shape.ToArray());

    /// <summary>Number of elements of a shape written the way the key files write it.</summary>
    public static long Numel(string shape) => shape == "scalar" ? 1 : shape.Split('x').Aggregate(1L, (a, d) => a * long.Parse(d));
}
