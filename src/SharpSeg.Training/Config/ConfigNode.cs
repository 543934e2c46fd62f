using System.Globalization;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace SharpSeg.Training.Config;

/// <summary>
/// One value of a parsed config file: a mapping, a list or a scalar, with the file and line it came from, so an error
/// found after <c>_base_</c> merging still names where the value was written.
/// </summary>
internal abstract class ConfigNode(string file, int line)
{
    public string File { get; } = file;
    public int Line { get; } = line;
}

/// <summary>A YAML mapping; keys keep their order (PaddleSeg's merged dict keeps the base file's order, new keys last).</summary>
internal sealed class ConfigMap(string file, int line, IReadOnlyList<KeyValuePair<string, ConfigNode>> entries) : ConfigNode(file, line)
{
    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries { get; } = entries;

    public ConfigNode? this[string key] => Entries.FirstOrDefault(e => e.Key == key).Value;

    public ConfigMap With(string key, ConfigNode value)
    {
        var entries = Entries.ToList();
        int index = entries.FindIndex(e => e.Key == key);
        if (index >= 0) entries[index] = new(key, value);
        else entries.Add(new(key, value));
        return new ConfigMap(File, Line, entries);
    }

    public ConfigMap Without(string key) => new(File, Line, [.. Entries.Where(e => e.Key != key)]);
}

/// <summary>A YAML sequence.</summary>
internal sealed class ConfigList(string file, int line, IReadOnlyList<ConfigNode> items) : ConfigNode(file, line)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;
}

/// <summary>
/// A YAML scalar as written. <see cref="Text"/> is null for YAML's null (<c>null</c>, <c>~</c>, <c>None</c> or nothing);
/// a quoted scalar is always a string.
/// </summary>
internal sealed class ConfigScalar(string file, int line, string? text, bool quoted) : ConfigNode(file, line)
{
    public string? Text { get; } = text;
    public bool Quoted { get; } = quoted;

    /// <summary>PyYAML's YAML 1.1 booleans, as PaddleSeg's files are read.</summary>
    public bool? AsBool() => Quoted || Text is null ? null : Text.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => null,
    };

    public long? AsLong() =>
        !Quoted && long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : null;

    /// <summary>A number; unlike PyYAML, <c>1e-4</c> (no dot) is read as a number too, which is what its writer meant.</summary>
    public double? AsDouble() =>
        !Quoted && double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) ? value : null;
}

/// <summary>
/// Reads PaddleSeg-style YAML files with YamlDotNet and resolves <c>_base_</c> inheritance exactly as PaddleSeg's
/// <c>paddleseg/cvlibs/config.py</c> does: each base path is relative to the file naming it and is itself resolved
/// first; the file's own keys win over its bases, and an earlier base over a later one; mappings merge key by key,
/// every other value (lists included) replaces the base's; a mapping holding <c>_inherited_: false</c> replaces the
/// base's mapping instead of merging into it.
/// </summary>
internal static class ConfigFile
{
    public const string BaseKey = "_base_";
    public const string InheritKey = "_inherited_";

    /// <summary>The merged tree of <paramref name="path"/> and all its bases.</summary>
    /// <exception cref="ConfigException">A file is missing, is not YAML, is not a mapping, or the <c>_base_</c> chain loops.</exception>
    public static ConfigMap Load(string path) => Load(Path.GetFullPath(path), []);

