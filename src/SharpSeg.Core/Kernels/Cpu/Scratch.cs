using System.Runtime.CompilerServices;

namespace SharpSeg.Kernels.Cpu;

/// <summary>
/// Per-thread scratch buffers reused across calls: a fresh large array costs page faults on first touch, so each
/// thread keeps its largest buffer. Arrays live on the pinned object heap, so a raw pointer stays valid, and are
/// collected with their thread.
/// </summary>
internal static unsafe class Scratch
{
    /// <summary>Which buffer of the thread: a kernel may hold one of each at once.</summary>
    public enum Slot { PackedA, PanelB, Staging, Tile, Padded, Offsets, Partials, FoldedColumns, FoldedOutput, PitchedOutput, PixelRowsOutput, Count }

    [ThreadStatic] private static float[]?[]? _buffers;

    /// <summary>A 64-byte-aligned buffer of at least <paramref name="floats"/> floats, valid until the thread asks for the same slot again.</summary>
    public static float* Get(Slot slot, long floats)
    {
        var buffers = _buffers ??= new float[]?[(int)Slot.Count];
        var buffer = buffers[(int)slot];
        if (buffer is null || buffer.Length < floats + 16)
        {
            long grown = Math.Max(floats + 16, buffer is null ? 0 : buffer.Length * 3L / 2);
            if (grown > Array.MaxLength) throw new OutOfMemoryException($"Kernel scratch of {floats} floats exceeds the largest array.");
            buffer = GC.AllocateUninitializedArray<float>((int)grown, pinned: true);
            buffers[(int)slot] = buffer;
        }
        nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
        return (float*)((address + 63) & ~(nint)63);
    }
}
