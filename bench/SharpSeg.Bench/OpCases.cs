using System.Diagnostics;
using SharpSeg.Kernels;
using SharpSeg.Kernels.Cpu;

namespace SharpSeg.Bench;

/// <summary>What bounds an op: arithmetic (reported against peak FLOP/s) or memory traffic (against stream bandwidth).</summary>
internal enum Bound { Compute, Memory }

/// <summary>
/// One benchmarked op: <paramref name="Work"/> is FLOPs for compute-bound ops and bytes moved (each operand read or
/// written once) for memory-bound ones. <paramref name="Prepare"/> allocates and fills the operands once and returns the
/// action that is timed.
/// </summary>
internal sealed record OpCase(string Name, Bound Bound, double Work, Func<Action> Prepare)
{
    private const int WarmUps = 2;

    /// <summary>Timed runs per case; the best one is reported (the machine is shared, so the best is the least disturbed).</summary>
    public static int Trials { get; set; } = 5;

    public JsonLine Measure(MachineBounds machine)
    {
        var line = new JsonLine().Add("case", Name).Add("threads", machine.Threads);
        try
        {
            var run = Prepare();
            for (int i = 0; i < WarmUps; i++) run();
            double best = double.MaxValue;
            for (int trial = 0; trial < Trials; trial++)
            {
                var clock = Stopwatch.StartNew();
                run();
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            line.Add("ms", best * 1e3);
            if (Bound == Bound.Compute)
            {
                double gflops = Work / best / 1e9;
                line.Add("gflops", gflops, 1).Add("fraction", gflops / machine.PeakGflops);
            }
            else
            {
                double gbps = Work / best / 1e9;
                line.Add("gbps", gbps, 1).Add("fraction", gbps / machine.StreamGbps);
            }
        }
        catch (NotImplementedException)
        {
            line.Add("error", "not implemented");
        }
        return line.Add("load_average", MachineBounds.LoadAverage(), 2);
    }
}

/// <summary>The op cases of <c>SharpSeg.Bench ops</c>, all batch 1 unless named otherwise, through <see cref="CpuKernels.Instance"/>.</summary>
internal static class OpCases
{
    private static IKernels Kernels => CpuKernels.Instance;

    public static IEnumerable<OpCase> All()
    {
        yield return Gemm(1024, 1024, 1024);

        var conv3x3 = new Conv2dGeometry(1, 256, 64, 64, 256, 3, 3, PadH: 1, PadW: 1);
        yield return ConvForward("conv3x3_256_64x64_fwd", conv3x3);
        yield return ConvBackward("conv3x3_256_64x64_bwd", conv3x3);

        var conv3x3Wide = new Conv2dGeometry(1, 64, 128, 128, 64, 3, 3, PadH: 1, PadW: 1);
        yield return ConvForward("conv3x3_64_128x128_fwd", conv3x3Wide);
        yield return ConvBackward("conv3x3_64_128x128_bwd", conv3x3Wide);

        var conv1x1 = new Conv2dGeometry(1, 1024, 64, 64, 256, 1, 1);
        yield return ConvForward("conv1x1_1024to256_64x64_fwd", conv1x1);
        yield return ConvBackward("conv1x1_1024to256_64x64_bwd", conv1x1);

        var dilated = new Conv2dGeometry(1, 512, 64, 64, 512, 3, 3, PadH: 2, PadW: 2, DilationH: 2, DilationW: 2);
        yield return ConvForward("conv3x3_dil2_512_64x64_fwd", dilated);

        var depthwiseDeep = new Conv2dGeometry(1, 960, 32, 32, 960, 3, 3, PadH: 1, PadW: 1, Groups: 960);
        yield return DepthwiseForward("dwconv3x3_960_32x32_fwd", depthwiseDeep);
        yield return DepthwiseBackward("dwconv3x3_960_32x32_bwd", depthwiseDeep);

        var depthwiseWide = new Conv2dGeometry(1, 96, 128, 128, 96, 3, 3, PadH: 1, PadW: 1, Groups: 96);
        yield return DepthwiseForward("dwconv3x3_96_128x128_fwd", depthwiseWide);
        yield return DepthwiseBackward("dwconv3x3_96_128x128_bwd", depthwiseWide);

        yield return Bilinear(256, 64, 64, 256, 256);
        yield return BatchNormRelu(2, 256, 128 * 128);

        yield return new OpCase("r50_fc_2048to1000_x1", Bound.Compute, 2.0 * 2048 * 1000, () =>
        {
            // torch.nn.functional.linear at batch 1: x [1, 2048] times the [1000, 2048] weight read transposed.
            var x = Filled(2048, 1);
            var w = Filled(2048 * 1000, 2);
            var y = new float[1000];
            return () => Kernels.Gemm(false, true, 1, 1000, 2048, x, 2048, w, 2048, y, 1000, accumulate: false);
        });

        foreach (var (name, g, count) in ResNet50Convolutions())
        {
            yield return PreparedConvForward($"r50_{name}_x{count}", g, new LinearKernels(SimdLevels.Best));
            if (new LinearKernels(SimdLevels.Best).RunsAsPixelRows(g))
                yield return PreparedConvForward($"r50_{name}_x{count}_usual", g, new LinearKernels(SimdLevels.Best) { RunsSmallImagesAsPixelRows = false });
        }
    }