    private static ConfigMap Load(string path, List<string> chain)
    {
        if (chain.Contains(path))
            throw new ConfigException(chain[^1], 0, BaseKey, $"inheritance loops back to {path} ({string.Join(" -> ", chain.Append(path))}).");
        if (!System.IO.File.Exists(path))
            throw chain.Count == 0
                ? new ConfigException(path, 0, "", "the config file does not exist.")
                : new ConfigException(chain[^1], 0, BaseKey, $"the base file {path} does not exist.");
        var own = Parse(path);
        if (own[BaseKey] is not { } baseNode) return StripInheritKeys(own);

        var bases = baseNode switch
        {
            ConfigScalar { Text: { } single } => [(single, baseNode)],
            ConfigList list => list.Items.Select(item => item is ConfigScalar { Text: { } text }
                ? (text, (ConfigNode)item)
                : throw new ConfigException(path, item.Line, BaseKey, "every entry must be a file path.")).ToList(),
            _ => throw new ConfigException(path, baseNode.Line, BaseKey, "must be a file path or a list of file paths."),
        };
        var merged = own.Without(BaseKey);
        chain.Add(path);
        foreach (var (relative, _) in bases)
        {
            string basePath = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, relative));
            merged = (ConfigMap)Merge(merged, Load(basePath, chain));
        }
        chain.RemoveAt(chain.Count - 1);
        return StripInheritKeys(merged);
    }

    /// <summary>
    /// <paramref name="over"/> laid over <paramref name="under"/>: PaddleSeg's <c>merge_config_dict(dic, base_dic)</c>.
    /// </summary>
    public static ConfigNode Merge(ConfigNode over, ConfigNode under)
    {
        if (over is not ConfigMap overMap || under is not ConfigMap underMap) return over;
        if (overMap[InheritKey] is { } inherit && !ReadInherit(inherit)) return overMap.Without(InheritKey);
        var result = underMap;
        foreach (var (key, value) in overMap.Entries)
            result = result.With(key, underMap[key] is { } baseValue ? Merge(value, baseValue) : value);
        return result;
    }

    private static bool ReadInherit(ConfigNode node) =>
        (node as ConfigScalar)?.AsBool() ?? throw new ConfigException(node.File, node.Line, InheritKey, "must be true or false.");

    /// <summary>Checks and drops every <c>_inherited_</c> key left after merging (one with no base to replace, or <c>true</c>).</summary>
    private static ConfigMap StripInheritKeys(ConfigMap map)
    {
        if (map[InheritKey] is { } inherit) ReadInherit(inherit);
        return new ConfigMap(map.File, map.Line, [.. map.Entries.Where(e => e.Key != InheritKey)
            .Select(e => new KeyValuePair<string, ConfigNode>(e.Key, StripInheritKeys(e.Value)))]);
    }

    private static ConfigNode StripInheritKeys(ConfigNode node) => node switch
    {
        ConfigMap map => StripInheritKeys(map),
        ConfigList list => new ConfigList(list.File, list.Line, [.. list.Items.Select(StripInheritKeys)]),
        _ => node,
    };

    /// <summary>Parses one YAML file into a tree; its top level must be a mapping.</summary>
    public static ConfigMap Parse(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        return Parse(reader, path);
    }

    /// <summary>Parses YAML text; <paramref name="source"/> names it in errors.</summary>
    public static ConfigMap ParseText(string text, string source) => Parse(new StringReader(text), source);

    private static ConfigMap Parse(TextReader reader, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new ConfigException(path, (int)e.Start.Line, "", $"not valid YAML: {e.InnerException?.Message ?? e.Message}", e);
        }
        if (stream.Documents.Count == 0)
            throw new ConfigException(path, 0, "", "the file is empty.");
        if (stream.Documents.Count > 1)
            throw new ConfigException(path, (int)stream.Documents[1].RootNode.Start.Line, "", "holds more than one YAML document; a config is one.");
        return Convert(stream.Documents[0].RootNode, path, "") as ConfigMap
            ?? throw new ConfigException(path, (int)stream.Documents[0].RootNode.Start.Line, "", "the top level must be a mapping of keys (batch_size:, model:, …).");
    }

    private static ConfigNode Convert(YamlNode node, string file, string keyPath)
    {
        int line = (int)node.Start.Line;
        switch (node)
        {
            case YamlMappingNode mapping:
            {
                var entries = new List<KeyValuePair<string, ConfigNode>>();
                foreach (var (keyNode, value) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                        throw new ConfigException(file, (int)keyNode.Start.Line, keyPath, "mapping keys must be plain names.");
                    string childPath = keyPath.Length == 0 ? key : $"{keyPath}.{key}";
                    if (entries.Any(e => e.Key == key))
                        throw new ConfigException(file, (int)keyNode.Start.Line, childPath, "the key appears twice in this mapping.");
                    entries.Add(new(key, Convert(value, file, childPath)));
                }
                return new ConfigMap(file, line, entries);
            }
            case YamlSequenceNode sequence:
                return new ConfigList(file, line, [.. sequence.Children.Select((item, i) => Convert(item, file, $"{keyPath}[{i}]"))]);
            case YamlScalarNode scalar:
            {
                bool quoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded;
                bool isNull = !quoted && (scalar.Value is null or "" or "~" || scalar.Value.Equals("null", StringComparison.OrdinalIgnoreCase)
                    || scalar.Value == "None");
                return new ConfigScalar(file, line, isNull ? null : scalar.Value, quoted);
            }
            default:
                throw new ConfigException(file, line, keyPath, $"unsupported YAML node {node.NodeType}.");
        }
    }

    /// <summary>The node as JSON (for the transform reader): plain scalars become booleans, numbers or null where they read as such.</summary>
    public static string ToJson(ConfigNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            WriteJson(writer, node);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteJson(Utf8JsonWriter writer, ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Entries)
                {
                    writer.WritePropertyName(key);
                    WriteJson(writer, value);
                }
                writer.WriteEndObject();
                break;
            case ConfigList list:
                writer.WriteStartArray();
                foreach (var item in list.Items) WriteJson(writer, item);
                writer.WriteEndArray();
                break;
            case ConfigScalar scalar:
                if (scalar.Text is null) writer.WriteNullValue();
                else if (scalar.AsBool() is { } flag) writer.WriteBooleanValue(flag);
                else if (scalar.AsLong() is { } integer) writer.WriteNumberValue(integer);
                else if (scalar.AsDouble() is { } number) writer.WriteNumberValue(number);
                else writer.WriteStringValue(scalar.Text);
                break;
        }
    }

    /// <summary>The tree as block YAML (what <c>train --dry-run</c> prints), lists of scalars inline as PaddleSeg writes them.</summary>
    public static string ToYaml(ConfigMap root)
    {
        var text = new StringBuilder();
        WriteYamlMap(text, root, 0);
        return text.ToString();
    }

    private static void WriteYamlMap(StringBuilder text, ConfigMap map, int indent)
    {
        foreach (var (key, value) in map.Entries)
        {
            text.Append(' ', indent).Append(key).Append(':');
            WriteYamlValue(text, value, indent);
        }
    }

    private static void WriteYamlValue(StringBuilder text, ConfigNode value, int indent)
    {
        switch (value)
        {
            case ConfigMap { Entries.Count: 0 }:
                text.Append(" {}\n");
                break;
            case ConfigMap child:
                text.Append('\n');
                WriteYamlMap(text, child, indent + 2);
                break;
            case ConfigList list when list.Items.All(i => i is ConfigScalar):
                text.Append(" [").AppendJoin(", ", list.Items.Select(i => Scalar((ConfigScalar)i))).Append("]\n");
                break;
            case ConfigList list:
                text.Append('\n');
                foreach (var item in list.Items)
                {
                    text.Append(' ', indent).Append("- ");
                    if (item is ConfigMap { Entries.Count: > 0 } entry)
                    {
                        var nested = new StringBuilder();
                        WriteYamlMap(nested, entry, indent + 2);
                        text.Append(nested.ToString().TrimStart());
                    }
                    else
                    {
                        var nested = new StringBuilder();
                        WriteYamlValue(nested, item, indent + 2);
                        text.Append(nested.ToString().TrimStart());
                    }
                }
                break;
            case ConfigScalar scalar:
                text.Append(' ').Append(Scalar(scalar)).Append('\n');
                break;
        }
    }

    private static string Scalar(ConfigScalar scalar) =>
        scalar.Text is null ? "null"
        : scalar.Quoted || scalar.Text.Length == 0 || scalar.Text.IndexOfAny([':', '#', '[', ']', '{', '}', ',', '\'', '"']) >= 0
            ? $"'{scalar.Text.Replace("'", "''")}'"
            : scalar.Text;
}
