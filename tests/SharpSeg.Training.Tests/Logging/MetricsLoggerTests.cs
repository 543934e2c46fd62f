using System.Text.Json;
using SharpSeg.Training.Logging;
using SharpSeg.Training.Metrics;

namespace SharpSeg.Training.Tests.Logging;

public sealed class MetricsLoggerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sharpseg-log-" + Guid.NewGuid().ToString("N"));

    private string LogPath => Path.Combine(_folder, "sub", "metrics.jsonl");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static string[] ReadLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }

    private sealed record StepEntry(int Epoch, long Step, double Loss, double LearningRate);

    [Fact]
    public void WritesOneSnakeCaseObjectPerLineVisibleBeforeClosing()
    {
        using var logger = new MetricsLogger(LogPath);
        logger.Log(new StepEntry(1, 10, 0.5, 0.01));
        logger.Log(new Dictionary<string, object> { ["kind"] = "eval", ["miou"] = 0.25 });

        string[] lines = ReadLines(LogPath);

        Assert.Equal(["""{"epoch":1,"step":10,"loss":0.5,"learning_rate":0.01}""", """{"kind":"eval","miou":0.25}""", ""], lines);
    }

    [Fact]
    public void AppendKeepsEarlierLinesAndOverwriteDropsThem()
    {
        using (var logger = new MetricsLogger(LogPath)) logger.Log(new { epoch = 1 });
        using (var logger = new MetricsLogger(LogPath, append: true)) logger.Log(new { epoch = 2 });
        Assert.Equal(["""{"epoch":1}""", """{"epoch":2}""", ""], ReadLines(LogPath));

        using (var logger = new MetricsLogger(LogPath, append: false)) logger.Log(new { epoch = 3 });
        Assert.Equal(["""{"epoch":3}""", ""], ReadLines(LogPath));
    }

    [Fact]
    public void AClockPutsTheUtcTimeFirstOnEveryLine()
    {
        var time = new DateTimeOffset(2026, 11, 21, 18, 4, 2, 123, TimeSpan.FromHours(1));
        using (var logger = new MetricsLogger(LogPath, clock: () => time))
        {
            logger.Log(new { epoch = 1 });
            logger.Log(new { });
        }

        Assert.Equal(["""{"time":"2026-11-21T17:04:02.123Z","epoch":1}""", """{"time":"2026-11-21T17:04:02.123Z"}""", ""], ReadLines(LogPath));
    }

    [Fact]
    public void NonFiniteValuesAreWrittenAsStringsKeepingTheLineValidJson()
    {
        using var logger = new MetricsLogger(LogPath);

        logger.Log(new { loss = double.NaN, grad = double.PositiveInfinity });

        string line = ReadLines(LogPath)[0];
        Assert.Equal("""{"loss":"NaN","grad":"Infinity"}""", line);
        using var parsed = JsonDocument.Parse(line);
    }

    [Fact]
    public void SegmentationMetricsLogWithPaddleXKeys()
    {
        using var logger = new MetricsLogger(LogPath);

        logger.Log(ConfusionMatrix.FromCounts(new long[,] { { 1, 0 }, { 0, 1 } }).ComputeMetrics());

        using var line = JsonDocument.Parse(ReadLines(LogPath)[0]);
        Assert.Equal(1.0, line.RootElement.GetProperty("miou").GetDouble());
        Assert.Equal(2, line.RootElement.GetProperty("category_iou").GetArrayLength());
    }

    [Fact]
    public void ANonObjectEntryIsRefused()
    {
        using var logger = new MetricsLogger(LogPath);

        var e = Assert.Throws<ArgumentException>(() => logger.Log(42));

        Assert.Contains("must be a JSON object", e.Message);
        Assert.Equal([""], ReadLines(LogPath));
    }
}
