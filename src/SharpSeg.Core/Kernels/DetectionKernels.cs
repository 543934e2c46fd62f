namespace SharpSeg.Kernels;

/// <summary>
/// Shapes of one RoIAlign call: input <c>[Batch, Channels, Height, Width]</c>, <c>Rois</c> rows of
/// (batch index, x1, y1, x2, y2) in input-image coordinates, output <c>[Rois, Channels, PooledH, PooledW]</c>.
/// Semantics of <c>torchvision.ops.roi_align</c>.
/// </summary>
internal readonly record struct RoiAlignGeometry(
    int Batch, int Channels, int Height, int Width, int Rois, int PooledH, int PooledW,
    float SpatialScale, int SamplingRatio, bool Aligned)
{
    public long InputPlane => (long)Height * Width;

    public long OutputPlane => (long)PooledH * PooledW;
}

/// <summary>
/// The bilinear taps of every sampling point of one RoI, in (bin row, bin column, sample row, sample column) order:
/// four plane offsets and four weights per point. A point outside [−1, size] on either axis has zero weights (and
/// offsets 0), so it adds nothing forward or backward (torchvision's boundary rule).
/// </summary>
internal sealed class RoiTaps(int points)
{
    public readonly int[] Offsets = new int[points * 4];
    public readonly float[] Weights = new float[points * 4];

    /// <summary>Sampling points per output bin.</summary>
    public int PerBin;

    /// <summary>The divisor of the bin average: max(grid rows · grid columns, 1).</summary>
    public float Count;

    /// <summary>Which image of the batch the RoI reads.</summary>
    public int Image;
}

/// <summary>Plain loops for the detection ops (RoIAlign, NMS). Nothing here knows about autograd.</summary>
internal static class DetectionKernels
{
    /// <summary>
    /// The sampling points of every RoI with torchvision's rules: coordinates scaled by <c>spatial_scale</c> and shifted by
    /// −0.5 when aligned; unaligned RoIs are at least 1×1; a sampling ratio ≤ 0 takes ceil(roi size / pooled size) points
    /// per bin on each axis. All arithmetic is float32, in torchvision's order, so results match it to rounding.
    /// </summary>
    public static RoiTaps[] RoiAlignTaps(in RoiAlignGeometry g, ReadOnlySpan<float> rois)
    {
        var taps = new RoiTaps[g.Rois];
        float offset = g.Aligned ? 0.5f : 0f;
        for (int r = 0; r < g.Rois; r++)
        {
            var roi = rois.Slice(r * 5, 5);
            float startW = roi[1] * g.SpatialScale - offset, startH = roi[2] * g.SpatialScale - offset;
            float endW = roi[3] * g.SpatialScale - offset, endH = roi[4] * g.SpatialScale - offset;
            float roiW = endW - startW, roiH = endH - startH;
            if (!g.Aligned)
            {
                roiW = MathF.Max(roiW, 1f);
                roiH = MathF.Max(roiH, 1f);
            }
            float binH = roiH / g.PooledH, binW = roiW / g.PooledW;
            int gridH = g.SamplingRatio > 0 ? g.SamplingRatio : (int)MathF.Ceiling(roiH / g.PooledH);
            int gridW = g.SamplingRatio > 0 ? g.SamplingRatio : (int)MathF.Ceiling(roiW / g.PooledW);
            gridH = Math.Max(gridH, 0);
            gridW = Math.Max(gridW, 0);
            var t = new RoiTaps(g.PooledH * g.PooledW * gridH * gridW)
            {
                PerBin = gridH * gridW,
                Count = Math.Max(gridH * gridW, 1),
                Image = (int)roi[0],
            };
            int point = 0;
            for (int ph = 0; ph < g.PooledH; ph++)
                for (int pw = 0; pw < g.PooledW; pw++)
                    for (int iy = 0; iy < gridH; iy++)
                    {
                        float y = startH + ph * binH + (iy + .5f) * binH / gridH;
                        for (int ix = 0; ix < gridW; ix++, point++)
                        {
                            float x = startW + pw * binW + (ix + .5f) * binW / gridW;
                            BilinearTap(g.Height, g.Width, y, x, t.Offsets.AsSpan(point * 4, 4), t.Weights.AsSpan(point * 4, 4));
                        }
                    }
            taps[r] = t;
        }
        return taps;
    }

    // torchvision's bilinear_interpolate: a point up to one pixel outside the map is clamped onto its edge, further out it reads nothing.
    private static void BilinearTap(int height, int width, float y, float x, Span<int> offsets, Span<float> weights)
    {
        if (y < -1f || y > height || x < -1f || x > width)
        {
            offsets.Clear();
            weights.Clear();
            return;
        }
        if (y <= 0) y = 0;
        if (x <= 0) x = 0;
        int yLow = (int)y, xLow = (int)x, yHigh, xHigh;
        if (yLow >= height - 1)
        {
            yHigh = yLow = height - 1;
            y = yLow;
        }
        else yHigh = yLow + 1;
        if (xLow >= width - 1)
        {
            xHigh = xLow = width - 1;
            x = xLow;
        }
        else xHigh = xLow + 1;
        float ly = y - yLow, lx = x - xLow, hy = 1f - ly, hx = 1f - lx;
        offsets[0] = yLow * width + xLow;
        offsets[1] = yLow * width + xHigh;
        offsets[2] = yHigh * width + xLow;
        offsets[3] = yHigh * width + xHigh;
        weights[0] = hy * hx;
        weights[1] = hy * lx;
        weights[2] = ly * hx;
        weights[3] = ly * lx;
    }

