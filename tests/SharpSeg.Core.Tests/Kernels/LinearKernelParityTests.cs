using SharpSeg.Kernels;
using SharpSeg.Kernels.Cpu;

namespace SharpSeg.Core.Tests.Kernels;

/// <summary>
/// The fast GEMM and convolution kernels against <see cref="ReferenceKernels"/> (double-precision loops) at every SIMD
/// level this CPU supports, on shapes chosen to hit edge tiles, several k blocks, padding, stride, dilation and groups.
/// </summary>
public class LinearKernelParityTests
{
    // Levels travel as names: SimdLevel is internal and theory parameters of a public test must be public.
    public static TheoryData<string> Levels()
    {
        var data = new TheoryData<string>();
        foreach (var level in Enum.GetValues<SimdLevel>())
            if (SimdLevels.IsSupported(level)) data.Add(level.ToString());
        return data;
    }

    public static TheoryData<string, int> LevelsAndConvCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var level in Enum.GetValues<SimdLevel>())
            if (SimdLevels.IsSupported(level))
                for (int i = 0; i < ConvCases.Length; i++) data.Add(level.ToString(), i);
        return data;
    }

    private static readonly (Conv2dGeometry Geometry, bool Bias)[] ConvCases =
    [
        (new(Batch: 2, InChannels: 3, InH: 9, InW: 9, OutChannels: 5, KernelH: 3, KernelW: 3, PadH: 1, PadW: 1), true),
        (new(1, 4, 11, 10, 7, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1), false),
        (new(1, 5, 13, 13, 6, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2), true),
        (new(2, 6, 8, 7, 4, 3, 3, PadH: 1, PadW: 1, Groups: 2), true),
        (new(2, 5, 6, 70, 5, 3, 3, PadH: 1, PadW: 1, Groups: 5), true),
        (new(1, 3, 9, 8, 6, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 3), false),
        (new(1, 3, 7, 80, 6, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2, Groups: 3), true),
        (new(1, 4, 6, 9, 5, 1, 3, PadH: 0, PadW: 1), true),
        (new(1, 130, 9, 9, 7, 1, 1), false),
        (new(2, 20, 17, 17, 13, 3, 3, PadH: 1, PadW: 1), true),
        (new(1, 3, 10, 9, 8, 3, 2, StrideH: 2, StrideW: 1, PadH: 0, PadW: 2, DilationH: 1, DilationW: 2), false),
        (new(1, 2, 5, 6, 3, 3, 3, PadH: 3, PadW: 3), true),
        (new(1, 2, 20, 67, 70, 5, 5, StrideH: 3, StrideW: 3, PadH: 2, PadW: 1), true),
        (new(1, 1, 1, 1, 1, 1, 1), true),

        // Rows of 64 or 128 output (or input) pixels: the AVX-512 path reads activation rows in place.
        (new(2, 4, 5, 64, 7, 3, 3, PadH: 1, PadW: 1), true),
        (new(1, 4, 6, 128, 8, 3, 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 1, Groups: 2), false),
        (new(1, 3, 4, 68, 5, 3, 5, PadH: 1, PadW: 0), true),
        (new(1, 2, 3, 64, 3, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2), false),

        // Stride-2 rows long enough for the vector even-lane gather.
        (new(1, 3, 9, 75, 5, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1), true),
        (new(1, 3, 9, 75, 6, 5, 5, StrideH: 2, StrideW: 2, PadH: 2, PadW: 2, Groups: 3), true), // depthwise, multiplier 2

        // Stride 1 with rows that are not whole panels: AVX-512 runs the GEMM over the padded input's pitch.
        (new(1, 5, 7, 7, 9, 3, 3, PadH: 1, PadW: 1), true),
        (new(2, 6, 28, 28, 13, 3, 3, PadH: 1, PadW: 1), false),
        (new(1, 4, 12, 56, 6, 3, 3, PadH: 1, PadW: 1, Groups: 2), true),
        (new(1, 3, 30, 30, 5, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2), true),
        (new(1, 40, 7, 7, 20, 3, 3, PadH: 1, PadW: 1), true),

        // Few pixels, many output channels (ResNet's 7×7 stage at batch 1): the GEMM splits rows of A over threads.
        (new(1, 70, 7, 7, 200, 1, 1), false),
        (new(1, 24, 7, 7, 100, 3, 3, PadH: 1, PadW: 1), true),

        // Weight columns that do not share out evenly over two threads: the weight gradient splits the pixels instead.
        (new(2, 16, 24, 64, 16, 3, 3, PadH: 1, PadW: 1), true),
        (new(2, 16, 24, 60, 16, 3, 3, PadH: 1, PadW: 1), false),
    ];

    [Theory]
    [MemberData(nameof(Levels))]
    public void GemmMatchesReferenceForEveryTransposeAndAccumulate(string levelName)
    {
        var level = Enum.Parse<SimdLevel>(levelName);
        var kernels = new LinearKernels(level);
        // Edge tiles in both directions, k over one block (256), and 150 × 300: two blocks of A rows, two panel groups.
        int[][] shapes = [[1, 1, 1], [7, 65, 13], [13, 130, 300], [6, 64, 128], [1, 200, 5], [50, 1, 70], [19, 33, 129], [150, 300, 40]];
        foreach (var shape in shapes)
        {
            int m = shape[0], n = shape[1], k = shape[2];
            foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            foreach (bool accumulate in new[] { false, true })
            {
                // Leading dimensions wider than the matrices check that padding columns are skipped.
                int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5;
                var a = Random((transA ? k : m) * lda, 1);
                var b = Random((transB ? n : k) * ldb, 2);
                var expected = Random(m * ldc, 3);
                var actual = (float[])expected.Clone();
                ReferenceKernels.Instance.Gemm(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
                kernels.Gemm(transA, transB, m, n, k, a, lda, b, ldb, actual, ldc, accumulate);
                AssertClose(expected, actual, $"gemm {m}x{n}x{k} transA={transA} transB={transB} accumulate={accumulate} level={level}");
            }
        }
    }

    [Theory]
    [InlineData(196, false)] // 14×14 pixels: a last panel of 4 columns (16-wide kernel)
    [InlineData(224, true)]  // a last panel of 32 columns (32-wide kernel), accumulating into C
    [InlineData(208, false)] // exactly 16
    public void NarrowLastPanelsGiveTheFullWidthKernelsValuesBitForBit(int n, bool accumulate)
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        const int m = 20, k = 300, ldb = 256;
        var a = Random(m * k, 1);
        var b = Random(k * ldb, 2);
        var start = Random(m * ldb, 3);
        var narrow = (float[])start.Clone();
        var wide = (float[])start.Clone();
        var kernels = new LinearKernels(SimdLevel.Vector512);
        kernels.Gemm(false, false, m, n, k, a, k, b, ldb, narrow, ldb, accumulate);
        kernels.Gemm(false, false, m, ldb, k, a, k, b, ldb, wide, ldb, accumulate);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++) Assert.Equal(wide[i * ldb + j], narrow[i * ldb + j]);
            for (int j = n; j < ldb; j++) Assert.Equal(start[i * ldb + j], narrow[i * ldb + j]);
        }
    }

    /// <summary>
    /// The AVX-512 stride-2 depthwise rows (even lanes of two loads, multiply then add) give what the scalar loop gives
    /// bit for bit: the same products, each rounded, summed in the same tap order onto the bias. Widths leave scalar tails
    /// and blocks whose loads would leave the padded row; a channel multiplier of 2, dilation and 5×5 taps.
    /// </summary>
    [Theory]
    [InlineData(75, 3, 1, 1, 1)]
    [InlineData(64, 3, 1, 1, 2)]
    [InlineData(97, 5, 2, 1, 1)]
    [InlineData(70, 3, 2, 2, 2)]
    [InlineData(33, 5, 4, 2, 1)]
    public void StrideTwoDepthwiseRowsEqualTheScalarLoopBitForBit(int width, int kernel, int pad, int dilation, int multiplier)
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        const int channels = 3, height = 9;
        var g = new Conv2dGeometry(2, channels, height, width, channels * multiplier, kernel, kernel, StrideH: 2, StrideW: 2,
            PadH: pad, PadW: pad, DilationH: dilation, DilationW: dilation, Groups: channels);
        var x = Random((int)g.InputLength, 11);
        var w = Random((int)g.WeightLength, 12);
        var bias = Random(g.OutChannels, 13);
        var y = new float[g.OutputLength];
        new LinearKernels(SimdLevel.Vector512).Conv2dForward(g, x, w, bias, y);

        for (int b = 0; b < g.Batch; b++)
            for (int co = 0; co < g.OutChannels; co++)
                for (int oy = 0; oy < g.OutH; oy++)
                    for (int ox = 0; ox < g.OutW; ox++)
                    {
                        int ci = co / multiplier;
                        float sum = bias[co];
                        for (int ky = 0; ky < kernel; ky++)
                            for (int kx = 0; kx < kernel; kx++)
                            {
                                int iy = oy * 2 - pad + ky * dilation, ix = ox * 2 - pad + kx * dilation;
                                float v = iy < 0 || iy >= height || ix < 0 || ix >= width ? 0f : x[((b * channels + ci) * height + iy) * width + ix];
                                float product = w[co * kernel * kernel + ky * kernel + kx] * v;
                                sum += product;
                            }
                        Assert.Equal(sum, y[((b * g.OutChannels + co) * g.OutH + oy) * g.OutW + ox]);
                    }
    }

    /// <summary>
    /// The convolution run over the padded input's pitch (rows of 7, 28, 56 pixels at stride 1; stride 2 and 3 over the
    /// input split into stride phases) gives every output exactly what the GEMM of the explicit im2col matrix gives,
    /// started from the bias: the same FMA chain over k per column, whichever columns around it are computed and dropped.
    /// With several k blocks, dilation, a batch of two, the residual-and-activation epilogue (added run by run as finished
    /// tiles are copied out) and the activation alone (over the whole tile before the copy). 14×14 (224 columns: three
    /// panels and a 32-wide one), 28×28 (840: a 16-wide last panel) and 10×12 (140: 16-wide) run their last panel packed
    /// through the narrow kernels; the 7×7 stride-2 case reads all four phases, the 1×1 one a single phase.
    /// </summary>
    [Theory]
    [InlineData(1, 16, 7, 7, 40, 3, 1, 1)]
    [InlineData(2, 5, 28, 28, 7, 3, 1, 1)]
    [InlineData(1, 9, 14, 14, 13, 3, 1, 1)]
    [InlineData(2, 6, 10, 12, 5, 3, 1, 1)]
    [InlineData(1, 3, 12, 56, 8, 3, 1, 1)]
    [InlineData(1, 40, 7, 7, 13, 3, 1, 1)]
    [InlineData(1, 4, 30, 30, 6, 3, 2, 1)]
    [InlineData(1, 5, 56, 56, 7, 3, 1, 2)]
    [InlineData(2, 3, 45, 51, 9, 7, 1, 2)]
    [InlineData(1, 6, 40, 34, 5, 1, 1, 2)]
    [InlineData(1, 4, 50, 50, 6, 3, 1, 3)]
    public void PitchedConvolutionEqualsTheIm2colGemmBitForBit(int batch, int cin, int h, int w, int cout, int kernel, int dilation, int stride)
    {
        if (!SimdLevels.IsSupported(SimdLevel.Vector512)) return;
        int pad = dilation * (kernel - 1) / 2;
        var g = new Conv2dGeometry(batch, cin, h, w, cout, kernel, kernel, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
            DilationH: dilation, DilationW: dilation);
        var kernels = new LinearKernels(SimdLevel.Vector512);
        Assert.True(kernels.ReadsOverPaddedPitch(g));
        var x = Random((int)g.InputLength, 21);
        var weight = Random((int)g.WeightLength, 22);
        var bias = Random(cout, 23);
        var residual = Random((int)g.OutputLength, 24);
        var y = new float[g.OutputLength];
        kernels.Conv2dForward(g, x, weight, bias, y);
        var fused = new float[g.OutputLength];
        kernels.Conv2dForward(g, x, weight, bias, residual, FusedActivation.Relu6, fused, null);
        var activated = new float[g.OutputLength];
        kernels.Conv2dForward(g, x, weight, bias, default, FusedActivation.Relu, activated, null);

        int k = cin * kernel * kernel, n = g.OutH * g.OutW;
        for (int b = 0; b < batch; b++)
        {
            var columns = new float[k * n];
            for (int row = 0; row < k; row++)
            {
                int ci = row / (kernel * kernel), ky = row / kernel % kernel, kx = row % kernel;
                for (int p = 0; p < n; p++)
                {
                    int iy = p / g.OutW * stride - pad + ky * dilation, ix = p % g.OutW * stride - pad + kx * dilation;
                    columns[row * n + p] = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0f : x[((b * cin + ci) * h + iy) * w + ix];
                }
            }
            var expected = new float[cout * n];
            for (int co = 0; co < cout; co++) Array.Fill(expected, bias[co], co * n, n);
            kernels.Gemm(false, false, cout, n, k, weight, k, columns, n, expected, n, accumulate: true);
            for (int i = 0; i < cout * n; i++)
            {
                Assert.Equal(expected[i], y[b * cout * n + i]);
                Assert.Equal(Math.Clamp(expected[i] + residual[b * cout * n + i], 0f, 6f), fused[b * cout * n + i]);
                Assert.Equal(Math.Max(expected[i], 0f), activated[b * cout * n + i]);
            }
        }
    }

    /// <summary>
    /// The driver cuts its units into a multiple of the thread count (no thread left idle for the last piece), never into
    /// more pieces than units, and into several per thread when there are many panel groups.
    /// </summary>
    [Theory]
    [InlineData(14, 2, 2)]
    [InlineData(13, 2, 2)]
    [InlineData(51, 2, 8)]
    [InlineData(8, 2, 2)]
    [InlineData(3, 2, 2)]
    [InlineData(1, 2, 1)]
    [InlineData(40, 3, 9)]
    public void GemmPiecesAreAMultipleOfTheThreads(long units, int threads, int expected)
    {
        Assert.Equal(expected, GemmDriver.Pieces(units, threads));
    }

    [Fact]
    public void GemmMatchesHandComputedProduct()
    {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]; accumulating onto 1 adds one to each entry.
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8];
        var c = new float[] { 1, 1, 1, 1 };
        CpuKernels.Instance.Gemm(false, false, 2, 2, 2, a, 2, b, 2, c, 2, accumulate: true);
        Assert.Equal(new float[] { 20, 23, 44, 51 }, c);
        CpuKernels.Instance.Gemm(true, false, 2, 2, 2, a, 2, b, 2, c, 2, accumulate: false);
        Assert.Equal(new float[] { 26, 30, 38, 44 }, c);
    }

    [Fact]
    public void GemmWithEmptyReductionClearsOrKeepsC()
    {
        var c = new float[] { 3, 4 };
        CpuKernels.Instance.Gemm(false, false, 1, 2, 0, [], 1, [], 2, c, 2, accumulate: true);
        Assert.Equal(new float[] { 3, 4 }, c);
        CpuKernels.Instance.Gemm(false, false, 1, 2, 0, [], 1, [], 2, c, 2, accumulate: false);
        Assert.Equal(new float[] { 0, 0 }, c);
    }

    /// <summary>Inputs and reference outputs of one conv case, computed once and shared by the SIMD levels.</summary>
    private sealed record ConvExpectation(float[] X, float[] W, float[] Bias, float[] Dy, float[] Y, float[] Dx, float[] Dw, float[] Dbias);

    private static readonly Lazy<ConvExpectation>[] ConvExpectations =
        Enumerable.Range(0, ConvCases.Length).Select(i => new Lazy<ConvExpectation>(() => Expect(i))).ToArray();

    private static ConvExpectation Expect(int caseIndex)
    {
        var (g, hasBias) = ConvCases[caseIndex];
        var x = Random((int)g.InputLength, 10 + caseIndex);
        var w = Random((int)g.WeightLength, 20 + caseIndex);
        var bias = hasBias ? Random(g.OutChannels, 30 + caseIndex) : [];
        var dy = Random((int)g.OutputLength, 40 + caseIndex);
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        var dbias = new float[bias.Length];
        ReferenceKernels.Instance.Conv2dForward(g, x, w, bias, y);
        ReferenceKernels.Instance.Conv2dBackwardInput(g, dy, w, dx);
        ReferenceKernels.Instance.Conv2dBackwardWeight(g, x, dy, dw, dbias);
        return new ConvExpectation(x, w, bias, dy, y, dx, dw, dbias);
    }

    [Theory]
    [MemberData(nameof(LevelsAndConvCases))]
    public void ConvolutionMatchesReference(string levelName, int caseIndex)
    {
        var level = Enum.Parse<SimdLevel>(levelName);
        var (g, hasBias) = ConvCases[caseIndex];
        var e = ConvExpectations[caseIndex].Value;
        var kernels = new LinearKernels(level);
        string what = $"{g} bias={hasBias} level={level}";

        // Outputs start as garbage: every element must be overwritten.
        var y = Random((int)g.OutputLength, 99);
        kernels.Conv2dForward(g, e.X, e.W, e.Bias, y);
        AssertClose(e.Y, y, "forward " + what);

        var dx = Random((int)g.InputLength, 98);
        kernels.Conv2dBackwardInput(g, e.Dy, e.W, dx);
        AssertClose(e.Dx, dx, "backward input " + what);

        var dw = Random((int)g.WeightLength, 97);
        var dbias = Random(e.Dbias.Length, 96);
        kernels.Conv2dBackwardWeight(g, e.X, e.Dy, dw, dbias);
        AssertClose(e.Dw, dw, "backward weight " + what);
        AssertClose(e.Dbias, dbias, "backward bias " + what);
    }

    public static TheoryData<string, int> LevelsAndSmallImageCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var level in Enum.GetValues<SimdLevel>())
            if (SimdLevels.IsSupported(level))
                for (int i = 0; i < SmallImageCases.Length; i++) data.Add(level.ToString(), i);
        return data;
    }

    /// <summary>Batches of images with fewer than 64 (forward, input gradient) or 256 (weight gradient) pixels, whose convolutions fold the batch into one GEMM.</summary>
    private static readonly Conv2dGeometry[] SmallImageCases =
    [
        new(Batch: 3, InChannels: 7, InH: 5, InW: 3, OutChannels: 13, KernelH: 3, KernelW: 3, PadH: 1, PadW: 1),
        new(4, 10, 4, 4, 9, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2),
        new(3, 8, 9, 7, 6, 3, 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 2),
        new(5, 12, 3, 5, 70, 1, 1),
        // 12 pixels × 40 images: k blocks and column panels both end inside an image.
        new(40, 5, 4, 3, 7, 3, 3, PadH: 1, PadW: 1),
        // Several slivers of A and a reduction over two k blocks in the input gradient.
        new(3, 20, 5, 5, 40, 3, 3, PadH: 1, PadW: 1),
        // Stride 2 without padding: input pixels past the last window get no gradient.
        new(3, 4, 7, 5, 6, 3, 3, StrideH: 2, StrideW: 2),
        // 16-pixel output rows: the per-image weight gradient gathers its panels in place.
        new(2, 3, 4, 16, 5, 3, 3, PadH: 1, PadW: 1),
    ];

    [Theory]
    [MemberData(nameof(LevelsAndSmallImageCases))]
    public void FoldedBatchConvolutionEqualsImageByImageBitForBit(string levelName, int caseIndex)
    {
        var level = Enum.Parse<SimdLevel>(levelName);
        var g = SmallImageCases[caseIndex];
        var x = Random((int)g.InputLength, 50 + caseIndex);
        var w = Random((int)g.WeightLength, 60 + caseIndex);
        var dy = Random((int)g.OutputLength, 70 + caseIndex);
        var bias = Random(g.OutChannels, 80 + caseIndex);
        var residual = Random((int)g.OutputLength, 90 + caseIndex);
        var folded = new LinearKernels(level);
        var imageByImage = new LinearKernels(level) { FoldsSmallImages = false };

        var yFolded = Random((int)g.OutputLength, 5);
        var yImages = Random((int)g.OutputLength, 6);
        folded.Conv2dForward(g, x, w, bias, yFolded);
        imageByImage.Conv2dForward(g, x, w, bias, yImages);
        Assert.Equal(yImages, yFolded);
        var y = new float[g.OutputLength];
        ReferenceKernels.Instance.Conv2dForward(g, x, w, bias, y);
        AssertClose(y, yFolded, $"forward {g} level={level}");

        folded.Conv2dForward(g, x, w, bias, residual, FusedActivation.Relu6, yFolded, null);
        imageByImage.Conv2dForward(g, x, w, bias, residual, FusedActivation.Relu6, yImages, null);
        Assert.Equal(yImages, yFolded);
        Assert.Contains(yFolded, v => v == 0f);

        var dxFolded = Random((int)g.InputLength, 1);
        var dxImages = Random((int)g.InputLength, 2);
        folded.Conv2dBackwardInput(g, dy, w, dxFolded);
        imageByImage.Conv2dBackwardInput(g, dy, w, dxImages);
        Assert.Equal(dxImages, dxFolded);

        var dwFolded = Random((int)g.WeightLength, 3);
        var dwImages = Random((int)g.WeightLength, 4);
        folded.Conv2dBackwardWeight(g, x, dy, dwFolded, []);
        imageByImage.Conv2dBackwardWeight(g, x, dy, dwImages, []);
        Assert.Equal(dwImages, dwFolded);

        // Equal to each other and to the reference: neither path dropped or repeated an image.
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        ReferenceKernels.Instance.Conv2dBackwardInput(g, dy, w, dx);
        ReferenceKernels.Instance.Conv2dBackwardWeight(g, x, dy, dw, []);
        AssertClose(dx, dxFolded, $"backward input {g} level={level}");
        AssertClose(dw, dwFolded, $"backward weight {g} level={level}");
    }

    [Fact]
    public void ConvolutionMatchesHandComputedValues()
    {
        // x = 1..9 in a 3 × 3 plane, w = [1 0; 0 −1]: y[i, j] = x[i, j] − x[i + 1, j + 1] = −4 everywhere, plus bias 0.5.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9], w = [1, 0, 0, -1];
        var g = new Conv2dGeometry(1, 1, 3, 3, 1, 2, 2);
        foreach (IKernels kernels in new IKernels[] { ReferenceKernels.Instance, CpuKernels.Instance })
        {
            var y = new float[4];
            kernels.Conv2dForward(g, x, w, [0.5f], y);
            Assert.Equal(new[] { -3.5f, -3.5f, -3.5f, -3.5f }, y);

            // With padding 1 the output is 4 × 4 and y[i, j] = x[i − 1, j − 1] − x[i, j] (zero outside).
            var padded = g with { PadH = 1, PadW = 1 };
            var yp = new float[16];
            kernels.Conv2dForward(padded, x, w, [], yp);
            Assert.Equal(-1f, yp[0]);
            Assert.Equal(-4f, yp[5]);
            Assert.Equal(9f, yp[15]);
            Assert.Equal(3f, yp[7]);

            // dx of the unpadded conv for dy = 1 everywhere: +1 where a 2 × 2 window starts, −1 where one ends.
            var dx = new float[9];
            kernels.Conv2dBackwardInput(g, [1, 1, 1, 1], w, dx);
            Assert.Equal(new float[] { 1, 1, 0, 1, 0, -1, 0, -1, -1 }, dx);

            // dw[ky, kx] = Σ over the 2 × 2 output of x shifted by (ky, kx): 1+2+4+5 = 12, 16, 24, 28; dbias = 4.
            var dw = new float[4];
            var db = new float[1];
            kernels.Conv2dBackwardWeight(g, x, [1, 1, 1, 1], dw, db);
            Assert.Equal(new float[] { 12, 16, 24, 28 }, dw);
            Assert.Equal(4f, db[0]);
        }
    }

    [Fact]
    public void RepeatedCallsAreBitIdentical()
    {
        // Large enough that the work is split over threads.
        var dense = new Conv2dGeometry(2, 32, 24, 40, 48, 3, 3, PadH: 1, PadW: 1);
        var depthwise = new Conv2dGeometry(2, 48, 24, 40, 96, 3, 3, PadH: 1, PadW: 1, Groups: 48);
        foreach (var g in new[] { dense, depthwise })
        {
            var x = Random((int)g.InputLength, 1);
            var w = Random((int)g.WeightLength, 2);
            var dy = Random((int)g.OutputLength, 3);
            float[] Run(int which)
            {
                var kernels = CpuKernels.Instance;
                switch (which)
                {
                    case 0:
                        var y = new float[g.OutputLength];
                        kernels.Conv2dForward(g, x, w, [], y);
                        return y;
                    case 1:
                        var dx = new float[g.InputLength];
                        kernels.Conv2dBackwardInput(g, dy, w, dx);
                        return dx;
                    default:
                        var dw = new float[g.WeightLength];
                        kernels.Conv2dBackwardWeight(g, x, dy, dw, []);
                        return dw;
                }
            }
            for (int which = 0; which < 3; which++)
                Assert.Equal(Run(which), Run(which));
        }

        const int m = 200, n = 300, k = 700;
        var a = Random(m * k, 4);
        var b = Random(k * n, 5);
        float[] Product()
        {
            var c = new float[m * n];
            CpuKernels.Instance.Gemm(false, true, m, n, k, a, k, b, k, c, n, accumulate: false);
            return c;
        }
        Assert.Equal(Product(), Product());
    }

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>Every element within 1e-4 of the largest reference magnitude (one missing or doubled term is far outside).</summary>
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = 1f;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-4f * scale))
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]} (tolerance {1e-4f * scale})");
        }
    }
}
