namespace SharpSeg.Autograd;

/// <summary>
/// Reverse-mode differentiation over the recorded graph: one iterative topological sort (an HRNet graph has
/// thousands of nodes, too deep for recursion), then a reverse walk that accumulates gradients, releasing each
/// node as soon as it has run. A leaf's post-accumulate hooks run as soon as the walk has passed every node with an
/// edge into it, so its gradient is final for this pass.
/// </summary>
internal static class Backprop
{
    public static void Run(Tensor root, Tensor? seed)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("Backward() on a tensor that does not require grad (no input had RequiresGrad, or it was computed under NoGrad).");
        if (seed is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward() without a gradient needs a scalar, got shape {root.Shape}; pass a gradient of that shape.");
            seed = Tensor.Ones(root.Shape);
        }
        else if (seed.Shape != root.Shape)
        {
            throw new ShapeMismatchException("Backward", $"gradient shape {seed.Shape} differs from tensor shape {root.Shape}");
        }

        using var _ = GradMode.NoGrad();
        _depth++;
        try
        {
            Walk(root, seed);
        }
        finally
        {
            _depth--;
        }
    }

    // Nested walks (a backward inside a node's backward) run inside an op of the outer walk: not a safe point.
    [ThreadStatic] private static int _depth;

    private static void Walk(Tensor root, Tensor seed)
    {
        if (root.GradFn is null)
        {
            Accumulate(root, seed, owned: false);
            root.RunPostAccumulateGradHooks();
            return;
        }

        var order = TopologicalOrder(root.GradFn);
        var hookedEdges = HookedLeafEdgeCounts(order);
        var pending = new Dictionary<GradFn, Tensor>(ReferenceEqualityComparer.Instance) { [root.GradFn] = seed };
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (node.IsReleased)
                throw new InvalidOperationException($"Backward() reached {node.Name}, whose graph an earlier Backward() already released.");
            if (!pending.Remove(node, out var grad))
            {
                PassLeafEdges(node, hookedEdges);
                continue;
            }

            var edges = node.Edges;
            long allocatedBefore = Storage.AllocationCount;
            var inputGrads = node.Backward(grad);
            for (int k = 0; k < edges.Count; k++)
            {
                var edge = edges[k];
                var g = inputGrads[k];
                if (g is null || !edge.RequiresGrad) continue;
                if (g.Shape != edge.Shape)
                    throw new InvalidOperationException($"{node.Name} backward produced a gradient of shape {g.Shape} for an input of shape {edge.Shape}.");
                if (edge.Producer is { } producer)
                    pending[producer] = pending.TryGetValue(producer, out var sum) ? sum + g : g;
                else
                    Accumulate(edge.Leaf!, g, OwnedByCaller(g, k, inputGrads, allocatedBefore));
            }
            PassLeafEdges(node, hookedEdges);
            node.Release();
            // No op is running on this thread between nodes: buffers that died so far can serve the next ones.
            if (_depth == 1) BufferPool.SafePoint();
        }
    }

    /// <summary>
    /// Adds <paramref name="g"/> into <paramref name="leaf"/>'s gradient. On first assignment the leaf must own its buffer
    /// (leaf.Grad is later updated in place, e.g. by gradient clipping), so a gradient that may be shared is copied; one
    /// the node's backward has just allocated for this input alone is taken as it is, as torch's AccumulateGrad steals
    /// a gradient nobody else references. The values are the same either way; taking it saves a parameter-sized
    /// allocation and copy per parameter and step.
    /// </summary>
    private static void Accumulate(Tensor leaf, Tensor g, bool owned) =>
        leaf.Grad = leaf.Grad is null ? (owned ? g : g.Clone()) : leaf.Grad + g;

    /// <summary>
    /// Whether gradient <paramref name="index"/> of a node's backward is a dense buffer that backward allocated (after
    /// <paramref name="allocatedBefore"/>) and returned for no other input, so nothing else can reference it.
    /// </summary>
    private static bool OwnedByCaller(Tensor g, int index, Tensor?[] inputGrads, long allocatedBefore)
    {
        if (g.Storage.Serial < allocatedBefore || g.Offset != 0 || !g.IsContiguous || g.Storage.Length != g.Numel) return false;
        for (int k = 0; k < inputGrads.Length; k++)
            if (k != index && inputGrads[k] is { } other && ReferenceEquals(other.Storage, g.Storage)) return false;
        return true;
    }

    /// <summary>For every leaf with post-accumulate hooks: how many edges of the graph lead into it; null when no leaf has hooks.</summary>
    private static Dictionary<Tensor, int>? HookedLeafEdgeCounts(List<GradFn> order)
    {
        Dictionary<Tensor, int>? counts = null;
        foreach (var node in order)
            foreach (var edge in node.Edges)
                if (edge.Leaf is { HasPostAccumulateGradHooks: true } leaf)
                {
                    counts ??= new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
                    counts[leaf] = counts.GetValueOrDefault(leaf) + 1;
                }
        return counts;
    }

    /// <summary>Counts <paramref name="node"/>'s edges into hooked leaves as done, running the hooks of leaves that have no edge left.</summary>
    private static void PassLeafEdges(GradFn node, Dictionary<Tensor, int>? hookedEdges)
    {
        if (hookedEdges is null) return;
        foreach (var edge in node.Edges)
        {
            if (edge.Leaf is not { } leaf || !hookedEdges.TryGetValue(leaf, out int left)) continue;
            if (left > 1)
            {
                hookedEdges[leaf] = left - 1;
                continue;
            }
            hookedEdges.Remove(leaf);
            leaf.RunPostAccumulateGradHooks();
        }
    }

    /// <summary>Post-order of the graph: every node after the nodes that produced its inputs, the root last.</summary>
    private static List<GradFn> TopologicalOrder(GradFn root)
    {
        var order = new List<GradFn>();
        var visited = new HashSet<GradFn>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(GradFn Node, int Next)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (node, next) = stack.Pop();
            var edges = node.Edges;
            if (next < edges.Count)
            {
                stack.Push((node, next + 1));
                if (edges[next].Producer is { } child && visited.Add(child))
                    stack.Push((child, 0));
            }
            else
            {
                order.Add(node);
            }
        }
        return order;
    }
}
