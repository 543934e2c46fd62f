using System.Globalization;
using SharpSeg.Data;
using SharpSeg.Training.Visualization;

namespace SharpSeg.Detection.Visualization;

/// <summary>
/// Draws detections on an RGB image: each object's mask blended in its class colour, its box as an outline, and its class
/// name and score in a filled tag above the box (inside it when the box touches the top edge), in a 5×7 pixel font.
/// Colours are PaddleSeg's palette (<see cref="LabelVisualizer.Palette"/>) indexed by label. The counterpart of
/// torchvision's <c>draw_bounding_boxes</c> and <c>draw_segmentation_masks</c> (<c>torchvision.utils</c>) and icevision's
/// <c>show_preds</c>.
/// </summary>
public static class DetectionDrawing
{
    /// <summary>Outline width of a box, in pixels, drawn inside the box.</summary>
    public const int BoxLineWidth = 2;

    /// <summary>Weight of the class colour in a mask overlay (torchvision's <c>alpha</c>).</summary>
    public const double MaskAlpha = 0.5;

    /// <summary>Height of a label tag: the 7-pixel glyphs with a pixel of padding above and below.</summary>
    public const int TagHeight = PixelFont.GlyphHeight + 2;

    /// <summary>
    /// A copy of <paramref name="image"/> (H×W×3 bytes) with <paramref name="prediction"/>'s objects drawn: masks first,
    /// then for each object in order its box outline (<see cref="BoxLineWidth"/> pixels inside the rounded-out box,
    /// clipped to the image) and its tag <c>"name 0.87"</c>. Object k's colour is palette entry <c>label</c>.
    /// </summary>
    /// <param name="image">The RGB image.</param>
    /// <param name="prediction">The objects, in the image's pixels.</param>
    /// <param name="classNames">Names by label (index 0 the background); a label beyond them is drawn as its number.</param>
    /// <param name="drawLabels">Whether to draw the tags.</param>
    /// <exception cref="ArgumentException">The image is not 3-channel, or the masks have another size.</exception>
    public static Image<byte> Draw(Image<byte> image, DetectionPrediction prediction, IReadOnlyList<string> classNames, bool drawLabels = true)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(classNames);
        if (image.Channels != 3)
            throw new ArgumentException($"DetectionDrawing: needs an RGB image, got {image.Channels} channels.", nameof(image));
        if (prediction.Masks is { } masks && (masks.Height != image.Height || masks.Width != image.Width))
            throw new ArgumentException($"DetectionDrawing: masks are {masks.Height}×{masks.Width} but the image is {image.Height}×{image.Width}.", nameof(prediction));
        var canvas = image.Clone();
        var palette = LabelVisualizer.Palette(256);
        (byte R, byte G, byte B) Colour(int label) => (palette[3 * (label & 255)], palette[3 * (label & 255) + 1], palette[3 * (label & 255) + 2]);

