using SharpSeg.Data;

namespace SharpSeg.Training.Inference;

/// <summary>The full-image maps an overlap-tile prediction fills with the central tile of every window.</summary>
internal sealed class StitchedPrediction(int height, int width, int classes)
{
    private readonly Image<int> _labels = new(height, width, 1);
    private readonly Image<float> _scores = new(height, width, classes);

    /// <summary>Copies the central tile of <paramref name="window"/>, the prediction of tile <paramref name="tile"/> of <paramref name="plan"/>.</summary>
    public void KeepCentre(Prediction window, TilePlan plan, int tile)
    {
        var (windowHeight, windowWidth) = plan.WindowSize(tile);
        if (window.LabelMap.Height != windowHeight || window.LabelMap.Width != windowWidth)
            throw new InvalidOperationException(
                $"OverlapTilePredict: window {tile} was predicted at {window.LabelMap.Height}×{window.LabelMap.Width}, not {windowHeight}×{windowWidth}.");
        var (top, left) = plan.Origin(tile);
        int rows = windowHeight - 2 * plan.PadHeight, columns = windowWidth - 2 * plan.PadWidth;
        for (int y = 0; y < rows; y++)
        {
            int source = (plan.PadHeight + y) * windowWidth + plan.PadWidth, destination = (top + y) * width + left;
            Array.Copy(window.LabelMap.Pixels, source, _labels.Pixels, destination, columns);
            Array.Copy(window.ScoreMap.Pixels, source * classes, _scores.Pixels, destination * classes, columns * classes);
        }
    }

    public Prediction ToPrediction() => new(_labels, _scores);
}
