namespace SharpSeg.Data.Transforms;

/// <summary>
/// Maps a prediction made on a transformed image back to the original image size by undoing the recorded
/// <see cref="ShapeStep"/>s newest first: padding is cropped off, resizing is resized back.
/// Equivalent to PaddleSeg's <c>paddleseg.core.infer.reverse_transform(pred, trans_info, mode)</c>.
/// </summary>
public static class ReverseTransform
{
    /// <summary>Restores a label map (class ids), resizing with nearest neighbour.</summary>
    public static Image<int> LabelMap(Image<int> prediction, IReadOnlyList<ShapeStep> steps)
    {
        for (int i = steps.Count - 1; i >= 0; i--)
            prediction = steps[i].Kind == ShapeStepKind.Padding
                ? CropTo(prediction, steps[i])
                : ImageOps.ResizeNearest(prediction, steps[i].Height, steps[i].Width);
        return prediction;
    }

    /// <summary>Restores a score map (one channel per class), resizing bilinearly.</summary>
    public static Image<float> ScoreMap(Image<float> prediction, IReadOnlyList<ShapeStep> steps)
    {
        for (int i = steps.Count - 1; i >= 0; i--)
            prediction = steps[i].Kind == ShapeStepKind.Padding
                ? CropTo(prediction, steps[i])
                : ImageOps.Resize(prediction, steps[i].Height, steps[i].Width, Interpolation.Linear);
        return prediction;
    }

    private static Image<T> CropTo<T>(Image<T> prediction, ShapeStep step) where T : unmanaged, System.Numerics.INumber<T>
    {
        if (step.Height > prediction.Height || step.Width > prediction.Width)
            throw new ArgumentException(
                $"Cannot undo padding to {step.Height}×{step.Width}: the prediction is only {prediction.Height}×{prediction.Width}.");
        return ImageOps.Crop(prediction, 0, 0, step.Height, step.Width);
    }
}
