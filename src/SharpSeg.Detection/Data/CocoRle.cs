using System.Text;

namespace SharpSeg.Detection.Data;

/// <summary>
/// A binary mask as COCO's run-length encoding: <see cref="Counts"/> alternate runs of 0s and 1s (starting with 0s)
/// over the pixels in column-major order (down each column, then the next column), as the COCO API stores masks.
/// Equivalent to a <c>pycocotools.mask</c> RLE object (<c>{"size": [h, w], "counts": …}</c>); every operation follows
/// the COCO API's <c>maskApi.c</c> rules so results equal <c>pycocotools</c>' bit for bit.
/// </summary>
public sealed class CocoRle
{
    /// <summary>Wraps run lengths; they must add up to <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <exception cref="ArgumentException">The counts do not cover the mask exactly.</exception>
    public CocoRle(int height, int width, uint[] counts)
    {
        if (height < 0 || width < 0)
            throw new ArgumentException($"RLE size must not be negative, got {height}×{width}.");
        ArgumentNullException.ThrowIfNull(counts);
        ulong total = 0;
        foreach (uint count in counts)
            total += count;
        if (total != (ulong)height * (ulong)width)
            throw new ArgumentException(
                $"RLE counts add up to {total} pixels but the mask is {height}×{width} = {(ulong)height * (ulong)width} pixels.");
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>Mask rows (COCO's <c>size[0]</c>).</summary>
    public int Height { get; }

    /// <summary>Mask columns (COCO's <c>size[1]</c>).</summary>
    public int Width { get; }

    /// <summary>Run lengths, first a run of 0s (possibly empty), then alternately 1s and 0s, column-major.</summary>
    public uint[] Counts { get; }

    /// <summary>Pixels set to 1. Equivalent to <c>pycocotools.mask.area</c>.</summary>
    public long Area
    {
        get
        {
            long area = 0;
            for (int j = 1; j < Counts.Length; j += 2)
                area += Counts[j];
            return area;
        }
    }

    /// <summary>
    /// Encodes a row-major H×W mask (any non-zero byte is foreground). Equivalent to
    /// <c>pycocotools.mask.encode(np.asfortranarray(mask))</c>.
    /// </summary>
    public static CocoRle Encode(ReadOnlySpan<byte> mask, int height, int width)
    {
        if (mask.Length != height * width)
            throw new ArgumentException($"RLE encode: mask has {mask.Length} pixels but {height}×{width} = {height * width} were declared.");
        var counts = new List<uint>();
        bool current = false;
        uint run = 0;
        for (int x = 0; x < width; x++)
            for (int y = 0; y < height; y++)
            {
                bool value = mask[y * width + x] != 0;
                if (value != current)
                {
                    counts.Add(run);
                    run = 0;
                    current = value;
                }
                run++;
            }
        counts.Add(run);
        return new CocoRle(height, width, [.. counts]);
    }

    /// <summary>The row-major H×W mask of 0s and 1s. Equivalent to <c>pycocotools.mask.decode</c>.</summary>
    public byte[] Decode()
    {
        var mask = new byte[Height * Width];
        int position = 0;
        byte value = 0;
        foreach (uint count in Counts)
        {
            if (value == 1)
                for (int p = position; p < position + (int)count; p++)
                    mask[p % Height * Width + p / Height] = 1;
            position += (int)count;
            value ^= 1;
        }
        return mask;
    }

    /// <summary>
    /// The compressed string form of the counts (COCO's LEB128-like code, 6 bits per character in ASCII 48–111, counts
    /// from the fourth on stored as differences to the count two before). Equivalent to the <c>counts</c> string that
    /// <c>pycocotools.mask.encode</c> returns.
    /// </summary>
    public string ToCompressedString()
    {
        var text = new StringBuilder(Counts.Length * 2);
        for (int i = 0; i < Counts.Length; i++)
        {
            long x = Counts[i];
            if (i > 2)
                x -= Counts[i - 2];
            bool more = true;
            while (more)
            {
                int chunk = (int)(x & 0x1f);
                x >>= 5;
                // The fifth bit of the last chunk carries the sign, so a chunk ends the number once the rest is pure sign.
                more = (chunk & 0x10) != 0 ? x != -1 : x != 0;
                if (more)
                    chunk |= 0x20;
                text.Append((char)(chunk + 48));
            }
        }
        return text.ToString();
    }

    /// <summary>Decodes a compressed counts string (COCO's <c>rleFrString</c>).</summary>
    /// <exception cref="FormatException">A character is outside ASCII 48–111, the string ends inside a number, or the
    /// counts do not add up to the mask size.</exception>
    public static CocoRle FromCompressedString(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        var values = new List<uint>(counts.Length);
        int p = 0;
        while (p < counts.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= counts.Length)
                    throw new FormatException($"Compressed RLE string ends inside a number at character {p}.");
                int chunk = counts[p] - 48;
                if (chunk is < 0 or > 63)
                    throw new FormatException($"Compressed RLE string has character '{counts[p]}' at {p}; only ASCII 48–111 is allowed.");
                if (k > 12)
                    throw new FormatException($"Compressed RLE string has a number longer than 13 characters ending at {p}.");
                x |= (long)(chunk & 0x1f) << (5 * k);
                more = (chunk & 0x20) != 0;
                p++;
                k++;
                if (!more && (chunk & 0x10) != 0)
                    x |= -1L << (5 * k);
            }
            if (values.Count > 2)
                x += values[^2];
            if (x is < 0 or > uint.MaxValue)
                throw new FormatException($"Compressed RLE string decodes to run length {x} (run {values.Count}), outside 0…{uint.MaxValue}.");
            values.Add((uint)x);
        }
        try
        {
            return new CocoRle(height, width, [.. values]);
        }
        catch (ArgumentException e)
        {
            throw new FormatException(e.Message, e);
        }
    }

