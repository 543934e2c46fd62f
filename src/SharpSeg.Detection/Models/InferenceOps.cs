using System.Numerics.Tensors;

namespace SharpSeg.Detection.Models;

/// <summary>
/// In-place epilogues for the detectors' inference paths: when no graph is recorded (<see cref="GradMode"/> disabled, as in
/// every <c>Predict</c>), a result that only its producer holds can take its activation, bias or channel gate where it lies
/// instead of in a fresh tensor, the way PyTorch's <c>inplace=True</c> layers (<c>nn.ReLU(inplace=True)</c> in torchvision's
/// heads) do. Each computes the same float operations as the out-of-place op it replaces, so results are bit-identical.
/// </summary>
internal static class InferenceOps
{
    // Elementwise loops split into this many floats per task, so two threads share a large map.
    private const int Chunk = 1 << 16;

    /// <summary>Whether the in-place paths may run: no graph is being recorded.</summary>
    public static bool Applies => !GradMode.IsEnabled;

    /// <summary>max(x, 0) in place, as <see cref="Tensor.Relu"/> computes it. Equivalent to <c>torch.relu_</c>.</summary>
    public static Tensor ReluInPlace(Tensor x)
    {
        var data = Writable(x, "ReluInPlace");
        if (!data.IsEmpty) TensorPrimitives.Max(data, 0f, data);
        return x;
    }

    /// <summary>min(max(x, 0), 6) in place, as <see cref="Tensor.Relu6"/> computes it. Equivalent to <c>F.relu6(x, inplace=True)</c>.</summary>
    public static Tensor Relu6InPlace(Tensor x)
    {
        var data = Writable(x, "Relu6InPlace");
        if (data.IsEmpty) return x;
        TensorPrimitives.Max(data, 0f, data);
        TensorPrimitives.Min(data, 6f, data);
        return x;
    }

    /// <summary>x / (1 + e^−x) in place, <see cref="Tensor.Silu"/>'s formula. Equivalent to <c>F.silu(x, inplace=True)</c>.</summary>
    public static Tensor SiluInPlace(Tensor x)
    {
        int length = Writable(x, "SiluInPlace").Length;
        Parallel.For(0, (length + Chunk - 1) / Chunk, new ParallelOptions { MaxDegreeOfParallelism = Engine.Threads }, c =>
        {
            var part = x.AsSpan().Slice(c * Chunk, Math.Min(Chunk, length - c * Chunk));
            for (int i = 0; i < part.Length; i++) part[i] /= 1f + MathF.Exp(-part[i]);
        });
        return x;
    }

    /// <summary>
    /// relu(y + bias[c]) in place for y [N, C, H, W], the two ops of a convolution's bias and a following ReLU in one
    /// pass. Equivalent to <c>torch.relu_(y.add_(bias[None, :, None, None]))</c>.
    /// </summary>
    public static Tensor AddBiasReluInPlace(Tensor y, Tensor bias)
    {
        var data = Writable(y, "AddBiasReluInPlace");
        if (y.Rank != 4 || bias.Rank != 1 || bias.Shape[0] != y.Shape[1])
            throw new ShapeMismatchException("AddBiasReluInPlace", $"bias {bias.Shape} must be [C] for output {y.Shape}");
        var b = bias.Contiguous().ToArray();
        int channels = y.Shape[1], plane = y.Shape[2] * y.Shape[3];
        for (int p = 0; p < y.Shape[0] * channels; p++)
        {
            var map = data.Slice(p * plane, plane);
            TensorPrimitives.Add(map, b[p % channels], map);
            TensorPrimitives.Max(map, 0f, map);
        }
        return y;
    }

    /// <summary>
    /// x[n, c, :, :] *= gate[n, c] in place for x [N, C, H, W] and gate [N, C, 1, 1]: a squeeze-and-excitation scaling
    /// without the broadcast product's new tensor. Equivalent to <c>x.mul_(gate)</c>.
    /// </summary>
    public static Tensor ScaleChannelsInPlace(Tensor x, Tensor gate)
    {
        var data = Writable(x, "ScaleChannelsInPlace");
        if (x.Rank != 4 || gate.Shape != new Shape(x.Shape[0], x.Shape[1], 1, 1))
            throw new ShapeMismatchException("ScaleChannelsInPlace", $"gate {gate.Shape} must be [{x.Shape[0]}, {x.Shape[1]}, 1, 1] for {x.Shape}");
        var g = gate.Contiguous().ToArray();
        int plane = x.Shape[2] * x.Shape[3];
        for (int p = 0; p < g.Length; p++)
        {
            var map = data.Slice(p * plane, plane);
            TensorPrimitives.Multiply(map, g[p], map);
        }
        return x;
    }

    /// <summary>
    /// target += nearest-upsampled <paramref name="coarse"/> in place, for maps [N, C, H, W] and [N, C, h, w] (h ≤ H, w ≤ W):
    /// the FPN's top-down merge without materialising the upsampled map. Source indices follow
    /// <c>Functional.Interpolate</c>'s nearest rule for an output size (⌊o·in/out⌋ in float32, exact for equal sizes
    /// and doubling). Equivalent to <c>target += F.interpolate(coarse, size=target.shape[-2:], mode="nearest")</c>.
    /// </summary>
    public static Tensor AddNearestUpsampledInPlace(Tensor target, Tensor coarse)
    {
        var data = Writable(target, "AddNearestUpsampledInPlace");
        if (target.Rank != 4 || coarse.Rank != 4 || coarse.Shape[0] != target.Shape[0] || coarse.Shape[1] != target.Shape[1])
            throw new ShapeMismatchException("AddNearestUpsampledInPlace", $"coarse map {coarse.Shape} does not fit target {target.Shape}");
        int outH = target.Shape[2], outW = target.Shape[3], inH = coarse.Shape[2], inW = coarse.Shape[3];
        var rows = NearestSources(inH, outH);
        var columns = NearestSources(inW, outW);
        var source = coarse.Contiguous().AsSpan();
        int planes = target.Shape[0] * target.Shape[1];
        for (int p = 0; p < planes; p++)
        {
            var from = source.Slice(p * inH * inW, inH * inW);
            var to = data.Slice(p * outH * outW, outH * outW);
            for (int y = 0; y < outH; y++)
            {
                var sourceRow = from.Slice(rows[y] * inW, inW);
                var row = to.Slice(y * outW, outW);
                for (int x = 0; x < outW; x++) row[x] += sourceRow[columns[x]];
            }
        }
        return target;
    }

    /// <summary>
    /// The source index of each of <paramref name="output"/> positions of a nearest resize from <paramref name="input"/>:
    /// torch's <c>nearest_idx</c> for an output size, with equal sizes and exact doubling short-cutting the float formula.
    /// </summary>
    public static int[] NearestSources(int input, int output)
    {
        var source = new int[output];
        float ratio = (float)input / output;
        for (int o = 0; o < output; o++)
            source[o] = output == input ? o : output == 2 * input ? o >> 1 : Math.Min((int)MathF.Floor(o * ratio), input - 1);
        return source;
    }

    // The elements of a dense float32 result that no graph holds, which an in-place op may overwrite.
    private static Span<float> Writable(Tensor x, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.RequiresGrad || !x.IsLeaf)
            throw new InvalidOperationException($"{op}: tensor {x.Shape} belongs to a recorded graph; in-place writes are for inference only.");
        return x.AsSpan();
    }
}