    /// <summary>
    /// Every distinct convolution of torchvision's ResNet-50 on one 224² image, with how often it occurs: a per-layer
    /// profile of <c>models --workload resnet50_224_infer</c>, the same list as <c>tools/profile_resnet50_layers_pytorch.py</c>.
    /// </summary>
    public static IEnumerable<(string Name, Conv2dGeometry Geometry, int Count)> ResNet50Convolutions()
    {
        yield return ("stem_7x7s2_3to64_224", new Conv2dGeometry(1, 3, 224, 224, 64, 7, 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3), 1);
        (int Planes, int Blocks, int InSize, int Stride)[] stages = [(64, 3, 56, 1), (128, 4, 56, 2), (256, 6, 28, 2), (512, 3, 14, 2)];
        int inChannels = 64;
        foreach (var (planes, blocks, inSize, stride) in stages)
        {
            int outSize = inSize / stride, wide = planes * 4;
            yield return ($"1x1_{inChannels}to{planes}_{inSize}", new Conv2dGeometry(1, inChannels, inSize, inSize, planes, 1, 1), 1);
            yield return ($"3x3s{stride}_{planes}_{inSize}", new Conv2dGeometry(1, planes, inSize, inSize, planes, 3, 3, StrideH: stride, StrideW: stride, PadH: 1, PadW: 1), 1);
            yield return ($"1x1s{stride}_{inChannels}to{wide}_{inSize}", new Conv2dGeometry(1, inChannels, inSize, inSize, wide, 1, 1, StrideH: stride, StrideW: stride), 1);
            yield return ($"1x1_{planes}to{wide}_{outSize}", new Conv2dGeometry(1, planes, outSize, outSize, wide, 1, 1), blocks);
            yield return ($"1x1_{wide}to{planes}_{outSize}", new Conv2dGeometry(1, wide, outSize, outSize, planes, 1, 1), blocks - 1);
            yield return ($"3x3_{planes}_{outSize}", new Conv2dGeometry(1, planes, outSize, outSize, planes, 3, 3, PadH: 1, PadW: 1), blocks - 1);
            inChannels = wide;
        }
    }

    /// <summary>An eval-mode convolution as a model runs it: weight prepared once, bias, ReLU in the epilogue.</summary>
    private static OpCase PreparedConvForward(string name, Conv2dGeometry g, LinearKernels kernels) => new(name, Bound.Compute, g.Flops, () =>
    {
        var x = Filled(g.InputLength, 1);
        var w = Filled(g.WeightLength, 2);
        var bias = Filled(g.OutChannels, 3);
        var y = new float[g.OutputLength];
        var prepared = new PackedConvWeight();
        prepared.Pack(g, w, channelPanels: kernels.RunsAsPixelRows(g));
        return () => kernels.Conv2dForward(g, x, w, bias, default, FusedActivation.Relu, y, prepared);
    });