    /// <summary>
    /// Rasterises one polygon <c>[x1, y1, x2, y2, …]</c> (pixel coordinates, pixel centres at integer + 0.5 as COCO's
    /// polygons are) by COCO's rule: the outline is scan-converted on a grid 5× finer, and a pixel is inside where the
    /// outline crosses its column above its centre an odd number of times. Equivalent to
    /// <c>pycocotools.mask.frPyObjects([polygon], h, w)</c> (<c>rleFrPoly</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than 3 points, an odd number of coordinates or a non-finite one.</exception>
    public static CocoRle FromPolygon(ReadOnlySpan<double> xy, int height, int width)
    {
        if (xy.Length < 6 || xy.Length % 2 != 0)
            throw new ArgumentException($"A polygon needs at least 3 points as x, y pairs, got {xy.Length} coordinates.");
        foreach (double value in xy)
            if (!double.IsFinite(value))
                throw new ArgumentException($"Polygon coordinate {value} is not finite.");
        const double scale = 5;
        int k = xy.Length / 2;
        var x = new int[k + 1];
        var y = new int[k + 1];
        // C's (int) cast truncates toward zero, which C# casts also do; the COCO API rounds this way.
        for (int j = 0; j < k; j++)
        {
            x[j] = (int)(scale * xy[2 * j] + .5);
            y[j] = (int)(scale * xy[2 * j + 1] + .5);
        }
        x[k] = x[0];
        y[k] = y[0];

        // Every point of the upsampled outline, one per step along the longer axis of each edge.
        var u = new List<int>();
        var v = new List<int>();
        for (int j = 0; j < k; j++)
        {
            int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
            int dx = Math.Abs(xe - xs), dy = Math.Abs(ys - ye);
            bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            if (dx == 0 && dy == 0)
            {
                // A repeated vertex: C divides 0 by 0 here, but the lone point never changes column, so it is never used.
                u.Add(xs);
                v.Add(ys);
            }
            else if (dx >= dy)
            {
                double s = (double)(ye - ys) / dx;
                for (int d = 0; d <= dx; d++)
                {
                    int t = flip ? dx - d : d;
                    u.Add(t + xs);
                    v.Add((int)(ys + s * t + .5));
                }
            }
            else
            {
                double s = (double)(xe - xs) / dy;
                for (int d = 0; d <= dy; d++)
                {
                    int t = flip ? dy - d : d;
                    v.Add(t + ys);
                    u.Add((int)(xs + s * t + .5));
                }
            }
        }

        // Where the outline moves to another column whose centre is a pixel centre, record the first pixel below it.
        var boundaries = new List<uint>();
        for (int j = 1; j < u.Count; j++)
        {
            if (u[j] == u[j - 1])
                continue;
            double xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
            xd = (xd + .5) / scale - .5;
            if (Math.Floor(xd) != xd || xd < 0 || xd > width - 1)
                continue;
            double yd = Math.Min(v[j], v[j - 1]);
            yd = (yd + .5) / scale - .5;
            if (yd < 0)
                yd = 0;
            else if (yd > height)
                yd = height;
            yd = Math.Ceiling(yd);
            boundaries.Add((uint)((int)xd * height + (int)yd));
        }
        boundaries.Add((uint)(height * width));
        boundaries.Sort();

        // Sorted boundary positions become run lengths; a zero-length run merges its neighbours (two crossings cancel).
        uint previous = 0;
        for (int j = 0; j < boundaries.Count; j++)
        {
            uint position = boundaries[j];
            boundaries[j] -= previous;
            previous = position;
        }
        var counts = new List<uint> { boundaries[0] };
        for (int j = 1; j < boundaries.Count;)
        {
            if (boundaries[j] > 0)
                counts.Add(boundaries[j++]);
            else
            {
                j++;
                if (j < boundaries.Count)
                    counts[^1] += boundaries[j++];
            }
        }
        return new CocoRle(height, width, [.. counts]);
    }