        if (prediction.Masks is { } objectMasks)
            for (int k = 0; k < prediction.Count; k++)
                BlendMask(canvas, objectMasks[k], Colour(prediction.Labels[k]));
        for (int k = 0; k < prediction.Count; k++)
        {
            var colour = Colour(prediction.Labels[k]);
            var (left, top, right, bottom) = PixelRectangle(prediction.Box(k), canvas.Height, canvas.Width);
            if (left > right || top > bottom) continue;
            for (int w = 0; w < BoxLineWidth; w++)
            {
                FillRectangle(canvas, left, top + w, right, top + w, colour);
                FillRectangle(canvas, left, bottom - w, right, bottom - w, colour);
                FillRectangle(canvas, left + w, top, left + w, bottom, colour);
                FillRectangle(canvas, right - w, top, right - w, bottom, colour);
            }
            if (!drawLabels) continue;
            int label = prediction.Labels[k];
            string name = label >= 0 && label < classNames.Count ? classNames[label] : label.ToString(CultureInfo.InvariantCulture);
            DrawTag(canvas, $"{name} {prediction.Scores[k].ToString("0.00", CultureInfo.InvariantCulture)}", left, top, colour);
        }
        return canvas;
    }

    /// <summary>An HWC float image of 0–<paramref name="maxValue"/> samples as bytes (scaled to 0–255, rounded, clamped).</summary>
    public static Image<byte> ToBytes(Image<float> image, float maxValue = 255f)
    {
        ArgumentNullException.ThrowIfNull(image);
        float scale = 255f / maxValue;
        var bytes = new byte[image.Pixels.Length];
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)Math.Clamp(MathF.Round(image.Pixels[i] * scale), 0, 255);
        return new Image<byte>(image.Height, image.Width, image.Channels, bytes);
    }

    /// <summary>
    /// The inclusive pixel rectangle a box covers: columns floor(x1) … ceil(x2) − 1 and rows floor(y1) … ceil(y2) − 1, so a
    /// box [2, 3, 6, 8] covers columns 2–5 and rows 3–7, clipped to the image.
    /// </summary>
    internal static (int Left, int Top, int Right, int Bottom) PixelRectangle((float X1, float Y1, float X2, float Y2) box, int height, int width) => (
        Math.Max(0, (int)MathF.Floor(box.X1)), Math.Max(0, (int)MathF.Floor(box.Y1)),
        Math.Min(width - 1, (int)MathF.Ceiling(box.X2) - 1), Math.Min(height - 1, (int)MathF.Ceiling(box.Y2) - 1));

    private static void BlendMask(Image<byte> canvas, ReadOnlySpan<byte> mask, (byte R, byte G, byte B) colour)
    {
        var pixels = canvas.Pixels;
        for (int p = 0; p < mask.Length; p++)
        {
            if (mask[p] == 0) continue;
            pixels[3 * p] = Blend(pixels[3 * p], colour.R);
            pixels[3 * p + 1] = Blend(pixels[3 * p + 1], colour.G);
            pixels[3 * p + 2] = Blend(pixels[3 * p + 2], colour.B);
        }
    }

    private static byte Blend(byte pixel, byte colour) => (byte)Math.Round((1 - MaskAlpha) * pixel + MaskAlpha * colour, MidpointRounding.AwayFromZero);

    // The tag sits on the box's top edge, above it when there is room, else just inside; it is cut at the image's edges.
    private static void DrawTag(Image<byte> canvas, string text, int left, int top, (byte R, byte G, byte B) colour)
    {
        int tagTop = top >= TagHeight ? top - TagHeight : top;
        int tagRight = left + PixelFont.Width(text) + 1;
        FillRectangle(canvas, left, tagTop, tagRight, tagTop + TagHeight - 1, colour);
        // White on dark colours, black on light ones (ITU-R BT.601 luma).
        byte ink = 0.299 * colour.R + 0.587 * colour.G + 0.114 * colour.B < 128 ? (byte)255 : (byte)0;
        for (int c = 0; c < text.Length; c++)
            for (int row = 0; row < PixelFont.GlyphHeight; row++)
                for (int column = 0; column < PixelFont.GlyphWidth; column++)
                    if (PixelFont.Ink(text[c], row, column))
                    {
                        int x = left + 1 + c * PixelFont.Advance + column;
                        int y = tagTop + 1 + row;
                        FillRectangle(canvas, x, y, x, y, (ink, ink, ink));
                    }
    }

    private static void FillRectangle(Image<byte> canvas, int left, int top, int right, int bottom, (byte R, byte G, byte B) colour)
    {
        left = Math.Max(left, 0);
        top = Math.Max(top, 0);
        right = Math.Min(right, canvas.Width - 1);
        bottom = Math.Min(bottom, canvas.Height - 1);
        for (int y = top; y <= bottom; y++)
            for (int x = left; x <= right; x++)
            {
                int i = 3 * (y * canvas.Width + x);
                canvas.Pixels[i] = colour.R;
                canvas.Pixels[i + 1] = colour.G;
                canvas.Pixels[i + 2] = colour.B;
            }
    }
}
