namespace SharpSeg.Data.Transforms;

/// <summary>Resizes image and label (labels always nearest neighbour) and records the step.</summary>
internal static class Resampling
{
    public static void ResizeSample(SegSample sample, int height, int width, Interpolation interpolation, bool record)
    {
        if (record)
            sample.ShapeSteps.Add(new ShapeStep(ShapeStepKind.Resize, sample.Image.Height, sample.Image.Width));
        sample.Image = ImageOps.Resize(sample.Image, height, width, interpolation);
        if (sample.Label is not null)
            sample.Label = ImageOps.ResizeNearest(sample.Label, height, width);
    }

    /// <summary>PaddleSeg's <c>functional.resize_long</c>: scale so the long side becomes <paramref name="longSize"/>.</summary>
    public static void ResizeLong(SegSample sample, int longSize, Interpolation interpolation, bool record)
    {
        double scale = (double)longSize / Math.Max(sample.Image.Height, sample.Image.Width);
        ResizeSample(sample, Math.Max(1, Sampling.RoundHalfEven(sample.Image.Height * scale)),
            Math.Max(1, Sampling.RoundHalfEven(sample.Image.Width * scale)), interpolation, record);
    }

    public static void CheckPositive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }
}

/// <summary>
/// Resizes to a target size; with <c>keepRatio</c> the image is scaled by
/// <c>min(max(target)/max(size), min(target)/min(size))</c> instead; with <c>sizeDivisor</c> each side is
/// rounded up to a multiple of it. Equivalent to <c>paddleseg.transforms.Resize(target_size=(w, h),
/// keep_ratio, size_divisor, interp)</c>.
/// </summary>
public sealed class Resize : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="width">Target width (PaddleSeg's <c>target_size[0]</c>).</param>
    /// <param name="height">Target height (<c>target_size[1]</c>).</param>
    /// <param name="keepRatio">Keep the aspect ratio (PaddleSeg's <c>keep_ratio</c>).</param>
    /// <param name="sizeDivisor">Round each output side up to a multiple of this (<c>size_divisor</c>).</param>
    /// <param name="interpolation">Image resampling (<c>interp</c>); labels always use nearest.</param>
    /// <param name="randomInterpolation">Draw the interpolation per sample (<c>interp='RANDOM'</c>).</param>
    public Resize(int width = 512, int height = 512, bool keepRatio = false, int? sizeDivisor = null,
        Interpolation interpolation = Interpolation.Linear, bool randomInterpolation = false)
    {
        Resampling.CheckPositive(width, nameof(width));
        Resampling.CheckPositive(height, nameof(height));
        if (sizeDivisor is { } divisor)
            Resampling.CheckPositive(divisor, nameof(sizeDivisor));
        Width = width;
        Height = height;
        KeepRatio = keepRatio;
        SizeDivisor = sizeDivisor;
        Interpolation = interpolation;
        RandomInterpolation = randomInterpolation;
    }

    /// <summary>Target width.</summary>
    public int Width { get; }
    /// <summary>Target height.</summary>
    public int Height { get; }
    /// <summary>Whether the aspect ratio is kept.</summary>
    public bool KeepRatio { get; }
    /// <summary>Output sides are rounded up to a multiple of this, if set.</summary>
    public int? SizeDivisor { get; }
    /// <summary>Image resampling mode.</summary>
    public Interpolation Interpolation { get; }
    /// <summary>Whether the resampling mode is drawn per sample.</summary>
    public bool RandomInterpolation { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        var interpolation = RandomInterpolation ? (Interpolation)random.Next(4) : Interpolation;
        int width = Width, height = Height;
        if (KeepRatio)
        {
            int h = sample.Image.Height, w = sample.Image.Width;
            double scale = Math.Min((double)Math.Max(Width, Height) / Math.Max(w, h),
                (double)Math.Min(Width, Height) / Math.Min(w, h));
            width = Math.Max(1, Sampling.RoundHalfEven(w * scale));
            height = Math.Max(1, Sampling.RoundHalfEven(h * scale));
        }
        if (SizeDivisor is { } divisor)
        {
            width = (width + divisor - 1) / divisor * divisor;
            height = (height + divisor - 1) / divisor * divisor;
        }
        Resampling.ResizeSample(sample, height, width, interpolation, record: true);
    }
}

