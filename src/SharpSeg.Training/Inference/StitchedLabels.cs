using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>
/// The full-image label map an overlap-tile prediction fills with the central tile of every window; the central tile's
/// scores, when wanted, go to a <see cref="TileScoresHandler"/> instead of a full-image map.
/// </summary>
internal sealed class StitchedLabels(TilePlan plan)
{
    public Image<int> Labels { get; } = new(plan.Height, plan.Width, 1);

    /// <summary>
    /// Copies the central tile of window <paramref name="tile"/>'s labels into <see cref="Labels"/> and hands the central
    /// tile of its <paramref name="scores"/> to <paramref name="handler"/>.
    /// </summary>
    public void KeepCentre(int tile, Image<int> labels, Image<float>? scores, TileScoresHandler? handler)
    {
        var (windowHeight, windowWidth) = plan.WindowSize(tile);
        if (labels.Height != windowHeight || labels.Width != windowWidth)
            throw new InvalidOperationException(
                $"OverlapTilePredict: window {tile} was predicted at {labels.Height}×{labels.Width}, not {windowHeight}×{windowWidth}.");
        var (top, left) = plan.Origin(tile);
        int rows = windowHeight - 2 * plan.PadHeight, columns = windowWidth - 2 * plan.PadWidth;
        for (int y = 0; y < rows; y++)
            Array.Copy(labels.Pixels, (plan.PadHeight + y) * windowWidth + plan.PadWidth, Labels.Pixels, (top + y) * plan.Width + left, columns);
        if (handler is null || scores is null) return;

        int classes = scores.Channels;
        var centre = new Image<float>(rows, columns, classes);
        for (int y = 0; y < rows; y++)
            Array.Copy(scores.Pixels, ((plan.PadHeight + y) * windowWidth + plan.PadWidth) * classes, centre.Pixels, y * columns * classes,
                columns * classes);
        handler(top, left, centre);
    }

    /// <summary>Copies <paramref name="block"/> into <paramref name="map"/> with its top-left pixel at (top, left).</summary>
    public static void Paste(Image<float> block, Image<float> map, int top, int left)
    {
        int rowSamples = block.Width * block.Channels;
        for (int y = 0; y < block.Height; y++)
            Array.Copy(block.Pixels, y * rowSamples, map.Pixels, ((top + y) * map.Width + left) * map.Channels, rowSamples);
    }
}
