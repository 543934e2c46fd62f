using SharpSeg.Autograd;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>
/// Padding of the last one or two axes by index maps: output (i, j) reads input (rowMap[i], colMap[j]), or the
/// constant where a map says −1. The backward pass scatters through the same maps.
/// </summary>
internal static class Padding
{
    public static Tensor Pad(Tensor x, int[] pads, PadMode mode, float value)
    {
        const string op = "Pad";
        Check.Float(x, op, "input");
        Check.That(pads.Length is 2 or 4 && x.Rank >= pads.Length / 2, op,
            $"pads [{string.Join(", ", pads)}] must be (left, right) or (left, right, top, bottom) for input {x.Shape}");
        Check.That(pads.All(p => p >= 0), op, $"negative padding [{string.Join(", ", pads)}] is not supported; use Slice to crop");
        int h = pads.Length == 4 ? x.Shape[-2] : 1, w = x.Shape[-1];
        int top = pads.Length == 4 ? pads[2] : 0, bottom = pads.Length == 4 ? pads[3] : 0;
        if (mode == PadMode.Reflect)
            Check.That(pads[0] < w && pads[1] < w && top < h && bottom < h, op,
                $"reflect padding [{string.Join(", ", pads)}] must be smaller than the padded dimensions of {x.Shape}");
        if (mode == PadMode.Replicate) Check.That(x.Numel > 0, op, "cannot replicate-pad an empty tensor");

        var rowMap = IndexMap(h, top, bottom, mode);
        var colMap = IndexMap(w, pads[0], pads[1], mode);
        var dims = x.Shape.ToArray();
        dims[^1] = colMap.Length;
        if (pads.Length == 4) dims[^2] = rowMap.Length;
        var y = NewFloat(new Shape(dims));
        int planes = (int)(x.Numel / ((long)h * w));
        var src = Dense(x).Data;
        var dst = y.Data;
        int outH = rowMap.Length, outW = colMap.Length;
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < outH; i++)
            {
                int r = rowMap[i];
                var row = dst.Slice((p * outH + i) * outW, outW);
                if (r < 0)
                {
                    row.Fill(value);
                    continue;
                }
                var srcRow = src.Slice((p * h + r) * w, w);
                for (int j = 0; j < outW; j++) row[j] = colMap[j] < 0 ? value : srcRow[colMap[j]];
            }
        if (GradMode.ShouldRecord(x)) y.AttachGradFn(new PadFn(x, rowMap, colMap, h, w));
        return y;
    }

    private static int[] IndexMap(int size, int before, int after, PadMode mode)
    {
        var map = new int[before + size + after];
        for (int i = 0; i < map.Length; i++)
        {
            int s = i - before;
            map[i] = mode switch
            {
                PadMode.Constant => s >= 0 && s < size ? s : -1,
                PadMode.Replicate => Math.Clamp(s, 0, size - 1),
                _ => s < 0 ? -s : s >= size ? 2 * (size - 1) - s : s,
            };
        }
        return map;
    }
}

internal sealed class PadFn(Tensor x, int[] rowMap, int[] colMap, int h, int w) : GradFn("Pad", keepInputs: false, x)
{
    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = Tensor.Zeros(InputShape(0));
        var d = dx.Data;
        var g = Dense(grad).Data;
        int outH = rowMap.Length, outW = colMap.Length;
        int planes = (int)(dx.Numel / ((long)h * w));
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < outH; i++)
            {
                int r = rowMap[i];
                if (r < 0) continue;
                for (int j = 0; j < outW; j++)
                    if (colMap[j] >= 0) d[(p * h + r) * w + colMap[j]] += g[(p * outH + i) * outW + j];
            }
        return [dx];
    }
}
