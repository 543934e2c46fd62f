using System.Runtime.InteropServices;

namespace SharpSeg.Data;

/// <summary>
/// Writes an H×W×C <c>.npy</c> array piece by piece, so an array larger than memory is never held whole: the header
/// first, then blocks of whole pixels in the raster order of a grid, as an overlap-tile prediction produces its tiles.
/// The blocks of a band share its top row and height and run left to right across the full width; bands run top to
/// bottom. A block as wide as the array is one run of bytes, so bands of such blocks stream to any stream; narrower
/// blocks have strided rows and need a seekable stream. <see cref="Complete"/> checks that every pixel was written.
/// Equivalent to filling <c>np.lib.format.open_memmap(path, mode="w+", dtype, shape)</c> tile by tile.
/// </summary>
public sealed class NpyBlockWriter
{
    private readonly Stream _output;
    private readonly long _dataStart;
    private readonly int _sampleSize;
    private long _position;
    private int _bandTop, _bandHeight, _nextLeft;

    /// <summary>Writes the header of an array of <paramref name="height"/> × <paramref name="width"/> × <paramref name="channels"/> samples.</summary>
    /// <param name="output">Receives the file from its current position.</param>
    /// <param name="sampleType">Type of every sample: uint8, uint16, int32 or float32, written little-endian.</param>
    /// <param name="height">Rows.</param>
    /// <param name="width">Columns.</param>
    /// <param name="channels">Samples per pixel.</param>
    /// <param name="dropSingleChannel">Declares a 1-channel array as 2-D <c>(H, W)</c>, as <see cref="Npy.Write"/> does.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public NpyBlockWriter(Stream output, SampleType sampleType, int height, int width, int channels, bool dropSingleChannel = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        _output = output;
        SampleType = sampleType;
        Height = height;
        Width = width;
        Channels = channels;
        _sampleSize = sampleType switch
        {
            SampleType.UInt8 => 1,
            SampleType.UInt16 => 2,
            _ => 4,
        };
        long start = output.CanSeek ? output.Position : 0;
        _dataStart = start + Npy.WriteHeader(output, sampleType, height, width, channels, dropSingleChannel);
        _nextLeft = width;
    }

    /// <summary>The sample type every block must have.</summary>
    public SampleType SampleType { get; }

    /// <summary>Rows of the array.</summary>
    public int Height { get; }

    /// <summary>Columns of the array.</summary>
    public int Width { get; }

    /// <summary>Samples per pixel.</summary>
    public int Channels { get; }

    /// <summary>Rows of the array whose bands are complete.</summary>
    public int RowsWritten => _nextLeft == Width ? _bandTop + _bandHeight : _bandTop;

    /// <summary>
    /// Writes <paramref name="block"/> at rows top … top + block.Height − 1, columns left … left + block.Width − 1. It
    /// must be the next block in raster order: at the current band's top, right of the previous block and as tall, or,
    /// once a band reaches the right edge, at column 0 of the rows below it.
    /// </summary>
    /// <exception cref="ArgumentException">The block's sample type or channel count differs from the array's, or it reaches past the array.</exception>
    /// <exception cref="InvalidOperationException">
    /// The block is not the next one in raster order, or it is narrower than the array and the stream cannot seek.
    /// </exception>
    public void WriteBlock(int top, int left, Image block)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (block.SampleType != SampleType || block.Channels != Channels)
            throw new ArgumentException(
                $"NpyBlockWriter: the array holds {Channels} {SampleType} samples per pixel, the block {block.Channels} {block.SampleType}.", nameof(block));
        if (top < 0 || left < 0 || (long)top + block.Height > Height || (long)left + block.Width > Width)
            throw new ArgumentException(
                $"NpyBlockWriter: a {block.Height}×{block.Width} block at row {top}, column {left} reaches past the {Height}×{Width} array.", nameof(block));
        bool newBand = _nextLeft == Width;
        int expectedTop = newBand ? _bandTop + _bandHeight : _bandTop, expectedLeft = newBand ? 0 : _nextLeft;
        if (top != expectedTop || left != expectedLeft || (!newBand && block.Height != _bandHeight))
            throw new InvalidOperationException(
                $"NpyBlockWriter: blocks go in raster order; the next one starts at row {expectedTop}, column {expectedLeft}" +
                (newBand ? "" : $" and is {_bandHeight} rows tall") + $", not a {block.Height}-row block at row {top}, column {left}.");
        if (block.Width != Width && !_output.CanSeek)
            throw new InvalidOperationException(
                $"NpyBlockWriter: a block narrower than the array ({block.Width} of {Width} columns) needs a seekable stream.");

        if (newBand)
        {
            _bandTop = top;
            _bandHeight = block.Height;
        }
        _nextLeft = left + block.Width;
        int rowSamples = block.Width * Channels;
        int rows = block.Width == Width ? 1 : block.Height;
        int runSamples = block.Width == Width ? rowSamples * block.Height : rowSamples;
        for (int y = 0; y < rows; y++)
        {
            long offset = (((long)(top + y) * Width) + left) * Channels * _sampleSize;
            if (offset != _position)
                _output.Seek(_dataStart + offset, SeekOrigin.Begin);
            WriteSamples(block, y * rowSamples, runSamples);
            _position = offset + (long)runSamples * _sampleSize;
        }
    }

    /// <summary>Checks that every pixel was written and leaves the stream at the end of the array.</summary>
    /// <exception cref="InvalidOperationException">Some rows were not written; the message says how many.</exception>
    public void Complete()
    {
        if (RowsWritten != Height)
            throw new InvalidOperationException($"NpyBlockWriter: {RowsWritten} of {Height} rows were written completely.");
        long end = (long)Height * Width * Channels * _sampleSize;
        if (_position != end)
            _output.Seek(_dataStart + end, SeekOrigin.Begin);
        _position = end;
    }

    private void WriteSamples(Image block, int start, int count)
    {
        switch (block)
        {
            case Image<byte> bytes:
                _output.Write(bytes.Pixels, start, count);
                break;
            case Image<ushort> words:
                WriteLittleEndian(words.Pixels.AsSpan(start, count));
                break;
            case Image<int> ints:
                WriteLittleEndian(ints.Pixels.AsSpan(start, count));
                break;
            case Image<float> floats:
                WriteLittleEndian(floats.Pixels.AsSpan(start, count));
                break;
        }
    }

    private void WriteLittleEndian<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        if (BitConverter.IsLittleEndian)
        {
            _output.Write(bytes);
            return;
        }
        int size = bytes.Length / values.Length;
        var buffer = new byte[Math.Min(bytes.Length, 1 << 16) / size * size];
        for (int start = 0; start < bytes.Length; start += buffer.Length)
        {
            int n = Math.Min(buffer.Length, bytes.Length - start);
            bytes.Slice(start, n).CopyTo(buffer);
            for (int i = 0; i < n; i += size) buffer.AsSpan(i, size).Reverse();
            _output.Write(buffer, 0, n);
        }
    }
}
