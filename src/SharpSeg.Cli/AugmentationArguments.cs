using System.CommandLine;
using System.Globalization;
using SharpSeg.Training;

namespace SharpSeg.Cli;

/// <summary>
/// The test-time augmentation options shared by <c>predict</c> and <c>evaluate</c>, named as PaddleSeg's
/// <c>predict.py --aug_pred</c> / <c>val.py --aug_eval</c> flags: <c>--scales</c>, <c>--flip-horizontal</c>,
/// <c>--flip-vertical</c>. Giving any of them turns augmentation on.
/// </summary>
internal sealed class AugmentationArguments
{
    private readonly Option<string?> _scales = new("--scales")
    {
        Description = "Test-time augmentation: predict at these input scales and average the probabilities (e.g. 0.75,1.0,1.25).",
    };
    private readonly Option<bool> _flipHorizontal = new("--flip-horizontal") { Description = "Test-time augmentation: also predict the mirrored image." };
    private readonly Option<bool> _flipVertical = new("--flip-vertical") { Description = "Test-time augmentation: also predict the upside-down image." };

    public void AddTo(Command command) => command.AddOptions(_scales, _flipHorizontal, _flipVertical);

    /// <summary>The augmentation the options ask for, or null when none of them is given.</summary>
    /// <exception cref="UsageException">A scale is not a positive number.</exception>
    public TestTimeAugmentation? Parse(ParseResult parse)
    {
        string? scalesText = parse.GetValue(_scales);
        bool horizontal = parse.GetValue(_flipHorizontal), vertical = parse.GetValue(_flipVertical);
        if (scalesText is null && !horizontal && !vertical) return null;
        return new TestTimeAugmentation(scalesText is null ? null : ParseScales(scalesText), horizontal, vertical);
    }

    private static double[] ParseScales(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var scales = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out scales[i]) || !double.IsFinite(scales[i]) || scales[i] <= 0)
                throw new UsageException($"--scales expects positive numbers separated by commas (e.g. 0.75,1.0,1.25), got '{text}'.");
        return scales;
    }

    /// <summary>A short description for the command's progress line, e.g. "scales 0.75,1, flips h".</summary>
    public static string Describe(TestTimeAugmentation augmentation) =>
        $"test-time augmentation (scales {string.Join(",", augmentation.Scales.Select(s => s.ToString(CultureInfo.InvariantCulture)))}" +
        (augmentation.FlipHorizontal ? ", horizontal flip" : "") + (augmentation.FlipVertical ? ", vertical flip" : "") + ")";
}
