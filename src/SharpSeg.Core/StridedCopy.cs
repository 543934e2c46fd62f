namespace SharpSeg;

/// <summary>Copies between strided views and contiguous buffers (the engine's only layout-changing loop).</summary>
internal static class StridedCopy
{
    /// <summary>dst (contiguous, row-major over <paramref name="shape"/>) = src viewed through offset and strides.</summary>
    public static void Gather<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, Span<T> dst)
    {
        Coalesce(shape, strides, out var dims, out var steps);
        int rank = dims.Length;
        if (dst.Length == 0) return;
        if (rank == 0)
        {
            dst[0] = src[offset];
            return;
        }
        int inner = dims[rank - 1], innerStep = steps[rank - 1];
        var index = new int[rank];
        int position = offset, written = 0;
        while (true)
        {
            if (innerStep == 1)
                src.AsSpan(position, inner).CopyTo(dst.Slice(written, inner));
            else
                for (int i = 0, p = position; i < inner; i++, p += innerStep) dst[written + i] = src[p];
            written += inner;
            int axis = rank - 2;
            while (axis >= 0)
            {
                position += steps[axis];
                if (++index[axis] < dims[axis]) break;
                position -= steps[axis] * dims[axis];
                index[axis] = 0;
                axis--;
            }
            if (axis < 0) return;
        }
    }

    /// <summary>The view of dst through offset and strides = src (contiguous, row-major over <paramref name="shape"/>).</summary>
    public static void Scatter<T>(ReadOnlySpan<T> src, T[] dst, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        Coalesce(shape, strides, out var dims, out var steps);
        int rank = dims.Length;
        if (src.Length == 0) return;
        if (rank == 0)
        {
            dst[offset] = src[0];
            return;
        }
        int inner = dims[rank - 1], innerStep = steps[rank - 1];
        var index = new int[rank];
        int position = offset, read = 0;
        while (true)
        {
            if (innerStep == 1)
                src.Slice(read, inner).CopyTo(dst.AsSpan(position, inner));
            else
                for (int i = 0, p = position; i < inner; i++, p += innerStep) dst[p] = src[read + i];
            read += inner;
            int axis = rank - 2;
            while (axis >= 0)
            {
                position += steps[axis];
                if (++index[axis] < dims[axis]) break;
                position -= steps[axis] * dims[axis];
                index[axis] = 0;
                axis--;
            }
            if (axis < 0) return;
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
        if (d.Count == 0 && shape.Length > 0)
        {
            d.Add(1);
            s.Add(1);
        }
        dims = [.. d];
        steps = [.. s];
    }
}