    /// <summary>
    /// Rasterises several polygons of one object and unites them. Equivalent to
    /// <c>pycocotools.mask.merge(pycocotools.mask.frPyObjects(polygons, h, w))</c>, what <c>COCO.annToRLE</c> does.
    /// </summary>
    public static CocoRle FromPolygons(IReadOnlyList<double[]> polygons, int height, int width)
    {
        if (polygons.Count == 0)
            throw new ArgumentException("A polygon segmentation needs at least one polygon.");
        return Merge([.. polygons.Select(p => FromPolygon(p, height, width))], intersect: false);
    }

    /// <summary>
    /// The mask of a box given as COCO's <c>[x, y, width, height]</c>, rasterised as its 4-corner polygon. Equivalent to
    /// <c>pycocotools.mask.frPyObjects([bbox], h, w)</c> (<c>rleFrBbox</c>).
    /// </summary>
    public static CocoRle FromBox(double x, double y, double boxWidth, double boxHeight, int height, int width)
    {
        double xe = x + boxWidth, ye = y + boxHeight;
        return FromPolygon([x, y, x, ye, xe, ye, xe, y], height, width);
    }

    /// <summary>
    /// The union (or intersection) of masks of one size. Equivalent to <c>pycocotools.mask.merge(rles, intersect)</c>.
    /// </summary>
    /// <exception cref="ArgumentException">No masks, or masks of different sizes.</exception>
    public static CocoRle Merge(IReadOnlyList<CocoRle> masks, bool intersect)
    {
        if (masks.Count == 0)
            throw new ArgumentException("RLE merge needs at least one mask.");
        var result = masks[0];
        for (int i = 1; i < masks.Count; i++)
        {
            var other = masks[i];
            if (other.Height != result.Height || other.Width != result.Width)
                throw new ArgumentException(
                    $"RLE merge: mask {i} is {other.Height}×{other.Width} but mask 0 is {result.Height}×{result.Width}.");
            result = MergePair(result, other, intersect);
        }
        return result;
    }

