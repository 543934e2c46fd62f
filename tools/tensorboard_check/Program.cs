using System.Globalization;
using System.Text.Json;
using SharpSeg;
using SharpSeg.Data.Datasets;
using SharpSeg.Data.Synthetic;
using SharpSeg.Data.Transforms;
using SharpSeg.Models;
using SharpSeg.Nn;
using SharpSeg.Training;
using SharpSeg.Training.Logging;

// Writes five TensorBoard runs under args[0] for tools/check_tensorboard_events.py, each with an expected.json listing
// every scalar written (tag, step, float32 bits, wall time, whether a later purge step hides it from TensorBoard),
// except "train", whose expected values come from its metrics.jsonl:
//   edge/    awkward tags, steps and values through TensorBoardWriter;
//   golden/  the scalars of tests/SharpSeg.Training.Tests/Golden/tensorboard/scalars.tfevents (fixed clock);
//   resume/  two writers opened in the same second, so the second file gets the ".1" suffix;
//   restart/ two files, the second with a purge step, as a run resumed from a checkpoint writes them (the second file
//            is Golden/tensorboard/purge_step.tfevents);
//   train/   a real Segmenter.Train(useVdl: true) run; its event files are in train/vdl_log.
string root = Path.GetFullPath(args.Length > 0 ? args[0] : throw new ArgumentException("usage: TensorBoardCheckWriter <output folder>"));
if (Directory.Exists(root)) Directory.Delete(root, recursive: true);

var start = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

WriteRun(Path.Combine(root, "edge"), start, writer =>
{
    var points = new List<(string Tag, long Step, double Value)>();
    string longTag = "long/" + new string('x', 200);
    (string, long, double)[] awkward =
    [
        ("Train/loss", 0, 2.5), ("Train/loss", 1, 0.1), ("Train/loss", 127, -1.75), ("Train/loss", 128, 1e-30),
        ("Train/loss", 16_384, 3.4e38), ("Train/loss", int.MaxValue + 1L, 1.401298464324817e-45), ("Train/loss", 1L << 40, -0.0),
        ("Train/loss", long.MaxValue, 123456.789),
        ("Evaluation/miou", 1, double.NaN), ("Evaluation/miou", 2, double.PositiveInfinity), ("Evaluation/miou", 3, double.NegativeInfinity),
        ("Evaluation/miou", 4, 0.5),
        ("精度/mIoU α", 7, 0.75), (longTag, 5, 42), ("with space/and-dash_and.dot", 9, 1.0 / 3),
    ];
    foreach (var point in awkward)
    {
        writer.AddScalar(point.Item1, point.Item3, point.Item2);
        points.Add(point);
    }
    for (int step = 1; step <= 500; step++)
    {
        double value = Math.Exp(-step / 100.0) + 0.01 * Math.Sin(step);
        writer.AddScalar("Train/lr", value, step);
        points.Add(("Train/lr", step, value));
    }
    return points;
});

WriteRun(Path.Combine(root, "golden"), start, writer =>
{
    (string, long, double)[] points = [("Train/loss", 1, 1.25), ("Train/lr", 1, 0.01), ("Train/loss", 300, 0.5), ("Evaluation/miou", 2, 0.625)];
    foreach (var (tag, step, value) in points) writer.AddScalar(tag, value, step);
    return [.. points];
});

string resume = Path.Combine(root, "resume");
var resumeExpected = new List<object>();
int resumeTick = 0;
var resumeClock = () => start.AddSeconds(resumeTick++ * 0.1);
foreach (var (firstStep, lastStep) in new[] { (1, 3), (4, 6) })
{
    using var writer = new TensorBoardWriter(resume, resumeClock);
    for (int step = firstStep; step <= lastStep; step++)
    {
        var wallTime = start.AddSeconds(resumeTick * 0.1);
        writer.AddScalar("Train/loss", 10.0 / step, step);
        resumeExpected.Add(Expected("Train/loss", step, 10.0 / step, wallTime));
    }
    Console.WriteLine($"resume: {Path.GetFileName(writer.FilePath)}");
}
File.WriteAllText(Path.Combine(resume, "expected.json"), JsonSerializer.Serialize(resumeExpected));

