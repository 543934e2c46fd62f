namespace SharpSeg.Data.Tests.Imaging;

public class ForceRgbTests
{
    public static TheoryData<string> Expectations => GoldenImages.Files("", ".forcergb.expected.npy");

    // Expected views come from Pillow's convert("RGB"), or numpy's high byte for 16-bit gray, where OpenCV's
    // IMREAD_COLOR and Pillow disagree.
    [Theory]
    [MemberData(nameof(Expectations))]
    public void Every_format_reads_as_three_channel_bytes_like_cv2_imread_color(string expectation)
    {
        string name = expectation[..^".forcergb.expected.npy".Length];
        string file = name + "." + name[..name.IndexOf('_')];
        var expected = GoldenImages.Expected(name, ".forcergb");

        var actual = ImageFile.Read(GoldenImages.PathOf(file), new ImageReadOptions { ForceRgb = true });

        GoldenImages.AssertSame(expected, actual, file);
    }

    [Fact]
    public void Bgr_applies_after_forcing_colour()
    {
        string path = GoldenImages.PathOf("png_ct6_d16_13x11.png");
        var rgb = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ForceRgb = true });

        var bgr = (Image<byte>)ImageFile.Read(path, new ImageReadOptions { ForceRgb = true, ChannelOrder = ChannelOrder.Bgr });

        for (int i = 0; i < rgb.Pixels.Length; i += 3)
            Assert.Equal((rgb.Pixels[i], rgb.Pixels[i + 1], rgb.Pixels[i + 2]), (bgr.Pixels[i + 2], bgr.Pixels[i + 1], bgr.Pixels[i]));
    }
}
