namespace SharpSeg.Data.Transforms;

// Temporary stand-in for the transform-config branch; deleted when it is merged.
#pragma warning disable CS1591
public static class TransformConfig
{
    public static string ToJson(ISegTransform? transform) => "[]";
    public static Compose FromJson(string json, string source) => new();
    public static bool IsRandom(ISegTransform transform) => transform switch
    {
        Compose c => c.Transforms.Any(IsRandom),
        _ => transform.GetType().Name.StartsWith("Random") || transform is ResizeRangeScaling or ResizeStepScaling,
    };
}
public sealed class TransformConfigException(string message) : FormatException(message);
#pragma warning restore CS1591