    private static OpCase Gemm(int m, int n, int k) => new($"gemm_{m}x{n}x{k}", Bound.Compute, 2.0 * m * n * k, () =>
    {
        var a = Filled(m * k, 1);
        var b = Filled(k * n, 2);
        var c = new float[m * n];
        return () => Kernels.Gemm(false, false, m, n, k, a, k, b, n, c, n, accumulate: false);
    });

    private static OpCase ConvForward(string name, Conv2dGeometry g) => new(name, Bound.Compute, g.Flops, () =>
    {
        var x = Filled(g.InputLength, 1);
        var w = Filled(g.WeightLength, 2);
        var bias = Filled(g.OutChannels, 3);
        var y = new float[g.OutputLength];
        return () => Kernels.Conv2dForward(g, x, w, bias, y);
    });

    /// <summary>Input and weight gradients together: twice the forward FLOPs.</summary>
    private static OpCase ConvBackward(string name, Conv2dGeometry g) => new(name, Bound.Compute, 2 * g.Flops, () =>
    {
        var x = Filled(g.InputLength, 1);
        var w = Filled(g.WeightLength, 2);
        var dy = Filled(g.OutputLength, 3);
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        var dbias = new float[g.OutChannels];
        return () =>
        {
            Kernels.Conv2dBackwardInput(g, dy, w, dx);
            Kernels.Conv2dBackwardWeight(g, x, dy, dw, dbias);
        };
    });

    /// <summary>Bytes: read x and w, write y.</summary>
    private static OpCase DepthwiseForward(string name, Conv2dGeometry g) =>
        new(name, Bound.Memory, 4.0 * (g.InputLength + g.WeightLength + g.OutputLength), () =>
        {
            var x = Filled(g.InputLength, 1);
            var w = Filled(g.WeightLength, 2);
            var y = new float[g.OutputLength];
            return () => Kernels.Conv2dForward(g, x, w, [], y);
        });

    /// <summary>Bytes: input gradient reads dy and w and writes dx; weight gradient reads x and dy and writes dw.</summary>
    private static OpCase DepthwiseBackward(string name, Conv2dGeometry g) =>
        new(name, Bound.Memory, 4.0 * (2 * g.OutputLength + g.InputLength + g.InputLength + 2 * g.WeightLength), () =>
        {
            var x = Filled(g.InputLength, 1);
            var w = Filled(g.WeightLength, 2);
            var dy = Filled(g.OutputLength, 3);
            var dx = new float[g.InputLength];
            var dw = new float[g.WeightLength];
            return () =>
            {
                Kernels.Conv2dBackwardInput(g, dy, w, dx);
                Kernels.Conv2dBackwardWeight(g, x, dy, dw, []);
            };
        });

    /// <summary>Bytes: read the input planes, write the output planes.</summary>
    private static OpCase Bilinear(int planes, int inH, int inW, int outH, int outW) =>
        new($"bilinear_{planes}x{inH}x{inW}_to_{outH}x{outW}_fwd", Bound.Memory, 4.0 * planes * ((long)inH * inW + (long)outH * outW), () =>
        {
            var x = Filled((long)planes * inH * inW, 1);
            var y = new float[(long)planes * outH * outW];
            return () => Kernels.BilinearForward(planes, inH, inW, outH, outW, false, 0, 0, x, y);
        });

    /// <summary>Bytes: statistics read x once, normalisation reads x and writes y.</summary>
    private static OpCase BatchNormRelu(int batch, int channels, int plane) =>
        new($"batchnorm_relu_{batch}x{channels}x{plane}_fwd", Bound.Memory, 4.0 * 3 * batch * channels * (long)plane, () =>
        {
            var x = Filled((long)batch * channels * plane, 1);
            var y = new float[x.Length];
            var mean = new float[channels];
            var variance = new float[channels];
            var invStd = new float[channels];
            var gamma = Filled(channels, 2);
            var beta = Filled(channels, 3);
            return () =>
            {
                Kernels.ChannelMeanVar(batch, channels, plane, x, mean, variance);
                for (int c = 0; c < channels; c++) invStd[c] = 1f / MathF.Sqrt(variance[c] + 1e-5f);
                Kernels.ChannelNormalize(batch, channels, plane, x, mean, invStd, gamma, beta, true, y);
            };
        });

    private static float[] Filled(long length, int seed)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (long i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
