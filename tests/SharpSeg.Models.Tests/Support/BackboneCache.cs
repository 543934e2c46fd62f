using System.Collections.Concurrent;

namespace SharpSeg.Models.Tests.Support;

/// <summary>
/// Registered backbones built once with default options and shared by tests that only read them (keys, shapes,
/// FeatureInfo, evaluation-mode forwards): building the largest ResNets is dominated by random initialisation.
/// </summary>
public static class BackboneCache
{
    private static readonly ConcurrentDictionary<string, Lazy<IBackbone>> Built = new();

    /// <summary>The shared instance of <paramref name="name"/>; callers must not train it or change its weights.</summary>
    public static IBackbone Get(string name) => Built.GetOrAdd(name, n => new Lazy<IBackbone>(() => ModelRegistry.CreateBackbone(n))).Value;
}
