using System.Collections;
using System.Reflection;
using SharpSeg.Data.Transforms;

namespace SharpSeg.Data.Tests.Transforms;

public class TransformConfigTests
{
    /// <summary>
    /// Every transform with every argument away from its default (some values, like 1/3, need all 17 digits), so a
    /// parameter lost by ToJson or FromJson shows up as a different property or a different result.
    /// </summary>
    private static readonly Dictionary<string, ISegTransform> Cases = new()
    {
        ["Resize keep ratio"] = new Resize(width: 23, height: 17, keepRatio: true, sizeDivisor: 4, interpolation: Interpolation.Cubic),
        ["Resize area"] = new Resize(width: 45, height: 13, interpolation: Interpolation.Area),
        ["Resize nearest"] = new Resize(width: 9, height: 50, interpolation: Interpolation.Nearest),
        ["Resize random interp"] = new Resize(width: 40, height: 20, randomInterpolation: true),
        ["ResizeByLong"] = new ResizeByLong(33),
        ["ResizeByShort"] = new ResizeByShort(19, maxSize: 23),
        ["ResizeRangeScaling"] = new ResizeRangeScaling(21, 47),
        ["ResizeStepScaling"] = new ResizeStepScaling(0.5, 1.5, 0.1),
        ["ResizeStepScaling continuous"] = new ResizeStepScaling(1 / 3.0, 1.3, 0),
        ["Normalize"] = new Normalize(mean: [0.1f, 1 / 3f, 0.7f], std: [0.2f, 0.3f, 0.45f], minValue: [1, 2, 3], maxValue: [250, 251, 1e4f]),
        ["Padding"] = new Padding(40, 30, imagePaddingValue: 1 / 3f, labelPaddingValue: 7),
        ["RandomPaddingCrop"] = new RandomPaddingCrop(20, 28, imagePaddingValue: 1.5f, labelPaddingValue: 9,
            categoryMaxRatio: 0.7, ignoreIndex: 3, loopTimes: 4),
        ["RandomCenterCrop"] = new RandomCenterCrop(0.7, 0.4),
        ["RandomHorizontalFlip"] = new RandomHorizontalFlip(1 / 3.0),
        ["RandomVerticalFlip"] = new RandomVerticalFlip(0.6),
        ["RandomBlur median"] = new RandomBlur(0.9, BlurType.Median),
        ["RandomBlur box"] = new RandomBlur(1, BlurType.Box),
        ["RandomBlur random"] = new RandomBlur(0.5, BlurType.Random),
        ["RandomRotation"] = new RandomRotation(40, imagePaddingValue: 12.5f, labelPaddingValue: 6),
        ["RandomScaleAspect"] = new RandomScaleAspect(0.3, 0.6),
        ["RandomDistort"] = new RandomDistort(0.3, 0.9, 0.4, 0.8, 0.2, 0.7, 10, 0.6, 0.6, 0.5),
        ["Clip"] = new Clip(minValue: [10, 20, 30], maxValue: [200, 210.5f, 220]),
        ["nested Compose"] = new Compose(new ResizeStepScaling(), new Compose(new RandomHorizontalFlip(), new Compose()),
            new RandomPaddingCrop(24, 16), new Normalize()),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void RoundTripCarriesEveryArgumentAndTransformsIdentically(string caseName)
    {
        var original = Cases[caseName];
        string json = TransformConfig.ToJson(original);
        var rebuilt = TransformConfig.FromJson(json, caseName);

        var originalSteps = Steps(original);
        Assert.Equal(originalSteps.Select(s => s.GetType()), rebuilt.Transforms.Select(s => s.GetType()));
        for (int i = 0; i < originalSteps.Count; i++)
            AssertSameProperties(originalSteps[i], rebuilt.Transforms[i]);
        Assert.Equal(json, TransformConfig.ToJson(rebuilt));

        for (int seed = 0; seed < 6; seed++)
        {
            var expected = RandomSample(seed);
            var actual = RandomSample(seed);
            original.Apply(expected, new Random(seed));
            rebuilt.Apply(actual, new Random(seed));
            Assert.Equal((expected.Image.Height, expected.Image.Width, expected.Image.Channels),
                (actual.Image.Height, actual.Image.Width, actual.Image.Channels));
            Assert.Equal(expected.Image.Pixels.Select(BitConverter.SingleToInt32Bits), actual.Image.Pixels.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(expected.Label!.Pixels, actual.Label!.Pixels);
            Assert.Equal(expected.ShapeSteps, actual.ShapeSteps);
        }
    }

    [Fact]
    public void RoundTripCasesCoverEveryTransformTypeAndMoveEveryOptionalArgumentOffItsDefault()
    {
        var transformTypes = typeof(ISegTransform).Assembly.GetExportedTypes()
            .Where(t => typeof(ISegTransform).IsAssignableFrom(t) && t.IsClass && !t.IsAbstract && t != typeof(Compose))
            .OrderBy(t => t.Name)
            .ToList();
        var caseSteps = Cases.Values.SelectMany(Steps).ToList();
        Assert.Equal(transformTypes, caseSteps.Select(s => s.GetType()).Distinct().OrderBy(t => t.Name));
        Assert.Equal(transformTypes.Select(t => t.Name).Order(), TransformConfig.Names.Order());

        // Arguments without a default are carried or FromJson fails, so only the optional ones need moving.
        string[] required = ["ResizeByLong.LongSize", "ResizeByShort.ShortSize", "Padding.Width", "Padding.Height"];
        foreach (var type in transformTypes)
        {
            var defaults = DefaultInstance(type);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (required.Contains($"{type.Name}.{property.Name}"))
                    continue;
                Assert.True(caseSteps.Where(s => s.GetType() == type).Any(s => !SameValue(property.GetValue(s), property.GetValue(defaults))),
                    $"No round-trip case sets {type.Name}.{property.Name} away from its default.");
            }
        }
    }

    [Fact]
    public void ToJsonWritesPaddleXModelYmlShape()
    {
        var pipeline = new Compose(new Resize(width: 512, height: 256),
            new Compose(new Normalize(mean: [0.485f, 0.456f, 0.406f], std: [0.229f, 0.224f, 0.225f])));
        Assert.Equal(
            """[{"Resize":{"target_size":[512,256],"keep_ratio":false,"size_divisor":null,"interp":"LINEAR"}},""" +
            """{"Normalize":{"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],"min_val":[0],"max_val":[255]}}]""",
            TransformConfig.ToJson(pipeline));
    }

    [Fact]
    public void ToJsonWritesShortestRoundTripNumbersAndPaddleSegEnumSpellings()
    {
        Assert.Equal("""[{"RandomHorizontalFlip":{"prob":0.3333333333333333}}]""", TransformConfig.ToJson(new RandomHorizontalFlip(1 / 3.0)));
        Assert.Equal("""[{"Padding":{"target_size":[8,6],"im_padding_value":0.33333334,"label_padding_value":255}}]""",
            TransformConfig.ToJson(new Padding(8, 6, imagePaddingValue: 1 / 3f)));
        Assert.Equal("""[{"RandomBlur":{"prob":0.1,"blur_type":"blur"}},{"Resize":{"target_size":[4,4],"keep_ratio":true,"size_divisor":32,"interp":"RANDOM"}}]""",
            TransformConfig.ToJson(new Compose(new RandomBlur(blurType: BlurType.Box),
                new Resize(4, 4, keepRatio: true, sizeDivisor: 32, interpolation: Interpolation.Cubic, randomInterpolation: true))));
        Assert.Equal("[]", TransformConfig.ToJson(null));
        Assert.Equal("[]", TransformConfig.ToJson(new Compose(new Compose())));
    }

    [Fact]
    public void ToJsonRejectsATransformWithoutConfigForm()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            TransformConfig.ToJson(new Compose(new Resize(), new Compose(new UserTransform()))));
        Assert.Contains(typeof(UserTransform).FullName!, error.Message);
        Assert.Contains("RandomDistort", error.Message);
    }

    [Fact]
    public void FromJsonReadsPaddleSegTypeEntries()
    {
        var pipeline = TransformConfig.FromJson("""
            [
              {"type": "Resize", "target_size": [64, 32], "interp": "NEAREST"},
              {"type": "Padding", "target_size": 96, "im_padding_value": 0},
              {"type": "RandomCenterCrop", "retain_ratio": [0.25, 0.75]},
              {"type": "RandomBlur", "blur_type": "median"},
              {"type": "Normalize", "mean": [0.5], "std": 0.25}
            ]
            """, "paddleseg.yml");
        var resize = Assert.IsType<Resize>(pipeline.Transforms[0]);
        Assert.Equal((64, 32, Interpolation.Nearest, false), (resize.Width, resize.Height, resize.Interpolation, resize.RandomInterpolation));
        var padding = Assert.IsType<Padding>(pipeline.Transforms[1]);
        Assert.Equal((96, 96, 0f, 255), (padding.Width, padding.Height, padding.ImagePaddingValue, padding.LabelPaddingValue));
        var crop = Assert.IsType<RandomCenterCrop>(pipeline.Transforms[2]);
        Assert.Equal((0.25, 0.75), (crop.RetainWidthRatio, crop.RetainHeightRatio));
        Assert.Equal(BlurType.Median, Assert.IsType<RandomBlur>(pipeline.Transforms[3]).BlurType);
        var normalize = Assert.IsType<Normalize>(pipeline.Transforms[4]);
        Assert.Equal([0.5f], normalize.Mean);
        Assert.Equal([0.25f], normalize.Std);
    }

    [Fact]
    public void FromJsonReadsAPaddleXModelYmlTransformList()
    {
        // PaddleX 1.x writes keys sorted, floats as 255.0, and one padding value per channel.
        var pipeline = TransformConfig.FromJson("""
            [{"ResizeByLong": {"long_size": 512}},
             {"Padding": {"im_padding_value": [127.5, 127.5, 127.5], "label_padding_value": 255, "target_size": 512}},
             {"Normalize": {"max_val": [255.0, 255.0, 255.0], "mean": [0.485, 0.456, 0.406], "min_val": [0.0, 0.0, 0.0], "std": [0.229, 0.224, 0.225]}}]
            """, "model.yml");
        Assert.Equal(512, Assert.IsType<ResizeByLong>(pipeline.Transforms[0]).LongSize);
        var padding = Assert.IsType<Padding>(pipeline.Transforms[1]);
        Assert.Equal((512, 512, 127.5f, 255), (padding.Width, padding.Height, padding.ImagePaddingValue, padding.LabelPaddingValue));
        var normalize = Assert.IsType<Normalize>(pipeline.Transforms[2]);
        Assert.Equal([0.485f, 0.456f, 0.406f], normalize.Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], normalize.Std);
        Assert.Equal([0f, 0f, 0f], normalize.MinValue);
        Assert.Equal([255f, 255f, 255f], normalize.MaxValue);
    }

    [Fact]
    public void FromJsonAllowsCommentsTrailingCommasAndNullParameters()
    {
        var pipeline = TransformConfig.FromJson("""
            [
              // evaluation transforms
              {"ResizeByLong": {"long_size": 300,}},
              {"Normalize": null},
            ]
            """, "hand-written");
        Assert.Equal(300, Assert.IsType<ResizeByLong>(pipeline.Transforms[0]).LongSize);
        Assert.IsType<Normalize>(pipeline.Transforms[1]);
    }

    [Fact]
    public void LeftOutParametersTakeTheConstructorDefaults()
    {
        foreach (string name in TransformConfig.Names)
        {
            var type = typeof(ISegTransform).Assembly.GetExportedTypes().Single(t => t.Name == name);
            string required = name switch
            {
                "ResizeByLong" => """{"long_size": 7}""",
                "ResizeByShort" => """{"short_size": 7}""",
                "Padding" => """{"target_size": [7, 7]}""",
                _ => "{}",
            };
            var built = Assert.Single(TransformConfig.FromJson($$"""[{"{{name}}": {{required}}}]""", name).Transforms);
            AssertSameProperties(DefaultInstance(type), built);
        }

        // The defaults are PaddleSeg's.
        var pipeline = TransformConfig.FromJson(
            """[{"Resize": {}}, {"RandomPaddingCrop": {"crop_size": 64}}, {"RandomVerticalFlip": {}}, {"RandomDistort": {"hue_range": 5}}]""", "defaults");
        var resize = (Resize)pipeline.Transforms[0];
        Assert.Equal((512, 512, false, (int?)null, Interpolation.Linear, false),
            (resize.Width, resize.Height, resize.KeepRatio, resize.SizeDivisor, resize.Interpolation, resize.RandomInterpolation));
        var crop = (RandomPaddingCrop)pipeline.Transforms[1];
        Assert.Equal((64, 64, 127.5f, 255, 1.0, 255, 10),
            (crop.Width, crop.Height, crop.ImagePaddingValue, crop.LabelPaddingValue, crop.CategoryMaxRatio, crop.IgnoreIndex, crop.LoopTimes));
        Assert.Equal(0.1, ((RandomVerticalFlip)pipeline.Transforms[2]).Probability);
        var distort = (RandomDistort)pipeline.Transforms[3];
        Assert.Equal((5.0, 0.5, 0.5, 0.0), (distort.HueRange, distort.HueProbability, distort.BrightnessRange, distort.SharpnessProbability));
    }

    [Fact]
    public void MalformedJsonNamesSourceLineAndPosition()
    {
        var error = Assert.Throws<TransformConfigException>(() => TransformConfig.FromJson(
            "[{\"Resize\": {\"target_size\": [512, 512]}},\n  {\"Normalize\": {\"mean\": [0.5,, 0.5]}}]", "model/state.json"));
        Assert.StartsWith("model/state.json: malformed JSON at line 2, position 31:", error.Message);
        Assert.Equal("model/state.json", error.Source);
        Assert.Equal("model/state.json", ((Exception)error).Source);
        Assert.Null(error.EntryIndex);
        Assert.IsAssignableFrom<FormatException>(error);
    }

    [Fact]
    public void ADocumentThatIsNotAListIsRejected()
    {
        var error = Assert.Throws<TransformConfigException>(() => TransformConfig.FromJson("""{"Resize": {}}""", "cfg"));
        Assert.Equal("""cfg: expected a JSON list of transforms such as [{"Resize": {"target_size": [512, 512]}}], got an object {"Resize": {}}.""", error.Message);
    }

    [Theory]
    [InlineData("""[42]""", 0, null, null, "expected {\"Name\": {parameters}} or {\"type\": \"Name\", parameters…}, got the number 42.")]
    [InlineData("""[{"Resize": {}, "Normalize": {}}]""", 0, null, null,
        "expected {\"Name\": {parameters}} or {\"type\": \"Name\", parameters…}, got an object with 2 keys (Resize, Normalize).")]
    [InlineData("""[{"Resize": {}}, {"Normalize": [0.5]}]""", 1, "Normalize", null, "expected its parameters as an object, got a list [0.5].")]
    [InlineData("""[{"type": 3}]""", 0, null, "type", "expected a transform name, got the number 3.")]
    [InlineData("""[{"RandomHorizontalFlip": {"prob": 0.5, "prob": 0.7}}]""", 0, "RandomHorizontalFlip", "prob", "given more than once.")]
    public void MalformedEntriesAreRejected(string json, int index, string? transform, string? parameter, string problem)
    {
        var error = Assert.Throws<TransformConfigException>(() => TransformConfig.FromJson(json, "cfg"));
        Assert.Equal((index, transform, parameter, problem), (error.EntryIndex, error.TransformName, error.ParameterName, error.Problem));
        Assert.StartsWith($"cfg: transforms[{index}]", error.Message);
        Assert.EndsWith(problem, error.Message);
    }

    [Fact]
    public void UnknownTransformListsTheKnownNames()
    {
        var error = Assert.Throws<TransformConfigException>(() =>
            TransformConfig.FromJson("""[{"Resize": {}}, {"type": "RandomFlip", "prob": 0.5}]""", "train.yml"));
        Assert.Equal((1, "RandomFlip"), (error.EntryIndex, error.TransformName));
        Assert.Equal($"train.yml: transforms[1] (RandomFlip): unknown transform; the known transforms are {string.Join(", ", TransformConfig.Names)}.",
            error.Message);
    }

    [Fact]
    public void UnknownParameterListsTheAcceptedNames()
    {
        var error = Assert.Throws<TransformConfigException>(() =>
            TransformConfig.FromJson("""[{"Resize": {"target_size": 64, "interpolation": "LINEAR"}}]""", "cfg"));
        Assert.Equal("cfg: transforms[0] (Resize), parameter 'interpolation': unknown parameter; Resize accepts target_size, keep_ratio, size_divisor, interp.",
            error.Message);

        error = Assert.Throws<TransformConfigException>(() =>
            TransformConfig.FromJson("""[{"type": "ResizeByShort", "short_size": 64, "long_size": 100}]""", "cfg"));
        Assert.Equal("long_size", error.ParameterName);
        Assert.EndsWith("ResizeByShort accepts short_size, max_size.", error.Message);
    }

    [Theory]
    [InlineData("""{"RandomHorizontalFlip": {"prob": "0.5"}}""", "prob", "expected a number, got a string \"0.5\".")]
    [InlineData("""{"ResizeByLong": {"long_size": 512.5}}""", "long_size", "expected an integer, got the number 512.5.")]
    [InlineData("""{"Resize": {"size_divisor": "32"}}""", "size_divisor", "expected an integer or null, got a string \"32\".")]
    [InlineData("""{"Resize": {"keep_ratio": 1}}""", "keep_ratio", "expected true or false, got the number 1.")]
    [InlineData("""{"Resize": {"target_size": [512, 512, 3]}}""", "target_size", "expected [width, height] or one integer for both, got a list [512, 512, 3].")]
    [InlineData("""{"Resize": {"interp": "LANCZOS4"}}""", "interp", "expected one of \"NEAREST\", \"LINEAR\", \"CUBIC\", \"AREA\", \"RANDOM\", got a string \"LANCZOS4\".")]
    [InlineData("""{"RandomBlur": {"blur_type": "Gaussian"}}""", "blur_type", "expected one of \"gaussian\", \"median\", \"blur\", \"random\", got a string \"Gaussian\".")]
    [InlineData("""{"Normalize": {"mean": [0.5, null, 0.5]}}""", "mean", "item 1: expected a number (single precision), got null.")]
    [InlineData("""{"Clip": {"max_val": {"r": 255}}}""", "max_val", "expected a list of numbers, got an object {\"r\": 255}.")]
    [InlineData("""{"Padding": {"target_size": 64, "im_padding_value": 1e39}}""", "im_padding_value", "expected a number (single precision), got the number 1e39.")]
    [InlineData("""{"RandomRotation": {"im_padding_value": [0, 127.5, 0]}}""", "im_padding_value",
        "expected a number, or a per-channel list of one repeated value, got a list [0, 127.5, 0].")]
    [InlineData("""{"RandomCenterCrop": {"retain_ratio": 0.5}}""", "retain_ratio", "expected a list of two numbers, got the number 0.5.")]
    [InlineData("""{"RandomCenterCrop": {"retain_ratio": [0.5, true]}}""", "retain_ratio", "item 1: expected a number, got the boolean true.")]
    [InlineData("""{"ResizeByLong": {}}""", "long_size", "missing; ResizeByLong has no default for it.")]
    public void ValuesOfTheWrongJsonTypeAreRejected(string entry, string parameter, string problem)
    {
        var error = Assert.Throws<TransformConfigException>(() => TransformConfig.FromJson($"[{{\"Resize\": {{}}}}, {entry}]", "model.json"));
        string transform = entry[2..entry.IndexOf('"', 2)];
        Assert.Equal((1, transform, parameter, problem), (error.EntryIndex, error.TransformName, error.ParameterName, error.Problem));
        Assert.Equal($"model.json: transforms[1] ({transform}), parameter '{parameter}': {problem}", error.Message);
    }

    [Theory]
    [InlineData("""{"RandomHorizontalFlip": {"prob": 1.5}}""", "prob", "1.5 rejected: probability must be a probability in [0, 1].")]
    [InlineData("""{"RandomDistort": {"hue_prob": -0.5}}""", "hue_prob", "-0.5 rejected: hueProbability must be a probability in [0, 1].")]
    [InlineData("""{"Resize": {"target_size": [0, 64]}}""", "target_size", "[0, 64] rejected: width must be positive.")]
    [InlineData("""{"RandomPaddingCrop": {"category_max_ratio": 0}}""", "category_max_ratio", "0 rejected: categoryMaxRatio must be in (0, 1].")]
    [InlineData("""{"Resize": {"size_divisor": -32}}""", "size_divisor", "-32 rejected: sizeDivisor must be positive.")]
    [InlineData("""{"ResizeStepScaling": {"min_scale_factor": 2, "max_scale_factor": 1}}""", null,
        "min_scale_factor=2, max_scale_factor=1 rejected: ResizeStepScaling: need 0 < minScaleFactor (2) ≤ maxScaleFactor (1) and scaleStepSize (0.25) ≥ 0.")]
    [InlineData("""{"Normalize": {"std": [0.5, 0]}}""", null, "std=[0.5, 0] rejected: Normalize: std must be non-zero, got [0.5, 0].")]
    [InlineData("""{"ResizeRangeScaling": {"min_value": 700}}""", null,
        "min_value=700 rejected: ResizeRangeScaling: minValue 700 must not exceed maxValue 600.")]
    public void ValuesTheConstructorRejectsNameTheParameter(string entry, string? parameter, string problem)
    {
        var error = Assert.Throws<TransformConfigException>(() => TransformConfig.FromJson($"[{entry}]", "cfg.json"));
        string transform = entry[2..entry.IndexOf('"', 2)];
        Assert.Equal((0, transform, parameter, problem), (error.EntryIndex, error.TransformName, error.ParameterName, error.Problem));
        Assert.IsAssignableFrom<ArgumentException>(error.InnerException);
        Assert.StartsWith($"cfg.json: transforms[0] ({transform})", error.Message);
    }

    public static TheoryData<string, bool> RandomnessCases => new()
    {
        { "Resize keep ratio", false }, { "Resize area", false }, { "Resize nearest", false }, { "Resize random interp", true },
        { "ResizeByLong", false }, { "ResizeByShort", false }, { "ResizeRangeScaling", true }, { "ResizeStepScaling", true },
        { "ResizeStepScaling continuous", true }, { "Normalize", false }, { "Padding", false }, { "RandomPaddingCrop", true },
        { "RandomCenterCrop", true }, { "RandomHorizontalFlip", true }, { "RandomVerticalFlip", true },
        { "RandomBlur median", true }, { "RandomBlur box", true }, { "RandomBlur random", true }, { "RandomRotation", true },
        { "RandomScaleAspect", true }, { "RandomDistort", true }, { "Clip", false }, { "nested Compose", true },
    };

    [Theory]
    [MemberData(nameof(RandomnessCases))]
    public void IsRandomTellsAugmentationsFromDeterministicSteps(string caseName, bool random)
    {
        Assert.Equal(random, TransformConfig.IsRandom(Cases[caseName]));
    }

    [Fact]
    public void IsRandomCoversEveryCaseAndLooksIntoComposes()
    {
        Assert.Equal(Cases.Keys.Order(), RandomnessCases.Select(row => (string)row[0]).Order());
        Assert.False(TransformConfig.IsRandom(new Compose(new Resize(), new Compose(new Padding(600, 600), new Normalize()))));
        Assert.True(TransformConfig.IsRandom(new Compose(new Resize(), new Compose(new Normalize(), new RandomVerticalFlip(0)))));
        Assert.False(TransformConfig.IsRandom(new Compose()));
        var error = Assert.Throws<ArgumentException>(() => TransformConfig.IsRandom(new Compose(new UserTransform())));
        Assert.Contains(nameof(UserTransform), error.Message);
    }

    [Fact]
    public void NamesAreStableAndInPaddleSegSpelling()
    {
        Assert.Equal(
        [
            "Resize", "ResizeByLong", "ResizeByShort", "ResizeRangeScaling", "ResizeStepScaling", "Normalize", "Padding",
            "RandomPaddingCrop", "RandomCenterCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomBlur",
            "RandomRotation", "RandomScaleAspect", "RandomDistort", "Clip",
        ], TransformConfig.Names);
    }

    private static List<ISegTransform> Steps(ISegTransform transform) =>
        transform is Compose compose ? [.. compose.Transforms.SelectMany(Steps)] : [transform];

    /// <summary>A 24×32 RGB image of whole 0–255 values and a label of blocks of classes 0–3 with some 255.</summary>
    private static SegSample RandomSample(int seed)
    {
        var random = new Random(1000 + seed);
        var image = new Image<float>(24, 32, 3);
        for (int i = 0; i < image.Pixels.Length; i++)
            image.Pixels[i] = random.Next(256);
        var label = new Image<int>(24, 32, 1);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 32; x++)
                label[y, x] = random.Next(20) == 0 ? SegSample.IgnoreIndex : (y / 8 + x / 8 + seed) % 4;
        return new SegSample(image, label, $"random-{seed}");
    }

    /// <summary>The transform built with its constructor's defaults (the smallest value for an argument without one).</summary>
    private static ISegTransform DefaultInstance(Type type)
    {
        var constructor = type.GetConstructors().Single();
        object?[] arguments = [.. constructor.GetParameters().Select(p => p.HasDefaultValue ? p.DefaultValue : 7)];
        return (ISegTransform)constructor.Invoke(arguments);
    }

    private static void AssertSameProperties(ISegTransform expected, ISegTransform actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        foreach (var property in expected.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            Assert.True(SameValue(property.GetValue(expected), property.GetValue(actual)),
                $"{expected.GetType().Name}.{property.Name}: {Show(property.GetValue(expected))} became {Show(property.GetValue(actual))}.");
    }

    private static bool SameValue(object? a, object? b) =>
        a is IEnumerable listA && b is IEnumerable listB
            ? listA.Cast<object>().SequenceEqual(listB.Cast<object>())
            : Equals(a, b);

    private static string Show(object? value) =>
        value is IEnumerable list ? $"[{string.Join(", ", list.Cast<object>())}]" : $"{value}";

    private sealed class UserTransform : ISegTransform
    {
        public void Apply(SegSample sample, Random random) { }
    }

    [Theory]
    [InlineData(100, 100)]
    [InlineData(0, null)]
    [InlineData(-1, null)]
    public void PaddleXResizeByShortMaxSizeIsReadWithItsDisabledValues(int maxSize, int? expected)
    {
        var transform = Assert.IsType<ResizeByShort>(Assert.Single(
            TransformConfig.FromJson("""[{"ResizeByShort": {"short_size": 64, "max_size": """ + maxSize + "}}]", "model.yml").Transforms));
        Assert.Equal((64, expected), (transform.ShortSize, transform.MaxSize));
    }

    [Fact]
    public void PaddleXRandomRotateIsReadAsRandomRotationAndWrittenInPaddleSegSpelling()
    {
        var compose = TransformConfig.FromJson("""[{"RandomRotate": {"rotate_range": 30, "label_padding_value": 0}}]""", "model.yml");

        var rotation = Assert.IsType<RandomRotation>(Assert.Single(compose.Transforms));
        Assert.Equal((30.0, 0), (rotation.MaxRotation, rotation.LabelPaddingValue));
        Assert.StartsWith("""[{"RandomRotation":{"max_rotation":30,""", TransformConfig.ToJson(compose));
        Assert.DoesNotContain("RandomRotate", TransformConfig.Names);
    }
}
