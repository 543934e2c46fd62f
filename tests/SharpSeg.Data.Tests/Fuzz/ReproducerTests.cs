using System.Buffers.Binary;
using System.Text;
using SharpSeg.Data.Tests.Imaging;
using static SharpSeg.Data.Tests.Fuzz.ImageFuzzFormats;

namespace SharpSeg.Data.Tests.Fuzz;

/// <summary>
/// The reader bugs a mutation fuzzer found (issue 12), each rebuilt here as a small file: every one must end in an
/// <see cref="ImageFormatException"/> that names the problem, and before the decoder allocates for the claimed size
/// (the bytes the test thread allocates are counted, so a decoder that allocated first would fail the test).
/// </summary>
public class ReproducerTests
{
    private const string PixelLimit = "(ImageLimits.MaxPixels, like PIL's MAX_IMAGE_PIXELS; raise it to read trusted huge images)";

    private static byte[] Golden(string name) => File.ReadAllBytes(GoldenImages.PathOf(name));

    /// <summary>Decodes and returns the error and the bytes this thread allocated meanwhile.</summary>
    private static (ImageFormatException Error, long Allocated) Refused(byte[] file, string name, ReadLimits? limits = null)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageFormatException>(() =>
            ImageFile.Decode(file, name, ImageReadOptions.Default, limits ?? new ReadLimits(ImageLimits.DefaultMaxPixels, ImageLimits.DefaultMaxJpegScans)));
        return (error, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Incompressible zlib data of about <paramref name="bytes"/> bytes.</summary>
    private static byte[] RandomZlib(int bytes)
    {
        var noise = new byte[bytes];
        new Random(12).NextBytes(noise);
        return Deflate(noise);
    }

    private static byte[] Png(uint width, uint height, byte bitDepth, byte colourType, byte[] idat)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, width);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), height);
        (header[8], header[9]) = (bitDepth, colourType);
        return PngBytes([new Chunk("IHDR", header), new Chunk("IDAT", idat), new Chunk("IEND", [])]);
    }

    // ---- JPEG ----

    [Fact]
    public void A_huffman_table_with_more_codes_of_a_length_than_it_allows_is_refused_before_it_is_built()
    {
        // Three 1-bit codes: the third would be written at lookahead index 2 << 8 = 512, past the 512-entry table.
        var segments = JpegSegments(Golden("jpg_444_16x16.jpg"))!;
        byte[] table = [0x00, 3, .. new byte[15], 0, 1, 2];
        segments.Insert(0, new Segment(0xC4, table, []));
        byte[] jpeg = JpegBytes(segments);

        var (error, _) = Refused(jpeg, "huffman.jpg");

        Assert.Equal("huffman.jpg: invalid Huffman table in DHT segment at offset 2: " +
                     "Huffman table has 3 codes of length 1, but the shorter codes leave room for only 2", error.Message);
    }

    [Fact]
    public void A_table_that_fills_a_length_exactly_still_decodes()
    {
        // Two 1-bit codes fill length 1 exactly. The check refuses only lengths that overflow; it keeps accepting
        // the all-ones code, which libjpeg's stricter check would also refuse.
        var segments = JpegSegments(Golden("jpg_gray_16x16.jpg"))!;
        segments.Insert(0, new Segment(0xC4, [0x03, 2, .. new byte[15], 0, 1], []));

        var image = ImageFile.Decode(JpegBytes(segments), "full.jpg");

        GoldenImages.AssertSame(ImageFile.Decode(Golden("jpg_gray_16x16.jpg"), "gray.jpg"), image, "full.jpg");
    }

    /// <summary>The progressive seed with its first scan (the DC scan) repeated <paramref name="scans"/> times and no other scan.</summary>
    private static List<Segment> RepeatedScan(int scans)
    {
        var segments = JpegSegments(Golden("jpg_420_16x16_progressive.jpg"))!;
        var firstScan = segments.First(s => s.Marker == 0xDA);
        segments.RemoveAll(s => s.Marker == 0xDA);
        segments.AddRange(Enumerable.Repeat(firstScan, scans));
        return segments;
    }

    [Fact]
    public void A_progressive_file_repeating_one_scan_41_times_over_an_8192_by_4096_frame_is_refused_before_decoding()
    {
        // DC tables whose one code is the 1-bit "0", and scans without data: a scan that stops at a marker is padded
        // with zero bits (as libjpeg does), so each data-less scan decodes every one of the frame's 589,824 blocks.
        var segments = RepeatedScan(0);
        var scan = JpegSegments(Golden("jpg_420_16x16_progressive.jpg"))!.First(s => s.Marker == 0xDA) with { Entropy = [] };
        segments.Add(new Segment(0xC4, [0x00, 1, .. new byte[15], 0, 0x01, 1, .. new byte[15], 0], []));
        segments.AddRange(Enumerable.Repeat(scan, 41));
        var frame = segments.First(s => s.Marker == 0xC2);
        BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(1), 4096);
        BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(3), 8192);
        // Padding so the frame's 589,824 blocks are plausible for the file size (one bit per block).
        segments.Insert(0, new Segment(0xFE, new byte[65533], []));
        segments.Insert(0, new Segment(0xFE, new byte[65533], []));
        byte[] jpeg = JpegBytes(segments);

        var (error, allocated) = Refused(jpeg, "bomb.jpg");

        Assert.Equal("bomb.jpg: 41 scans, more than the 32 allowed (ImageLimits.MaxJpegScans, libjpeg-turbo's max_scans guard: " +
                     "each scan passes over the whole frame)", error.Message);
        // The file is copied once (~131 KB); the frame's coefficient planes (~75 MB) were never allocated.
        Assert.InRange(allocated, 0, 2 * jpeg.Length + 100_000);
    }

    [Fact]
    public void The_scan_limit_counts_scans_exactly_and_is_configurable()
    {
        byte[] atLimit = JpegBytes(RepeatedScan(32)), overLimit = JpegBytes(RepeatedScan(33));
        var expected = ImageFile.Decode(JpegBytes(RepeatedScan(1)), "one.jpg");

        var image = ImageFile.Decode(atLimit, "32.jpg");
        var (error, _) = Refused(overLimit, "33.jpg");
        var raised = ImageFile.Decode(overLimit, "33.jpg", ImageReadOptions.Default, new ReadLimits(ImageLimits.DefaultMaxPixels, 33));

        // A repeated DC scan rewrites the same coefficients, so the image does not change.
        GoldenImages.AssertSame(expected, image, "32 scans");
        GoldenImages.AssertSame(expected, raised, "33 scans, limit 33");
        Assert.StartsWith("33.jpg: 33 scans, more than the 32 allowed", error.Message);
    }

    [Fact]
    public void A_jpeg_frame_over_the_pixel_limit_is_refused()
    {
        var segments = JpegSegments(Golden("jpg_gray_16x16.jpg"))!;
        var frame = segments.First(s => s.Marker == 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(1), 300);
        BinaryPrimitives.WriteUInt16BigEndian(frame.Payload.AsSpan(3), 200);

        var (error, _) = Refused(JpegBytes(segments), "big.jpg", new ReadLimits(59_999, 32));

        Assert.Equal($"big.jpg: JPEG is 200×300 = 60000 pixels, more than the limit of 59999 {PixelLimit}", error.Message);
    }

    // ---- PNG ----

    [Theory]
    [InlineData(6, 16)]
    [InlineData(2, 8)]
    [InlineData(0, 1)]
    public void A_png_claiming_2147483647_squared_pixels_with_a_valid_crc_is_refused_before_allocating(byte colourType, byte bitDepth)
    {
        byte[] png = Png(int.MaxValue, int.MaxValue, bitDepth, colourType, RandomZlib(14_000));

        var (error, allocated) = Refused(png, "huge.png");

        Assert.Equal($"huge.png: PNG is 2147483647×2147483647 = 4611686014132420609 pixels, more than the limit of 178956970 {PixelLimit}",
            error.Message);
        Assert.InRange(allocated, 0, 100_000);
    }

    [Fact]
    public void A_14_kb_png_claiming_a_large_image_under_the_limit_fails_before_allocating_its_pixels()
    {
        // 13000×13000 RGBA16 is 169 M pixels (under the limit) and 1.35 GB of filtered rows; 14 KB of zlib data
        // cannot expand to that (deflate's ratio is at most ~1032:1), so nothing of that size is allocated.
        byte[] png = Png(13000, 13000, 16, 6, RandomZlib(14_000));

        var (error, allocated) = Refused(png, "bomb.png");

        Assert.StartsWith("bomb.png: IDAT data truncated: ", error.Message);
        Assert.EndsWith("bytes of zlib data cannot hold the 1352013000 bytes of a 13000×13000 image", error.Message);
        Assert.InRange(allocated, 0, 200_000);
    }

    [Fact]
    public void A_png_whose_zlib_stream_asks_for_a_preset_dictionary_is_a_format_error()
    {
        // Found by the fuzz test's own inflater: zlib's FDICT flag made the runtime throw a bare ZLibException.
        byte[] stream = Deflate(new byte[16 * 17]);
        stream[1] = 0xBB;   // FLG with FDICT set and a valid check value for CMF 0x78
        byte[] png = Png(16, 16, 8, 0, [.. stream[..2], 0, 0, 0, 1, .. stream[2..]]);

        var (error, _) = Refused(png, "dict.png");

        Assert.Equal("dict.png: the zlib data in IDAT asks for a preset dictionary, which PNG does not allow", error.Message);
    }

    // ---- BMP ----

    private static byte[] Bmp(int width, int height, ushort bitsPerPixel, int compression, int extraBytes)
    {
        var file = new byte[14 + 40 + (compression == 3 ? 12 : 0) + (bitsPerPixel <= 8 ? 4 << bitsPerPixel : 0) + extraBytes];
        file[0] = (byte)'B';
        file[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(2), file.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(10), file.Length - extraBytes);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(22), height);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(26), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(28), bitsPerPixel);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(30), compression);
        if (compression == 3)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(54), 0xFF0000);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(58), 0xFF00);
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(62), 0xFF);
        }
        return file;
    }

    [Theory]
    [InlineData(int.MaxValue, int.MaxValue, 24, 0, "2147483647×2147483647 = 4611686014132420609")]
    [InlineData(int.MaxValue, -int.MaxValue, 32, 3, "2147483647×2147483647 = 4611686014132420609")]
    [InlineData(int.MaxValue, 2, 8, 0, "2147483647×2 = 4294967294")]
    [InlineData(65536, 65536, 1, 0, "65536×65536 = 4294967296")]
    public void A_bmp_with_dimensions_near_2_to_the_31_is_refused_before_allocating(int width, int height, ushort bits, int compression, string size)
    {
        byte[] bmp = Bmp(width, height, bits, compression, extraBytes: 64);

        var (error, allocated) = Refused(bmp, "huge.bmp");

        Assert.Equal($"huge.bmp: BMP is {size} pixels, more than the limit of 178956970 {PixelLimit}", error.Message);
        Assert.InRange(allocated, 0, 100_000);
    }

    [Fact]
    public void A_bmp_under_the_limit_without_its_pixel_data_is_refused_as_truncated()
    {
        byte[] bmp = Bmp(10000, 10000, 24, 0, extraBytes: 64);

        var (error, allocated) = Refused(bmp, "cut.bmp");

        Assert.Equal("cut.bmp: truncated at offset 118: 10000×10000 24-bit pixel data needs 300000054 bytes from offset 54", error.Message);
        Assert.InRange(allocated, 0, 100_000);
    }

    // ---- NPY ----

    private static byte[] NpyFile(string descr, string shape, int dataBytes) =>
        NpyBytes(1, $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".PadRight(117) + "\n", new byte[dataBytes]);

    [Theory]
    [InlineData("<u99999999999")]
    [InlineData("<f99999999999999999999")]
    [InlineData("<i0")]
    public void An_npy_dtype_with_an_absurd_size_is_an_unsupported_dtype(string descr)
    {
        var (error, _) = Refused(NpyFile(descr, "(2, 2)", 64), "dtype.npy");

        Assert.Equal($"dtype.npy: unsupported NPY dtype '{descr}'; expected uint8, bool, uint16, int8/16/32/64 or float32/64", error.Message);
    }

    [Theory]
    [InlineData("(1431655765, 1431655765, 9)", "(1431655765, 1431655765, 9) is 1431655765×1431655765 = 2049638229457735225 pixels")]
    [InlineData("(2147483647, 2147483647)", "(2147483647, 2147483647) is 2147483647×2147483647 = 4611686014132420609 pixels")]
    [InlineData("(1, 3, 65536, 65536)", "(1, 3, 65536, 65536) is 65536×65536 = 4294967296 pixels")]
    public void An_npy_shape_whose_size_overflows_is_refused_by_the_pixel_limit(string shape, string problem)
    {
        byte[] npy = NpyFile("|u1", shape, 64);

        var (error, allocated) = Refused(npy, "shape.npy");

        Assert.Equal(192, npy.Length);
        Assert.Equal($"shape.npy: NPY array of shape {problem}, more than the limit of 178956970 {PixelLimit}", error.Message);
        Assert.InRange(allocated, 0, 100_000);
    }

    [Fact]
    public void An_npy_shape_with_more_samples_than_an_array_holds_is_refused_even_with_the_limit_raised()
    {
        var (error, _) = Refused(NpyFile("|u1", "(65536, 32768, 2)", 64), "wide.npy", new ReadLimits(long.MaxValue, 32));

        Assert.Equal($"wide.npy: NPY array of shape (65536, 32768, 2) has 32768×65536×2 = 4294967296 samples, more than one array can hold ({Array.MaxLength})",
            error.Message);
    }

    [Fact]
    public void An_npy_shape_under_the_limit_without_its_data_is_refused_as_truncated()
    {
        var (error, allocated) = Refused(NpyFile("<f8", "(10000, 10000, 1)", 64), "cut.npy");

        Assert.Equal("cut.npy: truncated at offset 192: NPY data of <f8 shape (10000, 10000, 1) needs 800000000 bytes, 64 remain", error.Message);
        Assert.InRange(allocated, 0, 100_000);
    }

    [Fact]
    public void An_npy_header_longer_than_numpys_limit_is_refused()
    {
        byte[] npy = NpyBytes(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }".PadRight(20_000) + "\n", new byte[4]);

        var (error, _) = Refused(npy, "long.npy");

        Assert.Equal("long.npy: NPY header of 20001 bytes is longer than numpy's 10000-byte limit (np.load's max_header_size)", error.Message);
    }

    [Fact]
    public void A_batch_of_one_channels_first_npy_array_reads_as_an_hwc_image()
    {
        // (1, 3, 2, 2) as torch saves x.numpy(): plane c holds 10c + pixel index.
        byte[] data = [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23];
        byte[] npy = NpyBytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3, 2, 2), }".PadRight(117) + "\n", data);

        var image = Assert.IsType<Image<byte>>(ImageFile.Decode(npy, "nchw.npy"));

        Assert.Equal((2, 2, 3), (image.Height, image.Width, image.Channels));
        Assert.Equal(new byte[] { 0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23 }, image.Pixels);
    }

    [Theory]
    [InlineData("(1, 1, 2, 3)", 2, 3, 1)]
    [InlineData("(1, 1, 1, 3, 2)", 3, 2, 1)]
    [InlineData("(1, 1, 2, 1, 3)", 1, 3, 2)]
    public void Leading_ones_of_an_n_d_npy_array_are_dropped(string shape, int height, int width, int channels)
    {
        byte[] npy = NpyBytes(1, $"{{'descr': '<i4', 'fortran_order': False, 'shape': {shape}, }}".PadRight(117) + "\n",
            [.. Enumerable.Range(0, 6).SelectMany(BitConverter.GetBytes)]);

        var image = Assert.IsType<Image<int>>(ImageFile.Decode(npy, "nd.npy"));

        Assert.Equal((height, width, channels), (image.Height, image.Width, image.Channels));
        Assert.Equal(channels == 1 ? [0, 1, 2, 3, 4, 5] : new[] { 0, 3, 1, 4, 2, 5 }, image.Pixels);
    }

    [Fact]
    public void An_npy_batch_of_more_than_one_image_is_refused_not_cut()
    {
        var (error, _) = Refused(NpyFile("|u1", "(2, 3, 4, 4)", 96), "batch.npy");

        Assert.Equal("batch.npy: NPY array has shape (2, 3, 4, 4); an array of 4 or more dimensions is read as a batch of one " +
                     "(1, …, C, H, W) image, so every dimension before the last three must be 1", error.Message);
    }

    [Fact]
    public void An_int64_overflow_in_a_channels_first_array_names_its_row_column_and_channel()
    {
        var values = new long[12];
        values[4 + 3] = 1L << 40;   // channel 1, pixel 3 = row 1, column 1
        byte[] npy = NpyBytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3, 2, 2), }".PadRight(117) + "\n",
            [.. values.SelectMany(BitConverter.GetBytes)]);

        var (error, _) = Refused(npy, "wide.npy");

        Assert.Equal("wide.npy: int64 value 1099511627776 at row 1, column 1, channel 1 does not fit in int32", error.Message);
    }

    // ---- The limit itself ----

    public static TheoryData<string> SixteenBySixteen => new() { "png_ct2_d8_16x16.png", "jpg_420_16x16.jpg", "jpg_444_16x16_progressive.jpg" };

    [Theory]
    [MemberData(nameof(SixteenBySixteen))]
    [InlineData("bmp")]
    [InlineData("npy")]
    public void Every_reader_accepts_an_image_at_the_pixel_limit_and_refuses_one_pixel_less(string file)
    {
        byte[] data = file switch
        {
            "bmp" => Bmp(16, 16, 24, 0, extraBytes: 16 * 48),
            "npy" => NpyFile("|u1", "(16, 16, 3)", 768),
            _ => Golden(file),
        };

        var image = ImageFile.Decode(data, file, ImageReadOptions.Default, new ReadLimits(256, 32));
        var (error, _) = Refused(data, file, new ReadLimits(255, 32));

        Assert.Equal((16, 16), (image.Height, image.Width));
        Assert.Contains("16×16 = 256 pixels, more than the limit of 255 (ImageLimits.MaxPixels", error.Message);
    }
}
