namespace SharpSeg.Nn;

/// <summary>
/// A network part holding explicitly named children, parameters and buffers, each registered where it is created
/// (<c>_conv1 = Child("conv1", new Conv2d(…))</c>, <c>Param("weight", …)</c>, <c>Buffer("running_mean", …)</c>), so
/// state-dict keys are <c>path.leaf</c> exactly as PyTorch names them. Equivalent to <c>torch.nn.Module</c>.
/// </summary>
public abstract class Module
{
    private readonly List<Entry> _entries = [];

    /// <summary>Whether the module is in training mode (BatchNorm uses batch statistics, Dropout drops). Equivalent to <c>module.training</c>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Number of trainable scalars, each shared parameter counted once. Equivalent to <c>sum(p.numel() for p in module.parameters())</c>.</summary>
    public long ParameterCount => Parameters().Sum(p => p.Numel);

    /// <summary>
    /// Registers <paramref name="module"/> as the child called <paramref name="name"/> and returns it.
    /// Equivalent to assigning a submodule attribute (<c>self.conv1 = nn.Conv2d(…)</c>).
    /// </summary>
    protected T Child<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException($"Module {GetType().Name} cannot be its own child '{name}'.", nameof(module));
        Register(name, EntryKind.Child, module, null);
        return module;
    }

    /// <summary>
    /// Registers <paramref name="tensor"/> as the trainable parameter called <paramref name="name"/> (a float leaf; it is
    /// marked <see cref="Tensor.RequiresGrad"/>) and returns it. Equivalent to <c>self.weight = nn.Parameter(tensor)</c>.
    /// </summary>
    protected Tensor Param(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.IsLeaf) throw new ArgumentException($"Parameter '{name}' of {GetType().Name} must be a leaf tensor; pass a detached tensor.", nameof(tensor));
        if (tensor.DType != DType.Float32) throw new ArgumentException($"Parameter '{name}' of {GetType().Name} must be float32, got {tensor.DType}.", nameof(tensor));
        Register(name, EntryKind.Parameter, null, tensor);
        tensor.RequiresGrad = true;
        return tensor;
    }

    /// <summary>
    /// Registers <paramref name="tensor"/> as the buffer (state that is not trained) called <paramref name="name"/> and
    /// returns it. Persistent buffers are part of <see cref="StateDict"/>; <paramref name="optionalOnLoad"/> buffers may be
    /// absent from a loaded dictionary (they keep their value), as torch lets BatchNorm's <c>num_batches_tracked</c> be.
    /// Equivalent to <c>self.register_buffer(name, tensor, persistent)</c>.
    /// </summary>
    protected Tensor Buffer(string name, Tensor tensor, bool persistent = true, bool optionalOnLoad = false)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Register(name, persistent ? EntryKind.Buffer : EntryKind.TransientBuffer, null, tensor, optionalOnLoad);
        return tensor;
    }

    private void Register(string name, EntryKind kind, Module? module, Tensor? tensor, bool optionalOnLoad = false)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid member name (non-empty, no '.').", nameof(name));
        if (_entries.Any(e => e.Name == name))
            throw new ArgumentException($"{GetType().Name} already has a child, parameter or buffer called '{name}'.", nameof(name));
        _entries.Add(new Entry(name, kind, module, tensor, optionalOnLoad));
    }

    /// <summary>The direct children with their names, in registration order. Equivalent to <c>module.named_children()</c>.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() =>
        _entries.Where(e => e.Kind == EntryKind.Child).Select(e => (e.Name, e.Module!));

    /// <summary>The direct children in registration order. Equivalent to <c>module.children()</c>.</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>
    /// This module (name "") and every descendant with its dotted path, parents before children, each module once.
    /// Equivalent to <c>module.named_modules()</c>.
    /// </summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        return Walk("", seen);
    }

    private IEnumerable<(string Name, Module Module)> Walk(string prefix, HashSet<Module> seen)
    {
        if (!seen.Add(this)) yield break;
        yield return (prefix, this);
        foreach (var (name, child) in NamedChildren())
            foreach (var item in child.Walk(Join(prefix, name), seen))
                yield return item;
    }

    /// <summary>This module and every descendant. Equivalent to <c>module.modules()</c>.</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>
    /// Every parameter with its <c>path.leaf</c> key in registration order (a module's own parameters, then its children's),
    /// each shared tensor once. Equivalent to <c>module.named_parameters()</c>.
    /// </summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in NamedModules())
            foreach (var e in module._entries)
                if (e.Kind == EntryKind.Parameter && seen.Add(e.Tensor!))
                    yield return (Join(path, e.Name), e.Tensor!);
    }

    /// <summary>Every parameter in <see cref="NamedParameters"/> order. Equivalent to <c>module.parameters()</c>.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer (persistent or not) with its <c>path.leaf</c> key. Equivalent to <c>module.named_buffers()</c>.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers() =>
        NamedModules().SelectMany(m => m.Module._entries
            .Where(e => e.Kind is EntryKind.Buffer or EntryKind.TransientBuffer)
            .Select(e => (Join(m.Name, e.Name), e.Tensor!)));

    /// <summary>
    /// Parameters and persistent buffers by key, in torch's order: per module its parameters, then its buffers, then
    /// its children's entries. The tensors share storage with the module (detached views). Equivalent to <c>module.state_dict()</c>.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        foreach (var (key, entry) in StateEntries()) dict.Add(key, entry.Tensor!.Detach());
        return dict;
    }

    private IEnumerable<(string Key, Entry Entry)> StateEntries() => StateEntries("");

    // torch walks modules recursively here without deduplicating: a module reachable by two paths appears under both.
    private IEnumerable<(string Key, Entry Entry)> StateEntries(string prefix)
    {
        foreach (var e in _entries.Where(e => e.Kind == EntryKind.Parameter)) yield return (Join(prefix, e.Name), e);
        foreach (var e in _entries.Where(e => e.Kind == EntryKind.Buffer)) yield return (Join(prefix, e.Name), e);
        foreach (var e in _entries.Where(e => e.Kind == EntryKind.Child))
            foreach (var item in e.Module!.StateEntries(Join(prefix, e.Name)))
                yield return item;
    }

    /// <summary>
    /// Copies values from <paramref name="stateDict"/> into this module's parameters and persistent buffers in place
    /// (tensors keep their identity, so optimizers holding them stay valid), converting element types as needed.
    /// Every key is checked before anything is copied, so a failed load changes nothing. Missing and unexpected keys
    /// throw when <paramref name="strict"/>; a shape mismatch always throws unless <paramref name="allowShapeMismatch"/>
    /// accepts its key, in which case the module keeps its own tensor (a new head with a different class count).
    /// Equivalent to <c>module.load_state_dict(state_dict, strict)</c>.
    /// </summary>
    /// <param name="stateDict">Tensors by <c>path.leaf</c> key.</param>
    /// <param name="strict">Throw on missing or unexpected keys (torch's default).</param>
    /// <param name="allowShapeMismatch">Keys whose shape may differ; those are skipped and reported, e.g. <c>k =&gt; k.StartsWith("head.")</c>.</param>
    /// <returns>What was loaded, missing, unexpected and skipped.</returns>
    public LoadReport LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true, Func<string, bool>? allowShapeMismatch = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var targets = StateEntries().ToList();
        var missing = new List<string>();
        var mismatched = new List<ShapeMismatch>();
        var rejected = new List<ShapeMismatch>();
        var copies = new List<(Tensor Target, Tensor Source)>();
        var known = new HashSet<string>();
        foreach (var (key, entry) in targets)
        {
            known.Add(key);
            if (!stateDict.TryGetValue(key, out var source))
            {
                if (!entry.OptionalOnLoad) missing.Add(key);
                continue;
            }
            var target = entry.Tensor!;
            if (source.Shape != target.Shape)
            {
                var mismatch = new ShapeMismatch(key, target.Shape, source.Shape);
                mismatched.Add(mismatch);
                if (allowShapeMismatch?.Invoke(key) != true) rejected.Add(mismatch);
                continue;
            }
            copies.Add((target, source));
        }
        var unexpected = stateDict.Keys.Where(k => !known.Contains(k)).ToList();

        if (rejected.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(GetType().Name, missing, strict ? unexpected : [], rejected);

        foreach (var (target, source) in copies) target.CopyFrom(source);
        return new LoadReport(copies.Count, missing, unexpected, mismatched);
    }

    /// <summary>
    /// Loads a safetensors file (optionally renamed by <paramref name="keyMap"/>) through <see cref="LoadStateDict"/>.
    /// Equivalent to <c>module.load_state_dict(safetensors.torch.load_file(path), strict)</c>.
    /// </summary>
    public LoadReport LoadSafetensors(string path, bool strict = true, Func<string, bool>? allowShapeMismatch = null, KeyMap? keyMap = null)
    {
        var tensors = Safetensors.Load(path);
        IReadOnlyDictionary<string, Tensor> dict = keyMap is null ? tensors : keyMap.Apply(tensors);
        return LoadStateDict(dict, strict, allowShapeMismatch);
    }

    /// <summary>
    /// Writes <see cref="StateDict"/> to a safetensors file atomically. Equivalent to
    /// <c>safetensors.torch.save_file(module.state_dict(), path, metadata)</c>.
    /// </summary>
    public void SaveSafetensors(string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        Safetensors.Save(path, StateDict(), metadata);

    /// <summary>Sets training mode on this module and all descendants. Equivalent to <c>module.train(mode)</c>.</summary>
    public void Train(bool mode = true)
    {
        foreach (var module in Modules()) module.IsTraining = mode;
    }

    /// <summary>Sets evaluation mode (BatchNorm uses running statistics, Dropout is the identity). Equivalent to <c>module.eval()</c>.</summary>
    public void Eval() => Train(false);

    /// <summary>
    /// Clears every parameter's gradient (sets it to null, which the next backward pass fills afresh).
    /// Equivalent to <c>module.zero_grad(set_to_none=True)</c>.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>Calls <paramref name="action"/> on every descendant, then on this module (custom initialisation). Equivalent to <c>module.apply(fn)</c>.</summary>
    public void Apply(Action<Module> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        foreach (var child in Children()) child.Apply(action);
        action(this);
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    private enum EntryKind { Child, Parameter, Buffer, TransientBuffer }

    private sealed record Entry(string Name, EntryKind Kind, Module? Module, Tensor? Tensor, bool OptionalOnLoad = false);
}

/// <summary>A module with one tensor in and one out, the building block of <see cref="Sequential"/>.</summary>
public abstract class TensorModule : Module
{
    /// <summary>Computes the output. Equivalent to <c>module.forward(x)</c>.</summary>
    public abstract Tensor Forward(Tensor x);
}