// An interrupted run resumed from its step-3 checkpoint: the second writer's purge step hides steps 4…6 of the first file.
string restart = Path.Combine(root, "restart");
var restartExpected = new List<object>();
int restartTick = 0;
var restartClock = () => start.AddSeconds(restartTick++ * 10);
foreach (var (firstStep, lastStep, purgeStep, scale) in new[] { (1, 6, (long?)null, 10.0), (4, 6, 4L, 100.0) })
{
    using var writer = new TensorBoardWriter(restart, restartClock, purgeStep);
    for (int step = firstStep; step <= lastStep; step++)
    {
        var wallTime = start.AddSeconds(restartTick * 10);
        writer.AddScalar("Train/loss", scale / step, step);
        restartExpected.Add(Expected("Train/loss", step, scale / step, wallTime, hidden: purgeStep is null && step >= 4));
    }
    Console.WriteLine($"restart: {Path.GetFileName(writer.FilePath)}");
}
File.WriteAllText(Path.Combine(restart, "expected.json"), JsonSerializer.Serialize(restartExpected));

string train = Path.Combine(root, "train");
var segmenter = new Segmenter(new TinyConvNet(3), "tiny");
SegDataset Synthetic(int count, int seed, DatasetMode mode) =>
    new SyntheticDataset(new SyntheticOptions(Count: count, Height: 32, Width: 32, NumClasses: 3, Seed: seed, MaxShapes: 3), mode, new Compose(new Normalize()));
segmenter.Train(3, Synthetic(4, 61, DatasetMode.Train), trainBatchSize: 2, evalDataset: Synthetic(2, 62, DatasetMode.Val),
    logIntervalSteps: 1, saveDir: train, useVdl: true);
Console.WriteLine($"wrote {root}");

static void WriteRun(string folder, DateTimeOffset start, Func<TensorBoardWriter, List<(string Tag, long Step, double Value)>> write)
{
    int tick = 0;
    // One clock reading per event: the file-version event at start, then start + 1 s, + 2 s, … for the scalars.
    using var writer = new TensorBoardWriter(folder, () => start.AddSeconds(tick++));
    var points = write(writer);
    var expected = points.Select((p, i) => Expected(p.Tag, p.Step, p.Value, start.AddSeconds(i + 1))).ToList();
    File.WriteAllText(Path.Combine(folder, "expected.json"), JsonSerializer.Serialize(expected));
    Console.WriteLine($"{Path.GetFileName(folder)}: {Path.GetFileName(writer.FilePath)}, {points.Count} scalars");
}

// hidden: in the file, but a later file's purge step tells TensorBoard to drop it.
static object Expected(string tag, long step, double value, DateTimeOffset wallTime, bool hidden = false) => new
{
    tag,
    hidden,
    step = step.ToString(CultureInfo.InvariantCulture),
    float32_bits = BitConverter.SingleToUInt32Bits((float)value),
    wall_time = (wallTime - DateTimeOffset.UnixEpoch).TotalSeconds,
};

/// <summary>conv → BatchNorm → ReLU → conv, the smallest model Segmenter trains.</summary>
internal sealed class TinyConvNet : SegmentationModel
{
    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn;

    public TinyConvNet(int numClasses) : base(new ModelOptions(numClasses, 3))
    {
        Engine.ManualSeed(2);
        _conv1 = Child("conv1", new Conv2d(3, 8, 3, padding: 1));
        _bn = Child("bn", new BatchNorm2d(8));
        _conv2 = Child("conv2", new Conv2d(8, numClasses, 3, padding: 1));
    }

    public override int SizeDivisor => 1;

    protected override IReadOnlyList<Tensor> ForwardLogits(Tensor x) => [_conv2.Forward(_bn.Forward(_conv1.Forward(x)).Relu())];
}
