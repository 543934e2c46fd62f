using SharpSeg.Kernels;
using SharpSeg.Kernels.Cpu;

namespace SharpSeg.Core.Tests.Kernels;

/// <summary>
/// The pixel-rows forward (output pixels as GEMM rows, the weight read from its 64-channel panels) against the usual
/// orientation, which <see cref="LinearKernelParityTests"/> checks against the reference loops: the two must agree bit for
/// bit, epilogue included, at odd sizes, strides, padding and dilation.
/// </summary>
public class PixelRowsConvolutionTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int> Cases() => new()
    {
        // batch, cin, h, w, cout, kernel, stride, pad, dilation
        { 1, 70, 7, 7, 256, 1, 1, 0, 1 },    // ResNet-50 layer4 1×1 (pointwise: x itself is the column matrix)
        { 1, 33, 13, 13, 512, 1, 2, 0, 1 },  // stride-2 1×1 downsample to 7×7
        { 2, 19, 14, 14, 320, 3, 1, 2, 2 },  // dilated 3×3 at 14×14 (too wide a pitch to read in place), two images
        { 1, 10, 13, 14, 256, 3, 2, 1, 1 },  // 3×3 stride 2 from 13×14 to 7×7
        { 1, 300, 7, 7, 256, 3, 1, 2, 2 },   // dilated at 7×7 (gathered), K = 2700: several k blocks
        { 1, 5, 5, 5, 256, 3, 2, 1, 1 },     // 9 pixels: one partial sliver after one full one
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PixelRowsEqualTheUsualOrientationBitForBit(int batch, int cin, int h, int w, int cout, int kernel, int stride, int pad, int dilation)
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        var g = new Conv2dGeometry(batch, cin, h, w, cout, kernel, kernel, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
            DilationH: dilation, DilationW: dilation);
        var pixelRows = new LinearKernels(SimdLevel.Vector512);
        var usual = new LinearKernels(SimdLevel.Vector512) { RunsSmallImagesAsPixelRows = false };
        Assert.True(pixelRows.RunsAsPixelRows(g));
        Assert.False(usual.RunsAsPixelRows(g));

        var x = Random((int)g.InputLength, 31);
        var weight = Random((int)g.WeightLength, 32);
        var bias = Random(cout, 33);
        var residual = Random((int)g.OutputLength, 34);
        var panels = new PackedConvWeight();
        panels.Pack(g, weight, channelPanels: true);
        var plain = new PackedConvWeight();
        plain.Pack(g, weight);
        Assert.True(panels.HasChannelPanels(g));
        Assert.False(plain.HasChannelPanels(g));

        foreach (var (withBias, withResidual, activation) in new[]
        {
            (true, false, FusedActivation.None), (false, false, FusedActivation.None),
            (true, true, FusedActivation.Relu), (true, false, FusedActivation.Hardswish), (false, true, FusedActivation.Relu6),
        })
        {
            var expected = new float[g.OutputLength];
            var actual = new float[g.OutputLength];
            usual.Conv2dForward(g, x, weight, withBias ? bias : default, withResidual ? residual : default, activation, expected, plain);
            pixelRows.Conv2dForward(g, x, weight, withBias ? bias : default, withResidual ? residual : default, activation, actual, panels);
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                    Assert.Fail($"bias {withBias}, residual {withResidual}, {activation}: element {i} is {actual[i]}, expected {expected[i]}");
        }
    }

    [Fact]
    public void PixelRowsAreChosenForSmallImagesWithManyChannelsThatTheUsualPathGathersOrPadsToAPanel()
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        var kernels = new LinearKernels(SimdLevel.Vector512);
        // 7×7: 49 pixels in 9 slivers of 6 (54 rows) instead of one 64-wide panel.
        Assert.True(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 2048, 7, 7, 512, 1, 1)));
        // 14×14: 196 pixels as 33 slivers (198) against 3 panels and a 16-wide one (208): under a tenth saved.
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 1024, 14, 14, 256, 1, 1)));
        // A 3×3 read in place over the padded pitch keeps it; a stride-2 one, whose panels are gathered, does not.
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 512, 7, 7, 512, 3, 3, PadH: 1, PadW: 1)));
        Assert.True(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 512, 14, 14, 512, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1)));
        // Few output channels (the column matrix and the transpose would cost what is saved), output channels that are
        // not whole 64-channel panels, grouped convolutions and images over 16×16 keep the usual orientation.
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 512, 7, 7, 128, 3, 3, PadH: 1, PadW: 1)));
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 64, 7, 7, 300, 1, 1)));
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 64, 7, 7, 512, 3, 3, PadH: 1, PadW: 1, Groups: 2)));
        Assert.False(kernels.RunsAsPixelRows(new Conv2dGeometry(1, 512, 32, 32, 512, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2)));
    }

    [Fact]
    public void AWeightPreparedAsChannelPanelsServesALargerImageBitForBit()
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        var small = new Conv2dGeometry(1, 40, 13, 13, 256, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1);
        var large = small with { InH = 40, InW = 46 };
        var kernels = new LinearKernels(SimdLevel.Vector512);
        Assert.True(kernels.RunsAsPixelRows(small));
        Assert.False(kernels.RunsAsPixelRows(large));
        var weight = Random((int)small.WeightLength, 41);
        var bias = Random(256, 42);
        var x = Random((int)large.InputLength, 43);
        var panels = new PackedConvWeight();
        panels.Pack(small, weight, channelPanels: true);
        Assert.False(panels.Fits(large));

        var expected = new float[large.OutputLength];
        var actual = new float[large.OutputLength];
        kernels.Conv2dForward(large, x, weight, bias, default, FusedActivation.Relu, expected, null);
        // The weight span is empty: the A panels must come from the channel panels alone.
        kernels.Conv2dForward(large, x, default, bias, default, FusedActivation.Relu, actual, panels);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ChannelPanelsOfAGroupedWeightAreRefusedWithTheShape()
    {
        var g = new Conv2dGeometry(1, 64, 7, 7, 128, 1, 1, Groups: 2);
        var error = Assert.Throws<ArgumentException>(() => new PackedConvWeight().Pack(g, new float[g.WeightLength], channelPanels: true));
        Assert.Contains("2 groups of 128 output channels", error.Message);
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