/// <summary>Scales so the long side equals <see cref="LongSize"/>. Equivalent to <c>paddleseg.transforms.ResizeByLong</c>.</summary>
public sealed class ResizeByLong : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public ResizeByLong(int longSize)
    {
        Resampling.CheckPositive(longSize, nameof(longSize));
        LongSize = longSize;
    }

    /// <summary>Target length of the longer side.</summary>
    public int LongSize { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random) =>
        Resampling.ResizeLong(sample, LongSize, Interpolation.Linear, record: true);
}

/// <summary>
/// Scales so the short side equals <see cref="ShortSize"/>, unless that makes the long side exceed
/// <see cref="MaxSize"/>, in which case the long side becomes <see cref="MaxSize"/>. Equivalent to
/// <c>paddleseg.transforms.ResizeByShort(short_size)</c>, and with <see cref="MaxSize"/> to PaddleX 1.x's
/// <c>ResizeByShort(short_size, max_size)</c>.
/// </summary>
public sealed class ResizeByShort : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="shortSize">Target length of the shorter side (<c>short_size</c>).</param>
    /// <param name="maxSize">Upper bound of the longer side (PaddleX's <c>max_size</c>); null = none, as PaddleSeg.</param>
    public ResizeByShort(int shortSize, int? maxSize = null)
    {
        Resampling.CheckPositive(shortSize, nameof(shortSize));
        if (maxSize is { } max) Resampling.CheckPositive(max, nameof(maxSize));
        ShortSize = shortSize;
        MaxSize = maxSize;
    }

    /// <summary>Target length of the shorter side.</summary>
    public int ShortSize { get; }

    /// <summary>Upper bound of the longer side, if any.</summary>
    public int? MaxSize { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int height = sample.Image.Height, width = sample.Image.Width, longSide = Math.Max(height, width);
        double scale = (double)ShortSize / Math.Min(height, width);
        // PaddleX compares the rounded long side with max_size, then rescales by the long side.
        if (MaxSize is { } max && Sampling.RoundHalfEven(longSide * scale) > max) scale = (double)max / longSide;
        Resampling.ResizeSample(sample, Math.Max(1, Sampling.RoundHalfEven(height * scale)),
            Math.Max(1, Sampling.RoundHalfEven(width * scale)), Interpolation.Linear, record: true);
    }
}

/// <summary>
/// Scales so the long side is a random length in [min, max] (<c>int(uniform(min, max) + 0.5)</c>).
/// Equivalent to <c>paddleseg.transforms.ResizeRangeScaling(min_value=400, max_value=600)</c>.
/// </summary>
public sealed class ResizeRangeScaling : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public ResizeRangeScaling(int minValue = 400, int maxValue = 600)
    {
        Resampling.CheckPositive(minValue, nameof(minValue));
        if (maxValue < minValue)
            throw new ArgumentException($"ResizeRangeScaling: minValue {minValue} must not exceed maxValue {maxValue}.");
        MinValue = minValue;
        MaxValue = maxValue;
    }

    /// <summary>Shortest long side.</summary>
    public int MinValue { get; }
    /// <summary>Longest long side.</summary>
    public int MaxValue { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int longSize = MinValue == MaxValue ? MaxValue : (int)(random.Uniform(MinValue, MaxValue) + 0.5);
        Resampling.ResizeLong(sample, longSize, Interpolation.Linear, record: false);
    }
}

