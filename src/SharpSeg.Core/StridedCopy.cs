namespace SharpSeg;

/// <summary>Copies between strided views and contiguous buffers (the engine's only layout-changing loop).</summary>
internal static class StridedCopy
{
    /// <summary>dst (contiguous, row-major over <paramref name="shape"/>) = src viewed through offset and strides.</summary>
    public static void Gather<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, Span<T> dst)
    {
        var runs = new Runs(offset, shape, strides);
        for (int written = 0; written < dst.Length; written += runs.Length, runs.Advance())
        {
            if (runs.Step == 1)
                src.AsSpan(runs.Position, runs.Length).CopyTo(dst.Slice(written, runs.Length));
            else
                for (int i = 0, p = runs.Position; i < runs.Length; i++, p += runs.Step) dst[written + i] = src[p];
        }
    }

    /// <summary>The view of dst through offset and strides = src (contiguous, row-major over <paramref name="shape"/>).</summary>
    public static void Scatter<T>(ReadOnlySpan<T> src, T[] dst, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        var runs = new Runs(offset, shape, strides);
        for (int read = 0; read < src.Length; read += runs.Length, runs.Advance())
        {
            if (runs.Step == 1)
                src.Slice(read, runs.Length).CopyTo(dst.AsSpan(runs.Position, runs.Length));
            else
                for (int i = 0, p = runs.Position; i < runs.Length; i++, p += runs.Step) dst[p] = src[read + i];
        }
    }

    /// <summary>
    /// Walks a strided view as runs along its innermost (coalesced) dimension, in row-major order: each run starts
    /// at <see cref="Position"/> in storage and has <see cref="Length"/> elements <see cref="Step"/> apart.
    /// </summary>
    private ref struct Runs
    {
        private readonly int[] _dims, _steps, _index;
        public int Position;

        public Runs(int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
        {
            Coalesce(shape, strides, out _dims, out _steps);
            if (_dims.Length == 0) (_dims, _steps) = ([1], [1]);
            _index = new int[_dims.Length];
            Position = offset;
        }

        public readonly int Length => _dims[^1];

        public readonly int Step => _steps[^1];

        public void Advance()
        {
            for (int axis = _dims.Length - 2; axis >= 0; axis--)
            {
                Position += _steps[axis];
                if (++_index[axis] < _dims[axis]) return;
                Position -= _steps[axis] * _dims[axis];
                _index[axis] = 0;
            }
        }
    }

    /// <summary>Merges neighbouring dimensions that are contiguous with each other and drops size-1 dimensions.</summary>
    internal static void Coalesce(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, out int[] dims, out int[] steps)
    {
        var d = new List<int>(shape.Length);
        var s = new List<int>(shape.Length);
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (d.Count > 0 && s[^1] == strides[i] * shape[i])
            {
                d[^1] *= shape[i];
                s[^1] = strides[i];
            }
            else
            {
                d.Add(shape[i]);
                s.Add(strides[i]);
            }
        }
        dims = [.. d];
        steps = [.. s];
    }
}
