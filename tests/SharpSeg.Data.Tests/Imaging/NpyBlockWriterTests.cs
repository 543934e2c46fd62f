using System.Text;

namespace SharpSeg.Data.Tests.Imaging;

/// <summary>
/// <see cref="NpyBlockWriter"/> writes a file tile by tile that is byte for byte what <see cref="Npy.Write"/> (itself
/// byte-identical to <c>np.save</c>, see <see cref="NpyTests"/>) writes for the whole array.
/// </summary>
public class NpyBlockWriterTests
{
    private static Image<float> Values(int height, int width, int channels)
    {
        var image = new Image<float>(height, width, channels);
        for (int i = 0; i < image.Pixels.Length; i++) image.Pixels[i] = i * 0.25f - 7;
        return image;
    }

    /// <summary>The block of <paramref name="image"/> at (top, left), as an overlap-tile prediction hands over its tiles.</summary>
    private static Image<float> Block(Image<float> image, int top, int left, int height, int width)
    {
        var block = new Image<float>(height, width, image.Channels);
        for (int y = 0; y < height; y++)
            Array.Copy(image.Pixels, ((top + y) * image.Width + left) * image.Channels, block.Pixels, y * width * image.Channels, width * image.Channels);
        return block;
    }

    private static void WriteTiles(NpyBlockWriter writer, Image<float> image, int tileHeight, int tileWidth)
    {
        for (int top = 0; top < image.Height; top += tileHeight)
            for (int left = 0; left < image.Width; left += tileWidth)
                writer.WriteBlock(top, left, Block(image, top, left, Math.Min(tileHeight, image.Height - top), Math.Min(tileWidth, image.Width - left)));
    }

    [Theory]
    [InlineData(3, 4)]    // tiles cut short at the right and bottom edges
    [InlineData(7, 10)]   // one block
    [InlineData(1, 1)]    // pixel by pixel
    [InlineData(2, 10)]   // full-width bands
    public void Tiles_written_in_raster_order_give_the_bytes_of_the_whole_array(int tileHeight, int tileWidth)
    {
        var image = Values(7, 10, 3);
        using var stream = new MemoryStream();

        var writer = new NpyBlockWriter(stream, SampleType.Float32, 7, 10, 3);
        WriteTiles(writer, image, tileHeight, tileWidth);
        writer.Complete();

        Assert.Equal(Npy.Encode(image), stream.ToArray());
        Assert.Equal(stream.Length, stream.Position);
    }

    [Fact]
    public void The_header_comes_first_and_declares_the_type_and_shape()
    {
        using var stream = new MemoryStream();

        _ = new NpyBlockWriter(stream, SampleType.Float32, 7, 10, 3);

        byte[] header = stream.ToArray();
        // Magic, version 1.0, header length 118: the 63-character dictionary padded with spaces and a newline to 128 bytes in all.
        Assert.Equal(128, header.Length);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 118, 0], header[..10]);
        Assert.Equal("{'descr': '<f4', 'fortran_order': False, 'shape': (7, 10, 3), }", Encoding.ASCII.GetString(header, 10, 118).TrimEnd(' ', '\n'));
        Assert.Equal((byte)'\n', header[^1]);
    }

    [Fact]
    public void Full_width_bands_stream_to_a_stream_that_cannot_seek_and_read_back()
    {
        var image = Values(9, 5, 2);
        using var buffer = new MemoryStream();
        using var stream = new ForwardOnlyStream(buffer);

        var writer = new NpyBlockWriter(stream, SampleType.Float32, 9, 5, 2);
        WriteTiles(writer, image, 4, 5);
        writer.Complete();

        var read = (Image<float>)Npy.Decode(buffer.ToArray(), "bands.npy");
        Assert.Equal((9, 5, 2), (read.Height, read.Width, read.Channels));
        Assert.Equal(image.Pixels, read.Pixels);
    }

    [Fact]
    public void A_one_channel_byte_array_is_written_as_np_save_writes_it()
    {
        var image = new Image<byte>(3, 4, 1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        using var stream = new MemoryStream();

        var writer = new NpyBlockWriter(stream, SampleType.UInt8, 3, 4, 1);
        writer.WriteBlock(0, 0, new Image<byte>(2, 4, 1, [1, 2, 3, 4, 5, 6, 7, 8]));
        writer.WriteBlock(2, 0, new Image<byte>(1, 3, 1, [9, 10, 11]));
        writer.WriteBlock(2, 3, new Image<byte>(1, 1, 1, [12]));
        writer.Complete();

        Assert.Equal(Npy.Encode(image), stream.ToArray());
    }

    [Fact]
    public void Blocks_out_of_raster_order_or_of_another_shape_are_refused_and_a_short_array_is_not_complete()
    {
        var image = Values(6, 8, 2);
        using var stream = new MemoryStream();
        var writer = new NpyBlockWriter(stream, SampleType.Float32, 6, 8, 2);

        var skipped = Assert.Throws<InvalidOperationException>(() => writer.WriteBlock(0, 4, Block(image, 0, 4, 3, 4)));
        Assert.Contains("the next one starts at row 0, column 0", skipped.Message);
        writer.WriteBlock(0, 0, Block(image, 0, 0, 3, 4));
        var taller = Assert.Throws<InvalidOperationException>(() => writer.WriteBlock(0, 4, Block(image, 0, 4, 2, 4)));
        Assert.Contains("is 3 rows tall", taller.Message);
        Assert.Throws<ArgumentException>(() => writer.WriteBlock(0, 4, new Image<float>(3, 4, 3)));
        Assert.Throws<ArgumentException>(() => writer.WriteBlock(0, 4, new Image<int>(3, 4, 2)));
        Assert.Throws<ArgumentException>(() => writer.WriteBlock(0, 4, Block(image, 0, 0, 3, 5)));
        writer.WriteBlock(0, 4, Block(image, 0, 4, 3, 4));

        Assert.Equal(3, writer.RowsWritten);
        var incomplete = Assert.Throws<InvalidOperationException>(writer.Complete);
        Assert.Equal("NpyBlockWriter: 3 of 6 rows were written completely.", incomplete.Message);
    }

    [Fact]
    public void A_block_narrower_than_the_array_needs_a_seekable_stream()
    {
        using var stream = new ForwardOnlyStream(new MemoryStream());
        var writer = new NpyBlockWriter(stream, SampleType.Float32, 4, 4, 1);

        var error = Assert.Throws<InvalidOperationException>(() => writer.WriteBlock(0, 0, new Image<float>(4, 2, 1)));
        Assert.Contains("needs a seekable stream", error.Message);
    }

    /// <summary>A write-only stream that cannot seek, as a pipe.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
