namespace SharpSeg.Nn.Interop;

/// <summary>
/// Finds the name → tensor dictionary in an unpickled weight file: the top-level dict itself (PyTorch's
/// <c>model.state_dict()</c>, Paddle's <c>layer.state_dict()</c>), or the state dict a training script wrapped
/// (<c>{"model": sd, "optimizer": …}</c> as torchvision's reference scripts save, or <c>{"state_dict": sd, …}</c>).
/// </summary>
internal static class StateDictExtraction
{
    /// <summary>Paddle's <c>paddle.save</c> adds this key (structured name → parameter name table); it holds no weights.</summary>
    public const string PaddleNameTableKey = "StructuredToParameterName@@";

    /// <summary>Paddle's <c>paddle.save</c> with protocol 2/3 splits arrays over 4 GB under this key.</summary>
    private const string PaddleBigParamKey = "UnpackBigParamInfor@@";

    /// <summary>Wrapper entries tried in order when the top level is not itself a state dict.</summary>
    public static readonly string[] WrapperKeys = ["state_dict", "model_state_dict", "model", "net"];

    /// <summary>
    /// The state dict in <paramref name="root"/>. Its tensors may hold at most 4 elements per byte of tensor data in the
    /// file (<paramref name="dataBytes"/>) plus 16 Mi: tied weights and views repeat a storage a few times, while a file
    /// whose views repeat one storage thousands of times (or stride 0 over it) would otherwise allocate without bound.
    /// </summary>
    public static (OrderedDictionary<string, Tensor> Tensors, Dictionary<string, string> StoredTypes) Extract(object root, string source, long dataBytes)
    {
        long elementBudget = 4 * dataBytes + (1 << 24);
        if (root is not PyDict dict)
            throw new PickleFormatException(source, $"holds {RestrictedUnpickler.Describe(root)}, not a dict of tensors (save model.state_dict())");
        if (Problem(dict) is not { } problem) return Convert(dict, source, prefix: "", elementBudget);

        foreach (string key in WrapperKeys)
            if (dict.Items.TryGetValue(key, out var inner) && inner is PyDict candidate && Problem(candidate) is null)
                return Convert(candidate, source, prefix: $"['{key}']", elementBudget);

        string keys = string.Join(", ", dict.Items.Keys.Take(8).Select(k => k is string s ? $"'{s}'" : RestrictedUnpickler.Describe(k)));
        throw new PickleFormatException(source,
            $"holds no state dict: the top-level {dict.TypeName} ({keys}{(dict.Items.Count > 8 ? ", …" : "")}) {problem}, and none of its " +
            $"entries {string.Join(", ", WrapperKeys.Select(k => $"'{k}'"))} is a dict of tensors");
    }

    /// <summary>
    /// A key as a string: a <c>str</c>, or an ASCII <c>bytes</c> — how Python 2 pickled the <c>str</c> names of files
    /// saved by Paddle 1.x, which Python 3's <c>pickle.load</c> also decodes as ASCII.
    /// </summary>
    private static string? KeyName(object key) => key switch
    {
        string s => s,
        PyBytes b when !b.Data.Span.ContainsAnyInRange((byte)0x80, (byte)0xFF) => System.Text.Encoding.ASCII.GetString(b.Data.Span),
        _ => null,
    };

    /// <summary>Why <paramref name="dict"/> is not a state dict, or null when it is one.</summary>
    private static string? Problem(PyDict dict)
    {
        foreach (var (key, value) in dict.Items)
        {
            if (KeyName(key) is not { } name) return $"has the key {RestrictedUnpickler.Describe(key)}, not a string";
            if (name == PaddleNameTableKey) continue;
            if (name == PaddleBigParamKey) return $"has '{PaddleBigParamKey}' (arrays over 4 GB split by paddle.save; re-save with protocol 4)";
            if (value is not IPickledTensor) return $"maps '{name}' to {RestrictedUnpickler.Describe(value)}, not a tensor";
        }
        return null;
    }

    private static (OrderedDictionary<string, Tensor>, Dictionary<string, string>) Convert(PyDict dict, string source, string prefix, long elementBudget)
    {
        var tensors = new OrderedDictionary<string, Tensor>(dict.Items.Count);
        var storedTypes = new Dictionary<string, string>(dict.Items.Count);
        foreach (var (key, value) in dict.Items)
        {
            string name = KeyName(key)!;
            if (name == PaddleNameTableKey) continue;
            var pickled = (IPickledTensor)value;
            elementBudget -= pickled.ElementCount;
            if (elementBudget < 0)
                throw new PickleFormatException(source,
                    $"tensor {prefix}'{name}' takes the tensors past 4 elements per byte of data in the file (views that repeat one storage many times?)");
            if (!tensors.TryAdd(name, pickled.ToTensor(source, $"tensor {prefix}'{name}'")))
                throw new PickleFormatException(source, $"tensor {prefix}'{name}' appears twice (once as str, once as bytes)");
            storedTypes[name] = pickled.StoredType.Name();
        }
        return (tensors, storedTypes);
    }
}
