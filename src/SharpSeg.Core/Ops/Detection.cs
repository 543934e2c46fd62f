using SharpSeg.Autograd;
using SharpSeg.Kernels;
using static SharpSeg.Ops.Backend;

namespace SharpSeg.Ops;

/// <summary>Box geometry, non-maximum suppression and RoIAlign: the ops of <c>torchvision.ops</c> that detection heads need.</summary>
internal static class Detection
{
    public static Tensor BoxArea(Tensor boxes)
    {
        var b = Boxes(boxes, "BoxArea", "boxes");
        var area = NewFloat(new Shape(boxes.Shape[0]));
        var a = area.Data;
        for (int i = 0; i < a.Length; i++) a[i] = (b[i * 4 + 2] - b[i * 4]) * (b[i * 4 + 3] - b[i * 4 + 1]);
        return area;
    }

    public static Tensor BoxIou(Tensor boxes1, Tensor boxes2)
    {
        var b1 = Boxes(boxes1, "BoxIou", "boxes1");
        var b2 = Boxes(boxes2, "BoxIou", "boxes2");
        int n = boxes1.Shape[0], m = boxes2.Shape[0];
        var area1 = BoxArea(boxes1).Data;
        var area2 = BoxArea(boxes2).Data;
        var iou = NewFloat(new Shape(n, m));
        var o = iou.Data;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                float w = MathF.Max(MathF.Min(b1[i * 4 + 2], b2[j * 4 + 2]) - MathF.Max(b1[i * 4], b2[j * 4]), 0f);
                float h = MathF.Max(MathF.Min(b1[i * 4 + 3], b2[j * 4 + 3]) - MathF.Max(b1[i * 4 + 1], b2[j * 4 + 1]), 0f);
                float inter = w * h;
                o[i * m + j] = inter / (area1[i] + area2[j] - inter);
            }
        return iou;
    }

    public static Tensor ClipBoxesToImage(Tensor boxes, int height, int width)
    {
        const string op = "ClipBoxesToImage";
        Check.Float(boxes, op, "boxes");
        Check.That(boxes.Rank >= 1 && boxes.Shape[boxes.Rank - 1] == 4, op, $"boxes must be [..., 4], got {boxes.Shape}");
        Check.That(height >= 0 && width >= 0, op, $"image size ({height}, {width}) must not be negative");
        var src = Dense(boxes).Data;
        var clipped = NewFloat(boxes.Shape);
        var dst = clipped.Data;
        for (int i = 0; i < src.Length; i++)
            dst[i] = Math.Clamp(src[i], 0f, (i & 1) == 0 ? width : height);
        return clipped;
    }

    public static Tensor RemoveSmallBoxes(Tensor boxes, float minSize)
    {
        var b = Boxes(boxes, "RemoveSmallBoxes", "boxes");
        var keep = new List<long>();
        for (int i = 0; i < boxes.Shape[0]; i++)
            if (b[i * 4 + 2] - b[i * 4] >= minSize && b[i * 4 + 3] - b[i * 4 + 1] >= minSize) keep.Add(i);
        return Tensor.FromArray([.. keep], keep.Count);
    }

    public static Tensor Nms(Tensor boxes, Tensor scores, Tensor? classes, float iouThreshold)
    {
        string op = classes is null ? "Nms" : "BatchedNms";
        var b = Boxes(boxes, op, "boxes");
        Check.Float(scores, op, "scores");
        int n = boxes.Shape[0];
        Check.That(scores.Rank == 1 && scores.Shape[0] == n, op, $"scores {scores.Shape} must be [{n}] for boxes {boxes.Shape}");
        long[] ids = [];
        if (classes is not null)
        {
            Check.That(classes.DType != DType.Float32, op, $"class indices must be integers, got {classes.DType.Name()}");
            Check.That(classes.Rank == 1 && classes.Shape[0] == n, op, $"class indices {classes.Shape} must be [{n}] for boxes {boxes.Shape}");
            ids = classes.To(DType.Int64).ToArray<long>();
        }
        var kept = DetectionKernels.Nms(b, Dense(scores).Data, ids, classes is not null, iouThreshold);
        return Tensor.FromArray(kept, kept.Length);
    }

    public static Tensor RoiAlign(Tensor input, Tensor rois, Size2 outputSize, float spatialScale, int samplingRatio, bool aligned)
    {
        const string op = "RoiAlign";
        Check.Float(input, op, "input");
        Check.Rank(input, 4, op, "input");
        Check.Float(rois, op, "rois");
        Check.That(rois.Rank == 2 && rois.Shape[1] == 5, op, $"rois must be [K, 5] rows of (batch index, x1, y1, x2, y2), got {rois.Shape}");
        Check.That(outputSize.H > 0 && outputSize.W > 0, op, $"output size ({outputSize.H}, {outputSize.W}) must be positive");
        var r = Dense(rois).Data;
        int batch = input.Shape[0];
        for (int k = 0; k < rois.Shape[0]; k++)
        {
            float image = r[k * 5];
            Check.That(image >= 0 && image < batch && image == MathF.Floor(image), op,
                $"roi {k} names batch index {image}, but input {input.Shape} has images 0..{batch - 1}");
        }
        var g = new RoiAlignGeometry(batch, input.Shape[1], input.Shape[2], input.Shape[3], rois.Shape[0], outputSize.H, outputSize.W,
            spatialScale, samplingRatio, aligned);
        var taps = DetectionKernels.RoiAlignTaps(g, r);
        var y = NewFloat(new Shape(g.Rois, g.Channels, g.PooledH, g.PooledW));
        DetectionKernels.RoiAlignForward(g, taps, Dense(input).Data, y.Data);
        if (GradMode.ShouldRecord(input)) y.AttachGradFn(new RoiAlignFn(g, taps, input));
        return y;
    }

    public static Tensor MultiLevelRoiAlign(IReadOnlyList<Tensor> features, Tensor rois, int[] levels, float[] scales, Size2 outputSize, int samplingRatio, bool aligned)
    {
        const string op = "MultiScaleRoiAlign";
        Check.That(features.Count > 0 && scales.Length == features.Count, op, $"{features.Count} feature maps need as many scales, got {scales.Length}");
        Check.That(rois.Rank == 2 && rois.Shape[1] == 5 && levels.Length == rois.Shape[0], op,
            $"rois {rois.Shape} must be [K, 5] with one level each, got {levels.Length} levels");
        int channels = features[0].Shape[1];
        foreach (var f in features)
        {
            Check.Rank(f, 4, op, "feature map");
            Check.That(f.Shape[1] == channels && f.Shape[0] == features[0].Shape[0], op, $"feature maps {features[0].Shape} and {f.Shape} differ in batch or channels");
        }
        Check.That(levels.All(l => l >= 0 && l < features.Count), op, $"every level must be in [0, {features.Count})");
        foreach (var f in features) Check.Float(f, op, "feature map");
        Check.Float(rois, op, "rois");
        Check.That(outputSize.H > 0 && outputSize.W > 0, op, $"output size ({outputSize.H}, {outputSize.W}) must be positive");
        var all = Dense(rois).Data;
        int batch = features[0].Shape[0];
        for (int k = 0; k < rois.Shape[0]; k++)
        {
            float image = all[k * 5];
            Check.That(image >= 0 && image < batch && image == MathF.Floor(image), op,
                $"roi {k} names batch index {image}, but the feature maps have images 0..{batch - 1}");
        }

        // Each level pools its own RoIs straight into their rows of the one output; every row belongs to exactly one
        // level, so the output needs no zeroing and no per-level copy. The taps are kept only for a backward pass.
        var y = NewFloat(new Shape(rois.Shape[0], channels, outputSize.H, outputSize.W));
        bool record = GradMode.ShouldRecord([.. features]);
        var rowsPerLevel = new int[features.Count][];
        var tapsPerLevel = new (RoiAlignGeometry Geometry, RoiTaps[] Taps)[features.Count];
        for (int l = 0; l < features.Count; l++)
        {
            var rows = Enumerable.Range(0, levels.Length).Where(k => levels[k] == l).ToArray();
            var subset = new float[rows.Length * 5];
            for (int i = 0; i < rows.Length; i++) all.Slice(rows[i] * 5, 5).CopyTo(subset.AsSpan(i * 5, 5));
            var f = features[l];
            var g = new RoiAlignGeometry(f.Shape[0], channels, f.Shape[2], f.Shape[3], rows.Length, outputSize.H, outputSize.W, scales[l], samplingRatio, aligned);
            var taps = DetectionKernels.RoiAlignTaps(g, subset);
            DetectionKernels.RoiAlignForward(g, taps, Dense(f).Data, y.Data, rows);
            rowsPerLevel[l] = rows;
            if (record) tapsPerLevel[l] = (g, taps);
        }
        if (record) y.AttachGradFn(new MultiLevelRoiAlignFn(tapsPerLevel, rowsPerLevel, outputSize.H * outputSize.W * channels, [.. features]));
        return y;
    }

    /// <summary>torchvision's <c>convert_boxes_to_roi_format</c>: per-image [Ki, 4] boxes become [ΣKi, 5] rows led by the image index.</summary>
    public static Tensor BoxesToRois(IReadOnlyList<Tensor> boxesPerImage)
    {
        int total = 0;
        for (int i = 0; i < boxesPerImage.Count; i++)
        {
            Boxes(boxesPerImage[i], "RoiAlign", $"boxes of image {i}");
            total += boxesPerImage[i].Shape[0];
        }
        var rois = NewFloat(new Shape(total, 5));
        var dst = rois.Data;
        int row = 0;
        for (int i = 0; i < boxesPerImage.Count; i++)
        {
            var src = Dense(boxesPerImage[i]).Data;
            for (int k = 0; k < boxesPerImage[i].Shape[0]; k++, row++)
            {
                dst[row * 5] = i;
                src.Slice(k * 4, 4).CopyTo(dst.Slice(row * 5 + 1, 4));
            }
        }
        return rois;
    }

    private static Span<float> Boxes(Tensor boxes, string op, string name)
    {
        Check.Float(boxes, op, name);
        Check.That(boxes.Rank == 2 && boxes.Shape[1] == 4, op, $"{name} must be [N, 4] as (x1, y1, x2, y2), got {boxes.Shape}");
        return Dense(boxes).Data;
    }
}