/// <summary>
/// Scales by a factor drawn from <c>linspace(min, max, steps)</c> (uniform in [min, max] when the step is 0).
/// Equivalent to <c>paddleseg.transforms.ResizeStepScaling(min_scale_factor=0.75, max_scale_factor=1.25,
/// scale_step_size=0.25)</c>.
/// </summary>
public sealed class ResizeStepScaling : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public ResizeStepScaling(double minScaleFactor = 0.75, double maxScaleFactor = 1.25, double scaleStepSize = 0.25)
    {
        if (!(minScaleFactor > 0) || maxScaleFactor < minScaleFactor || !(scaleStepSize >= 0))
            throw new ArgumentException(
                $"ResizeStepScaling: need 0 < minScaleFactor ({minScaleFactor}) ≤ maxScaleFactor ({maxScaleFactor}) " +
                $"and scaleStepSize ({scaleStepSize}) ≥ 0.");
        MinScaleFactor = minScaleFactor;
        MaxScaleFactor = maxScaleFactor;
        ScaleStepSize = scaleStepSize;
    }

    /// <summary>Smallest factor.</summary>
    public double MinScaleFactor { get; }
    /// <summary>Largest factor.</summary>
    public double MaxScaleFactor { get; }
    /// <summary>Spacing of the candidate factors; 0 draws a continuous factor.</summary>
    public double ScaleStepSize { get; }

    /// <summary>The factor this transform would apply for the next draw of <paramref name="random"/>.</summary>
    internal double DrawScale(Random random)
    {
        if (MinScaleFactor == MaxScaleFactor)
            return MinScaleFactor;
        if (ScaleStepSize == 0)
            return random.Uniform(MinScaleFactor, MaxScaleFactor);
        int steps = (int)((MaxScaleFactor - MinScaleFactor) / ScaleStepSize + 1);
        if (steps == 1)
            return MinScaleFactor;
        int pick = random.RandInt(steps);
        return MinScaleFactor + pick * ((MaxScaleFactor - MinScaleFactor) / (steps - 1));
    }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        double scale = DrawScale(random);
        int width = Math.Max(1, Sampling.RoundHalfEven(scale * sample.Image.Width));
        int height = Math.Max(1, Sampling.RoundHalfEven(scale * sample.Image.Height));
        Resampling.ResizeSample(sample, height, width, Interpolation.Linear, record: false);
    }
}

/// <summary>
/// Pads bottom and right up to a size (image with <see cref="ImagePaddingValue"/>, label with
/// <see cref="LabelPaddingValue"/>) and records the step; an image larger than the target is an error.
/// Equivalent to <c>paddleseg.transforms.Padding(target_size, im_padding_value=127.5, label_padding_value=255)</c>.
/// </summary>
public sealed class Padding : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public Padding(int width, int height, float imagePaddingValue = 127.5f, int labelPaddingValue = SegSample.IgnoreIndex)
    {
        Resampling.CheckPositive(width, nameof(width));
        Resampling.CheckPositive(height, nameof(height));
        Width = width;
        Height = height;
        ImagePaddingValue = imagePaddingValue;
        LabelPaddingValue = labelPaddingValue;
    }

    /// <summary>Target width.</summary>
    public int Width { get; }
    /// <summary>Target height.</summary>
    public int Height { get; }
    /// <summary>Value of every padded image sample, in every channel.</summary>
    public float ImagePaddingValue { get; }
    /// <summary>Value of padded label pixels.</summary>
    public int LabelPaddingValue { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int padHeight = Height - sample.Image.Height, padWidth = Width - sample.Image.Width;
        if (padHeight < 0 || padWidth < 0)
            throw new InvalidDataException(
                $"Padding: image {sample.Source} is {sample.Image.Height}×{sample.Image.Width} (h×w), larger than " +
                $"the target {Height}×{Width}.");
        sample.ShapeSteps.Add(new ShapeStep(ShapeStepKind.Padding, sample.Image.Height, sample.Image.Width));
        sample.Image = ImageOps.PadBottomRight(sample.Image, padHeight, padWidth, ImagePaddingValue);
        if (sample.Label is not null)
            sample.Label = ImageOps.PadBottomRight(sample.Label, padHeight, padWidth, LabelPaddingValue);
    }
}

