namespace SharpSeg.Data.Tests.Imaging;

/// <summary>The process-wide limits change what every other test reads, so these tests run alone, after the rest.</summary>
[CollectionDefinition(nameof(ImageLimitsCollection), DisableParallelization = true)]
public sealed class ImageLimitsCollection;

[Collection(nameof(ImageLimitsCollection))]
public class ImageLimitsTests
{
    [Fact]
    public void The_defaults_are_pillows_pixel_limit_and_32_jpeg_scans()
    {
        Assert.Equal(2L * (1024 * 1024 * 1024 / 4 / 3), ImageLimits.DefaultMaxPixels);
        Assert.Equal(ImageLimits.DefaultMaxPixels, ImageLimits.MaxPixels);
        Assert.Equal(32, ImageLimits.MaxJpegScans);
    }

    [Fact]
    public void MaxPixels_is_the_knob_every_public_read_obeys()
    {
        string png = GoldenImages.PathOf("png_ct2_d8_16x16.png");
        byte[] npy = Npy.Encode(new Image<byte>(16, 16, 1));
        try
        {
            ImageLimits.MaxPixels = 255;
            var fromFile = Assert.Throws<ImageFormatException>(() => ImageFile.Read(png));
            var fromHeader = Assert.Throws<ImageFormatException>(() => ImageHeader.Read(png));
            var fromCodec = Assert.Throws<ImageFormatException>(() => Npy.Decode(npy, "a.npy"));

            ImageLimits.MaxPixels = 256;
            var image = ImageFile.Read(png);

            Assert.Equal($"{png}: PNG is 16×16 = 256 pixels, more than the limit of 255 " +
                         "(ImageLimits.MaxPixels, like PIL's MAX_IMAGE_PIXELS; raise it to read trusted huge images)", fromFile.Message);
            Assert.Equal($"{png}: PNG is 16×16 = 256 pixels, more than the limit of 255 (ImageLimits.MaxPixels)", fromHeader.Message);
            Assert.Equal(16, ImageHeader.Read(png).Width);
            Assert.StartsWith("a.npy: NPY array of shape (16, 16) is 16×16 = 256 pixels, more than the limit of 255", fromCodec.Message);
            Assert.Equal((16, 16), (image.Height, image.Width));
        }
        finally
        {
            ImageLimits.MaxPixels = ImageLimits.DefaultMaxPixels;
        }
    }

    [Fact]
    public void MaxJpegScans_is_the_knob_every_public_read_obeys()
    {
        string jpeg = GoldenImages.PathOf("jpg_gray_16x16_progressive.jpg");
        try
        {
            ImageLimits.MaxJpegScans = 1;
            var error = Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(File.ReadAllBytes(jpeg), "p.jpg"));

            Assert.Matches(@"^p\.jpg: \d+ scans, more than the 1 allowed \(ImageLimits\.MaxJpegScans", error.Message);
        }
        finally
        {
            ImageLimits.MaxJpegScans = ImageLimits.DefaultMaxJpegScans;
        }
    }

    [Fact]
    public void Limits_below_one_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLimits.MaxPixels = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLimits.MaxJpegScans = 0);
        Assert.Equal(ImageLimits.DefaultMaxPixels, ImageLimits.MaxPixels);
    }
}