internal sealed class RoiAlignFn(RoiAlignGeometry g, RoiTaps[] taps, Tensor input) : GradFn("RoiAlign", keepInputs: false, input)
{
    private RoiTaps[]? _taps = taps;

    public override Tensor?[] Backward(Tensor grad)
    {
        var dx = Tensor.Zeros(InputShape(0));
        DetectionKernels.RoiAlignBackward(g, _taps!, Dense(grad).Data, dx.Data);
        return [dx];
    }

    public override void Release()
    {
        base.Release();
        _taps = null;
    }
}

internal sealed class MultiLevelRoiAlignFn((RoiAlignGeometry Geometry, RoiTaps[] Taps)[] levels, int[][] rows, int bin, Tensor[] features)
    : GradFn("MultiScaleRoiAlign", keepInputs: false, features)
{
    private (RoiAlignGeometry Geometry, RoiTaps[] Taps)[]? _levels = levels;

    public override Tensor?[] Backward(Tensor grad)
    {
        var g = Dense(grad).Data;
        var grads = new Tensor?[_levels!.Length];
        for (int l = 0; l < grads.Length; l++)
        {
            if (!InputRequiresGrad(l)) continue;
            var levelGrad = new float[rows[l].Length * bin];
            for (int i = 0; i < rows[l].Length; i++) g.Slice(rows[l][i] * bin, bin).CopyTo(levelGrad.AsSpan(i * bin, bin));
            var dx = Tensor.Zeros(InputShape(l));
            DetectionKernels.RoiAlignBackward(_levels[l].Geometry, _levels[l].Taps, levelGrad, dx.Data);
            grads[l] = dx;
        }
        return grads;
    }

    public override void Release()
    {
        base.Release();
        _levels = null;
    }
}