/// <summary>
/// Pads bottom/right up to the crop size when smaller, then crops a random window (offsets
/// <c>randint(h - crop_h + 1)</c>, <c>randint(w - crop_w + 1)</c>). With <see cref="CategoryMaxRatio"/> &lt; 1
/// it retries up to <see cref="LoopTimes"/> windows until one has ≥ 2 classes and no class above that share
/// of the non-ignored pixels. Equivalent to <c>paddleseg.transforms.RandomPaddingCrop(crop_size=(w, h),
/// im_padding_value=127.5, label_padding_value=255, category_max_ratio=1.0, ignore_index=255, loop_times=10)</c>.
/// </summary>
public sealed class RandomPaddingCrop : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomPaddingCrop(int width = 512, int height = 512, float imagePaddingValue = 127.5f,
        int labelPaddingValue = SegSample.IgnoreIndex, double categoryMaxRatio = 1.0,
        int ignoreIndex = SegSample.IgnoreIndex, int loopTimes = 10)
    {
        Resampling.CheckPositive(width, nameof(width));
        Resampling.CheckPositive(height, nameof(height));
        if (!(categoryMaxRatio > 0 && categoryMaxRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(categoryMaxRatio), categoryMaxRatio, "categoryMaxRatio must be in (0, 1].");
        Resampling.CheckPositive(loopTimes, nameof(loopTimes));
        Width = width;
        Height = height;
        ImagePaddingValue = imagePaddingValue;
        LabelPaddingValue = labelPaddingValue;
        CategoryMaxRatio = categoryMaxRatio;
        IgnoreIndex = ignoreIndex;
        LoopTimes = loopTimes;
    }

    /// <summary>Crop width.</summary>
    public int Width { get; }
    /// <summary>Crop height.</summary>
    public int Height { get; }
    /// <summary>Image padding value in every channel.</summary>
    public float ImagePaddingValue { get; }
    /// <summary>Label padding value.</summary>
    public int LabelPaddingValue { get; }
    /// <summary>Largest share one class may have in the crop (1 disables the category balancing).</summary>
    public double CategoryMaxRatio { get; }
    /// <summary>Label value not counted by the category balancing.</summary>
    public int IgnoreIndex { get; }
    /// <summary>Attempts at a balanced window before the last one is kept.</summary>
    public int LoopTimes { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        int height = sample.Image.Height, width = sample.Image.Width;
        if (height == Height && width == Width)
            return;
        int padHeight = Math.Max(Height - height, 0), padWidth = Math.Max(Width - width, 0);
        sample.Image = ImageOps.PadBottomRight(sample.Image, padHeight, padWidth, ImagePaddingValue);
        if (sample.Label is not null)
            sample.Label = ImageOps.PadBottomRight(sample.Label, padHeight, padWidth, LabelPaddingValue);
        height += padHeight;
        width += padWidth;

        int top = 0, left = 0;
        int attempts = CategoryMaxRatio < 1.0 && sample.Label is not null ? LoopTimes : 1;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            top = random.RandInt(height - Height + 1);
            left = random.RandInt(width - Width + 1);
            if (attempts > 1 && IsBalanced(sample.Label!, top, left))
                break;
        }
        sample.Image = ImageOps.Crop(sample.Image, top, left, Height, Width);
        if (sample.Label is not null)
            sample.Label = ImageOps.Crop(sample.Label, top, left, Height, Width);
    }

    private bool IsBalanced(Image<int> label, int top, int left)
    {
        var counts = new Dictionary<int, int>();
        for (int y = top; y < top + Height; y++)
            for (int x = left; x < left + Width; x++)
            {
                int value = label[y, x];
                if (value != IgnoreIndex)
                    counts[value] = counts.GetValueOrDefault(value) + 1;
            }
        if (counts.Count < 2)
            return false;
        return (double)counts.Values.Max() / counts.Values.Sum() < CategoryMaxRatio;
    }
}

