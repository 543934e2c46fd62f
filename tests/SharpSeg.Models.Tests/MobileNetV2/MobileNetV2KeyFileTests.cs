using SharpSeg.Models.Tests.Support;
using SharpSeg.Nn;

namespace SharpSeg.Models.Tests.Backbones;

/// <summary>
/// State-dict keys, shapes and parameter counts against the torchvision 0.14 listings written by
/// tools/gen_models_golden_mobilenetv2.py, and loading of torchvision-keyed checkpoints.
/// </summary>
public class MobileNetV2KeyFileTests
{
    public static TheoryData<string, double> Widths() => new()
    {
        { "mobilenetv2_x0.25", 0.25 }, { "mobilenetv2_x0.5", 0.5 }, { "mobilenetv2_x1.0", 1.0 }, { "mobilenetv2_x1.5", 1.5 }, { "mobilenetv2_x2.0", 2.0 },
    };

    [Theory]
    [MemberData(nameof(Widths))]
    public void RegisteredBackboneIsTorchvisionsModelWithoutItsClassifier(string name, double width)
    {
        var reference = Reference.Read(name);
        Assert.Equal(["features.18.", "classifier."], reference.ClassifierPrefixes);
        var backbone = Assert.IsType<MobileNetV2>(BackboneCache.Get(name));
        Assert.Equal(width, backbone.WidthMultiplier);
        Assert.Equal(0, backbone.NumClasses);

        var head = reference.Entries.Where(e => reference.ClassifierPrefixes.Any(p => e.Key.StartsWith(p, StringComparison.Ordinal))).ToArray();
        Assert.Equal(reference.Entries.Except(head).Select(e => $"{e.Key} {e.Shape}"),
            backbone.StateDict().Select(p => $"{p.Key} {KeyFile.Format(p.Value.Shape)}"));
        long headParameters = head.Where(e => !e.Key.EndsWith("running_mean", StringComparison.Ordinal)
            && !e.Key.EndsWith("running_var", StringComparison.Ordinal) && !e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Sum(e => KeyFile.Numel(e.Shape));
        Assert.Equal(reference.ParameterCount - headParameters, backbone.ParameterCount);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ClassifierHasTorchvisionsKeysAndParameterCount(string name, double width)
    {
        var reference = Reference.Read(name);
        var model = new MobileNetV2(width, 1000, initializeWeights: false);
        Assert.Equal(reference.Entries.Select(e => $"{e.Key} {e.Shape}"), model.StateDict().Select(p => $"{p.Key} {KeyFile.Format(p.Value.Shape)}"));
        Assert.Equal(reference.ParameterCount, model.ParameterCount);
    }

    [Fact]
    public void PublishedParameterCountOfMobileNetV2()
    {
        // torchvision's model card for mobilenet_v2 (IMAGENET1K_V1/V2).
        Assert.Equal(3_504_872, Reference.Read("mobilenetv2_x1.0").ParameterCount);
        Assert.Equal(3_504_872, new MobileNetV2(initializeWeights: false).ParameterCount);
    }

    [Fact]
    public void HeadlessBackboneLoadsATorchvisionCheckpointIgnoringItsHeadAndAdaptingTheFirstConvolution()
    {
        var reference = Reference.Read("mobilenetv2_x0.25");
        var checkpoint = reference.FormulaTensors();
        string path = Path.Combine(Path.GetTempPath(), $"sharpseg-mobilenetv2-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, checkpoint);
            IPretrainedBackbone backbone = new MobileNetV2(0.25, 0, new BackboneOptions(InChannels: 4), initializeWeights: false);
            var report = backbone.LoadPretrained(path);
            Assert.True(report.IsExactMatch);
            Assert.Equal(backbone.Module.StateDict().Count, report.LoadedCount);

            var state = backbone.Module.StateDict();
            var rgb = checkpoint["features.0.0.weight"];
            Assert.Equal((Tensor.Cat([rgb, rgb.Narrow(1, 0, 1)], 1) * 0.75f).ToArray(), state["features.0.0.weight"].ToArray());
            Assert.Equal(checkpoint["features.17.conv.2.weight"].ToArray(), state["features.17.conv.2.weight"].ToArray());
            Assert.Equal(checkpoint["features.1.conv.0.1.running_var"].ToArray(), state["features.1.conv.0.1.running_var"].ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ClassifierFineTunesOnANewClassCountKeepingItsOwnHead()
    {
        var checkpoint = Reference.Read("mobilenetv2_x0.25").FormulaTensors();
        var model = new MobileNetV2(0.25, 10, initializeWeights: false);
        var own = model.StateDict()["classifier.1.weight"].ToArray();
        Assert.Throws<StateDictMismatchException>(() => model.LoadPretrained(checkpoint));

        var report = model.LoadPretrained(checkpoint, allowNewHead: true);
        Assert.Equal(["classifier.1.weight", "classifier.1.bias"], report.SkippedShapeMismatches.Select(m => m.Key));
        Assert.Equal(own, model.StateDict()["classifier.1.weight"].ToArray());
        Assert.Equal(checkpoint["features.18.0.weight"].ToArray(), model.StateDict()["features.18.0.weight"].ToArray());
    }

    [Fact]
    public void AnotherWidthsCheckpointIsRefusedByShape()
    {
        var checkpoint = Reference.Read("mobilenetv2_x0.5").FormulaTensors();
        var backbone = new MobileNetV2(0.25, 0, initializeWeights: false);
        var error = Assert.Throws<StateDictMismatchException>(() => backbone.LoadPretrained(checkpoint));
        Assert.Contains(error.ShapeMismatches, m => m.Key == "features.0.0.weight");
    }

    /// <summary>A key file with its optional "# classifier" line: the prefixes of the reference keys a headless backbone drops.</summary>
    private sealed record Reference(long ParameterCount, IReadOnlyList<string> ClassifierPrefixes, IReadOnlyList<(string Key, string Shape)> Entries)
    {
        public static Reference Read(string name)
        {
            var lines = File.ReadAllLines(GoldenFiles.PathOf(Path.Combine("Backbones", "keys", name + ".txt")));
            long parameters = long.Parse(lines[0].Split(' ')[^1]);
            string[] prefixes = lines[1].StartsWith("# classifier ", StringComparison.Ordinal) ? lines[1].Split(' ')[2..] : [];
            var entries = lines.Skip(1).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToArray();
            return new Reference(parameters, prefixes, entries);
        }

        /// <summary>A checkpoint with every entry filled by the formula (k = its position), as torchvision would save it.</summary>
        public OrderedDictionary<string, Tensor> FormulaTensors()
        {
            var tensors = new OrderedDictionary<string, Tensor>();
            int k = 0;
            foreach (var (key, shapeText) in Entries)
            {
                var shape = shapeText == "scalar" ? new Shape() : new Shape(shapeText.Split('x').Select(int.Parse).ToArray());
                tensors.Add(key, key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                    ? Tensor.Zeros(shape, DType.Int64)
                    : Tensor.FromArray(FormulaWeights.Values(key, k, shape), shape.ToArray()));
                k++;
            }
            return tensors;
        }
    }
}