    private static CocoRle MergePair(CocoRle a, CocoRle b, bool intersect)
    {
        var counts = new List<uint>();
        var runA = RunCursor.Start(a.Counts);
        var runB = RunCursor.Start(b.Counts);
        bool value = false;
        uint pending = 0;
        while (!runA.Done || !runB.Done)
        {
            uint step = Math.Min(runA.Remaining, runB.Remaining);
            bool merged = intersect ? runA.Value && runB.Value : runA.Value || runB.Value;
            if (merged != value)
            {
                counts.Add(pending);
                pending = 0;
                value = merged;
            }
            pending += step;
            runA.Advance(step);
            runB.Advance(step);
        }
        counts.Add(pending);
        return new CocoRle(a.Height, a.Width, [.. counts]);
    }

    /// <summary>
    /// Intersection over union of two masks of one size; for a crowd ground truth the union is the detection's area alone
    /// (COCO counts a detection inside a crowd region as matched). Zero when they do not intersect. Equivalent to
    /// <c>pycocotools.mask.iou([dt], [gt], [iscrowd])</c> (<c>rleIou</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The masks differ in size.</exception>
    public static double Iou(CocoRle detection, CocoRle groundTruth, bool crowd)
    {
        if (detection.Height != groundTruth.Height || detection.Width != groundTruth.Width)
            throw new ArgumentException(
                $"Mask IoU: detection mask is {detection.Height}×{detection.Width} but ground truth is {groundTruth.Height}×{groundTruth.Width}.");
        var runA = RunCursor.Start(detection.Counts);
        var runB = RunCursor.Start(groundTruth.Counts);
        long intersection = 0, union = 0;
        while (!runA.Done || !runB.Done)
        {
            uint step = Math.Min(runA.Remaining, runB.Remaining);
            if (runA.Value || runB.Value)
            {
                union += step;
                if (runA.Value && runB.Value)
                    intersection += step;
            }
            runA.Advance(step);
            runB.Advance(step);
        }
        if (intersection == 0)
            return 0;
        return (double)intersection / (crowd ? detection.Area : union);
    }

    /// <summary>
    /// The bounding box <c>[x, y, width, height]</c> of the mask, in whole pixels, as COCO's <c>rleToBbox</c> computes it
    /// (including its rule that a run crossing from one column into the next spans the full height); all zeros for an
    /// empty mask. Equivalent to <c>pycocotools.mask.toBbox</c>.
    /// </summary>
    public (double X, double Y, double Width, double Height) ToBox()
    {
        int m = Counts.Length / 2 * 2;
        if (m == 0 || Height == 0)
            return (0, 0, 0, 0);
        uint h = (uint)Height;
        uint xs = (uint)Width, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
        for (int j = 0; j < m; j++)
        {
            cc += Counts[j];
            uint t = cc - (uint)(j % 2), yy = t % h, xx = (t - yy) / h;
            if (j % 2 == 0)
                xp = xx;
            else if (xp < xx)
            {
                ys = 0;
                ye = h - 1;
            }
            xs = Math.Min(xs, xx);
            xe = Math.Max(xe, xx);
            ys = Math.Min(ys, yy);
            ye = Math.Max(ye, yy);
        }
        return (xs, ys, xe - xs + 1.0, ye - ys + 1.0);
    }

    /// <summary>Walks run lengths, skipping empty runs while tracking which value (0 or 1) the current run has.</summary>
    private struct RunCursor(uint[] counts)
    {
        private int _index = -1;

        public uint Remaining { get; private set; }

        public bool Value { get; private set; } = true;

        public readonly bool Done => Remaining == 0 && _index >= counts.Length - 1;

        public static RunCursor Start(uint[] counts)
        {
            var cursor = new RunCursor(counts);
            cursor.Advance(0);
            return cursor;
        }

        public void Advance(uint step)
        {
            Remaining -= step;
            while (Remaining == 0 && _index < counts.Length - 1)
            {
                _index++;
                Remaining = counts[_index];
                Value = !Value;
            }
        }
    }
}
