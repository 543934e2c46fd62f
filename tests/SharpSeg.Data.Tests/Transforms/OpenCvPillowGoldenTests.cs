using SharpSeg.Data.Transforms;
using G = SharpSeg.Data.Tests.Transforms.TransformGoldens;

namespace SharpSeg.Data.Tests.Transforms;

/// <summary>Our transforms against outputs of OpenCV and Pillow (tools/gen_transform_goldens.py).</summary>
public class OpenCvPillowGoldenTests
{
    private static Image<float> Input() => new(6, 8, 3, (float[])G.Image.Clone());
    private static Image<int> InputLabel() => new(6, 8, 1, (int[])G.Label.Clone());
    private static Image<float> InputBytes() => ImageOps.TruncateToByteRange(Input());

    private static void Close(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"sample {i}: expected {expected[i]}, got {actual[i]}");
    }

    public static TheoryData<int, int, float[], float[], float[], int[]> Resizes => new()
    {
        { 9, 4, G.Linear_9x4, G.Cubic_9x4, G.Area_9x4, G.Nearest_9x4 },
        { 3, 11, G.Linear_3x11, G.Cubic_3x11, G.Area_3x11, G.Nearest_3x11 },
        { 3, 4, G.Linear_3x4, G.Cubic_3x4, G.Area_3x4, G.Nearest_3x4 },
        { 4, 5, G.Linear_4x5, G.Cubic_4x5, G.Area_4x5, G.Nearest_4x5 },
    };

    [Theory]
    [MemberData(nameof(Resizes))]
    public void ResizeMatchesCv2(int height, int width, float[] linear, float[] cubic, float[] area, int[] nearest)
    {
        Close(linear, ImageOps.Resize(Input(), height, width, Interpolation.Linear).Pixels, 0f);
        Close(area, ImageOps.Resize(Input(), height, width, Interpolation.Area).Pixels, 0f);
        Close(cubic, ImageOps.Resize(Input(), height, width, Interpolation.Cubic).Pixels, 1e-3f);
        Assert.Equal(nearest, ImageOps.ResizeNearest(InputLabel(), height, width).Pixels);
    }

    [Theory]
    [InlineData(17.3, 8, 9)]
    [InlineData(-8.6, 7, 8)]
    public void RotationMatchesPaddleSegOnCv2(double degrees, int height, int width)
    {
        var sample = new SegSample(Input(), InputLabel());
        RandomRotation.Rotate(sample, degrees, 127.5f, 255);
        Assert.Equal((height, width), (sample.Image.Height, sample.Image.Width));
        var (image, label) = degrees > 0 ? (G.Rotate_17_3_8x9, G.RotateLabel_17_3) : (G.Rotate_minus8_6_7x8, G.RotateLabel_minus8_6);
        Close(image, sample.Image.Pixels, 0f);
        Assert.Equal(label, sample.Label!.Pixels);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(9)]
    public void BlursMatchCv2(int size)
    {
        var (gaussian, box, median) = size switch
        {
            3 => (G.Gaussian_3, G.Box_3, G.Median_3),
            5 => (G.Gaussian_5, G.Box_5, G.Median_5),
            7 => (G.Gaussian_7, G.Box_7, G.Median_7),
            _ => (G.Gaussian_9, G.Box_9, G.Median_9),
        };
        Close(gaussian, RandomBlur.Blur(InputBytes(), BlurType.Gaussian, size).Pixels, 0f);
        Close(box, RandomBlur.Blur(InputBytes(), BlurType.Box, size).Pixels, 0f);
        Close(median, RandomBlur.Blur(InputBytes(), BlurType.Median, size).Pixels, 0f);
    }

    [Theory]
    [InlineData(0.62)]
    [InlineData(1.37)]
    public void EnhanceMatchesPillow(double factor)
    {
        bool low = factor < 1;
        Close(low ? G.Brightness_0_62 : G.Brightness_1_37, ColorOps.Brightness(InputBytes(), factor).Pixels, 0f);
        Close(low ? G.Contrast_0_62 : G.Contrast_1_37, ColorOps.Contrast(InputBytes(), factor).Pixels, 0f);
        Close(low ? G.Saturation_0_62 : G.Saturation_1_37, ColorOps.Saturation(InputBytes(), factor).Pixels, 0f);
        Close(low ? G.Sharpness_0_62 : G.Sharpness_1_37, ColorOps.Sharpness(InputBytes(), factor).Pixels, 0f);
    }

    [Theory]
    [InlineData(12.7)]
    [InlineData(-9.3)]
    public void HueShiftMatchesPillowHsv(double delta)
    {
        Close(delta > 0 ? G.Hue_12_7 : G.Hue_minus9_3, ColorOps.Hue(InputBytes(), delta).Pixels, 0f);
    }
}