/// <summary>
/// Crops a random window keeping <c>retain_ratio</c> of each side, offset around the centre.
/// Equivalent to <c>paddleseg.transforms.RandomCenterCrop(retain_ratio=(0.5, 0.5))</c>.
/// </summary>
public sealed class RandomCenterCrop : ISegTransform
{
    /// <summary>Creates the transform; ratios are in (0, 1].</summary>
    public RandomCenterCrop(double retainWidthRatio = 0.5, double retainHeightRatio = 0.5)
    {
        if (!(retainWidthRatio > 0 && retainWidthRatio <= 1 && retainHeightRatio > 0 && retainHeightRatio <= 1))
            throw new ArgumentException(
                $"RandomCenterCrop: retain ratios must be in (0, 1], got ({retainWidthRatio}, {retainHeightRatio}).");
        RetainWidthRatio = retainWidthRatio;
        RetainHeightRatio = retainHeightRatio;
    }

    /// <summary>Smallest share of the width kept.</summary>
    public double RetainWidthRatio { get; }
    /// <summary>Smallest share of the height kept.</summary>
    public double RetainHeightRatio { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        if (RetainWidthRatio == 1 && RetainHeightRatio == 1)
            return;
        int height = sample.Image.Height, width = sample.Image.Width;
        int removeWidth = RandIntOrZero(random, (int)(width * (1 - RetainWidthRatio)));
        int removeHeight = RandIntOrZero(random, (int)(height * (1 - RetainHeightRatio)));
        int left = RandIntOrZero(random, removeWidth);
        int top = RandIntOrZero(random, removeHeight);
        sample.Image = ImageOps.Crop(sample.Image, top, left, height - removeHeight, width - removeWidth);
        if (sample.Label is not null)
            sample.Label = ImageOps.Crop(sample.Label, top, left, height - removeHeight, width - removeWidth);
    }

    // numpy's randint(0) raises; PaddleSeg guards the offsets with "0 if rand == 0", and a side too small to
    // lose a pixel keeps its full length rather than failing.
    private static int RandIntOrZero(Random random, int high) => high <= 0 ? 0 : random.RandInt(high);
}

/// <summary>Mirrors left–right with probability <see cref="Probability"/>. Equivalent to <c>paddleseg.transforms.RandomHorizontalFlip(prob=0.5)</c>.</summary>
public sealed class RandomHorizontalFlip : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        Sampling.CheckProbability(probability, nameof(probability));
        Probability = probability;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        if (!random.Chance(Probability))
            return;
        sample.Image = ImageOps.FlipHorizontal(sample.Image);
        if (sample.Label is not null)
            sample.Label = ImageOps.FlipHorizontal(sample.Label);
    }
}

/// <summary>Mirrors top–bottom with probability <see cref="Probability"/>. Equivalent to <c>paddleseg.transforms.RandomVerticalFlip(prob=0.1)</c>.</summary>
public sealed class RandomVerticalFlip : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomVerticalFlip(double probability = 0.1)
    {
        Sampling.CheckProbability(probability, nameof(probability));
        Probability = probability;
    }

    /// <summary>Chance of flipping.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        if (!random.Chance(Probability))
            return;
        sample.Image = ImageOps.FlipVertical(sample.Image);
        if (sample.Label is not null)
            sample.Label = ImageOps.FlipVertical(sample.Label);
    }
}

/// <summary>
/// Rotates by a uniform angle in ±<see cref="MaxRotation"/> degrees about <c>(w // 2, h // 2)</c> onto a canvas
/// that holds the whole rotated image (image bilinear, label nearest, corners filled with the padding values).
/// Equivalent to <c>paddleseg.transforms.RandomRotation(max_rotation=15, im_padding_value=127.5, label_padding_value=255)</c>.
/// </summary>
public sealed class RandomRotation : ISegTransform
{
    /// <summary>Creates the transform.</summary>
    public RandomRotation(double maxRotation = 15, float imagePaddingValue = 127.5f, int labelPaddingValue = SegSample.IgnoreIndex)
    {
        if (!(maxRotation >= 0))
            throw new ArgumentOutOfRangeException(nameof(maxRotation), maxRotation, "maxRotation must be ≥ 0 degrees.");
        MaxRotation = maxRotation;
        ImagePaddingValue = imagePaddingValue;
        LabelPaddingValue = labelPaddingValue;
    }