    /// <summary>
    /// Each output bin is the mean of its sampling points' bilinear values; RoIs run in parallel. RoI r is written to output
    /// row <paramref name="outputRows"/>[r] when given (the multi-level op writes each level's RoIs straight into the shared
    /// output), else to row r.
    /// </summary>
    public static unsafe void RoiAlignForward(RoiAlignGeometry g, RoiTaps[] taps, ReadOnlySpan<float> input, Span<float> output, int[]? outputRows = null)
    {
        fixed (float* px = input, py = output)
        {
            nint xp = (nint)px, yp = (nint)py;
            Parallelism.ForRange(g.Rois, 1, (s, e) =>
            {
                int bins = (int)g.OutputPlane;
                for (long r = s; r < e; r++)
                {
                    var t = taps[r];
                    long row = outputRows is null ? r : outputRows[r];
                    int tapsPerBin = t.PerBin * 4;
                    float count = t.Count;
                    fixed (float* weights = t.Weights)
                    fixed (int* offsets = t.Offsets)
                    {
                        for (int c = 0; c < g.Channels; c++)
                        {
                            float* plane = (float*)xp + ((long)t.Image * g.Channels + c) * g.InputPlane;
                            float* bin = (float*)yp + (row * g.Channels + c) * g.OutputPlane;
                            float* w = weights;
                            int* o = offsets;
                            for (int b = 0; b < bins; b++)
                            {
                                float sum = 0f;
                                for (int p = 0; p < tapsPerBin; p += 4, w += 4, o += 4)
                                    sum += w[0] * plane[o[0]] + w[1] * plane[o[1]] + w[2] * plane[o[2]] + w[3] * plane[o[3]];
                                bin[b] = sum / count;
                            }
                        }
                    }
                }
            });
        }
    }

    /// <summary>
    /// Scatters each bin's gradient / count onto the four taps of its sampling points (the adjoint of the forward).
    /// <paramref name="dInput"/> must be zeroed; channels run in parallel, so no two threads write the same element.
    /// </summary>
    public static unsafe void RoiAlignBackward(RoiAlignGeometry g, RoiTaps[] taps, ReadOnlySpan<float> dOutput, Span<float> dInput)
    {
        fixed (float* pdy = dOutput, pdx = dInput)
        {
            nint dyp = (nint)pdy, dxp = (nint)pdx;
            Parallelism.ForRange(g.Channels, 1, (s, e) =>
            {
                for (long c = s; c < e; c++)
                    for (int r = 0; r < g.Rois; r++)
                    {
                        var t = taps[r];
                        float* plane = (float*)dxp + (t.Image * g.Channels + c) * g.InputPlane;
                        float* bin = (float*)dyp + (r * g.Channels + c) * g.OutputPlane;
                        for (int b = 0; b < (int)g.OutputPlane; b++)
                        {
                            float share = bin[b] / t.Count;
                            for (int p = b * t.PerBin * 4, end = p + t.PerBin * 4; p < end; p += 4)
                            {
                                plane[t.Offsets[p]] += share * t.Weights[p];
                                plane[t.Offsets[p + 1]] += share * t.Weights[p + 1];
                                plane[t.Offsets[p + 2]] += share * t.Weights[p + 2];
                                plane[t.Offsets[p + 3]] += share * t.Weights[p + 3];
                            }
                        }
                    }
            });
        }
    }

    /// <summary>
    /// Greedy NMS: visits boxes by score, descending and stable (equal scores keep input order), keeps a box unless a
    /// kept box of the same class overlaps it with IoU strictly greater than the threshold. Returns kept indices in visit order.
    /// A null <paramref name="classes"/> puts every box in one class.
    /// </summary>
    public static long[] Nms(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, ReadOnlySpan<long> classes, bool byClass, float iouThreshold)
    {
        int n = scores.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = scores.ToArray();
        // Array.Sort is unstable; ordering by (score desc, index asc) makes it stable as torch's sort(stable=True).
        Array.Sort(order, (a, b) =>
        {
            int byScore = keys[b].CompareTo(keys[a]);
            return byScore != 0 ? byScore : a.CompareTo(b);
        });
        var areas = new float[n];
        for (int i = 0; i < n; i++) areas[i] = (boxes[i * 4 + 2] - boxes[i * 4]) * (boxes[i * 4 + 3] - boxes[i * 4 + 1]);
        var suppressed = new bool[n];
        var kept = new List<long>();
        for (int oi = 0; oi < n; oi++)
        {
            int i = order[oi];
            if (suppressed[i]) continue;
            kept.Add(i);
            float ix1 = boxes[i * 4], iy1 = boxes[i * 4 + 1], ix2 = boxes[i * 4 + 2], iy2 = boxes[i * 4 + 3];
            for (int oj = oi + 1; oj < n; oj++)
            {
                int j = order[oj];
                if (suppressed[j] || (byClass && classes[j] != classes[i])) continue;
                float w = MathF.Max(0f, MathF.Min(ix2, boxes[j * 4 + 2]) - MathF.Max(ix1, boxes[j * 4]));
                float h = MathF.Max(0f, MathF.Min(iy2, boxes[j * 4 + 3]) - MathF.Max(iy1, boxes[j * 4 + 1]));
                float inter = w * h;
                float iou = inter / (areas[i] + areas[j] - inter);
                if (iou > iouThreshold) suppressed[j] = true;
            }
        }
        return [.. kept];
    }
}