    /// <summary>Largest rotation in degrees (either direction).</summary>
    public double MaxRotation { get; }
    /// <summary>Image fill outside the source.</summary>
    public float ImagePaddingValue { get; }
    /// <summary>Label fill outside the source.</summary>
    public int LabelPaddingValue { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        if (MaxRotation <= 0)
            return;
        Rotate(sample, random.Uniform(-MaxRotation, MaxRotation), ImagePaddingValue, LabelPaddingValue);
    }

    /// <summary>The rotation for a given angle (counter-clockwise, degrees), as <c>cv2.getRotationMatrix2D</c> + <c>warpAffine</c>.</summary>
    internal static void Rotate(SegSample sample, double degrees, float imagePaddingValue, int labelPaddingValue)
    {
        int h = sample.Image.Height, w = sample.Image.Width;
        double cx = w / 2, cy = h / 2;
        double radians = degrees * Math.PI / 180, alpha = Math.Cos(radians), beta = Math.Sin(radians);
        double[] m = [alpha, beta, (1 - alpha) * cx - beta * cy, -beta, alpha, beta * cx + (1 - alpha) * cy];
        double cos = Math.Abs(alpha), sin = Math.Abs(beta);
        int newWidth = (int)(h * sin + w * cos), newHeight = (int)(h * cos + w * sin);
        m[2] += newWidth / 2.0 - cx;
        m[5] += newHeight / 2.0 - cy;
        sample.Image = ImageOps.WarpAffine(sample.Image, m, newHeight, newWidth, linear: true, imagePaddingValue);
        if (sample.Label is not null)
            sample.Label = ImageOps.WarpAffine(sample.Label, m, newHeight, newWidth, linear: false, labelPaddingValue);
    }
}

/// <summary>
/// Crops a random window of area share in [<see cref="MinScale"/>, 1] and aspect ratio in
/// [<see cref="AspectRatio"/>, 1/<see cref="AspectRatio"/>] (up to 10 tries), then resizes it back to the
/// original size. Equivalent to <c>paddleseg.transforms.RandomScaleAspect(min_scale=0.5, aspect_ratio=0.33)</c>.
/// </summary>
public sealed class RandomScaleAspect : ISegTransform
{
    /// <summary>Creates the transform; 0 for either parameter disables it.</summary>
    public RandomScaleAspect(double minScale = 0.5, double aspectRatio = 0.33)
    {
        if (!(minScale >= 0 && minScale <= 1 && aspectRatio >= 0 && aspectRatio <= 1))
            throw new ArgumentException($"RandomScaleAspect: minScale ({minScale}) and aspectRatio ({aspectRatio}) must be in [0, 1].");
        MinScale = minScale;
        AspectRatio = aspectRatio;
    }

    /// <summary>Smallest area share of the crop.</summary>
    public double MinScale { get; }
    /// <summary>Most extreme aspect ratio of the crop.</summary>
    public double AspectRatio { get; }

    /// <inheritdoc />
    public void Apply(SegSample sample, Random random)
    {
        if (MinScale == 0 || AspectRatio == 0)
            return;
        int height = sample.Image.Height, width = sample.Image.Width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = (double)height * width * random.Uniform(MinScale, 1.0);
            double aspect = random.Uniform(AspectRatio, 1.0 / AspectRatio);
            int dw = (int)Math.Sqrt(targetArea * aspect), dh = (int)Math.Sqrt(targetArea / aspect);
            if (random.RandInt(10) < 5)
                (dw, dh) = (dh, dw);
            if (dh < height && dw < width && dh > 0 && dw > 0)
            {
                int top = random.RandInt(height - dh), left = random.RandInt(width - dw);
                sample.Image = ImageOps.Resize(ImageOps.Crop(sample.Image, top, left, dh, dw), height, width, Interpolation.Linear);
                if (sample.Label is not null)
                    sample.Label = ImageOps.ResizeNearest(ImageOps.Crop(sample.Label, top, left, dh, dw), height, width);
                return;
            }
        }
    }
}
