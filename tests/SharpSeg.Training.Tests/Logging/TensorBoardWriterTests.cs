using System.Text;
using SharpSeg.Training.Logging;

namespace SharpSeg.Training.Tests.Logging;

public sealed class TensorBoardWriterTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sharpseg-tb-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    public void Crc32CKnownVectors(string text, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Crc32CRfc3720Vectors()
    {
        // RFC 3720 appendix B.4: 32 zero bytes, 32 × 0xFF, bytes 0…31.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
    }

    [Fact]
    public void Crc32CMatchesABitwiseReferenceOnEveryLength()
    {
        var random = new Random(11);
        for (int length = 0; length < 70; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(TfRecordReader.ReferenceCrc32C(data), Crc32C.Compute(data));
        }
    }

    [Fact]
    public void MaskedCrcOfTheKnownVector()
    {
        // 0xE3069283 rotated right by 15: (0xE3069283 >> 15) = 0x0001C60D, (0xE3069283 << 17) mod 2³² = 0x25060000,
        // together 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5.
        Assert.Equal(0xC78AB0E5u, Crc32C.Mask(0xE3069283));
    }

    [Fact]
    public void ScalarEventEncodesByteForByte()
    {
        // wall_time 1.5: key (1 << 3 | 1) = 0x09, then 1.5 as little-endian IEEE double 0x3FF8000000000000.
        // step 3: key (2 << 3 | 0) = 0x10, varint 0x03.
        // summary: key (5 << 3 | 2) = 0x2A, length 13, holding Summary.value: key (1 << 3 | 2) = 0x0A, length 11,
        // holding Value.tag: 0x0A, length 4, "loss" = 6C 6F 73 73; Value.simple_value: key (2 << 3 | 5) = 0x15,
        // 0.25f little-endian = 0x3E800000 → 00 00 80 3E.
        byte[] expected =
        [
            0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,
            0x10, 0x03,
            0x2A, 0x0D,
            0x0A, 0x0B,
            0x0A, 0x04, 0x6C, 0x6F, 0x73, 0x73,
            0x15, 0x00, 0x00, 0x80, 0x3E,
        ];

        Assert.Equal(expected, TensorBoardEvents.ScalarEvent(1.5, 3, "loss", 0.25f));
    }

    [Fact]
    public void StepZeroIsLeftOutAndLargeStepsUseMultiByteVarints()
    {
        // Value = 0A 01 'a' 15 + 1f (00 00 80 3F): 8 bytes; Summary = 0A 08 + Value: 10 bytes; no step field.
        byte[] zero = TensorBoardEvents.ScalarEvent(0, 0, "a", 1f);
        Assert.Equal([0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0, 0, 0x80, 0x3F], zero);

        // 300 = 0b10_0101100 → varint AC 02.
        byte[] large = TensorBoardEvents.ScalarEvent(0, 300, "a", 1f);
        Assert.Equal([0x10, 0xAC, 0x02], large[9..12]);
    }

    [Fact]
    public void FileVersionEventEncodesByteForByte()
    {
        // wall_time 2.0 = 0x4000000000000000; file_version: key (3 << 3 | 2) = 0x1A, length 13, "brain.Event:2".
        byte[] expected = [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x1A, 0x0D, .. Encoding.ASCII.GetBytes("brain.Event:2")];

        Assert.Equal(expected, TensorBoardEvents.FileVersionEvent(2.0));
    }

    [Fact]
    public void SessionStartEventEncodesByteForByte()
    {
        // wall_time 2.0; step 4: 0x10 0x04; session_log: key (7 << 3 | 2) = 0x3A, length 2, holding status: key
        // (1 << 3 | 0) = 0x08, START = 1.
        byte[] expected = [0x09, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 0x04, 0x3A, 0x02, 0x08, 0x01];

        Assert.Equal(expected, TensorBoardEvents.SessionStartEvent(2.0, 4));
    }

    [Fact]
    public void RecordFramesLengthDataAndMaskedCrcs()
    {
        byte[] data = TensorBoardEvents.ScalarEvent(1.5, 3, "loss", 0.25f);

        byte[] record = TensorBoardEvents.Record(data);

        // Length 26 as uint64 LE; CRCs computed with the bitwise reference and masked by hand's formula:
        // masked CRC-32C of 1A 00 00 00 00 00 00 00 = 0x2DD89B12, of the 26 data bytes = 0x55B254D0.
        byte[] expected = [0x1A, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x9B, 0xD8, 0x2D, .. data, 0xD0, 0x54, 0xB2, 0x55];
        Assert.Equal(expected, record);
        Assert.Equal(0x2DD89B12u, TfRecordReader.ReferenceMask(TfRecordReader.ReferenceCrc32C(expected.AsSpan(0, 8))));
        Assert.Equal(0x55B254D0u, TfRecordReader.ReferenceMask(TfRecordReader.ReferenceCrc32C(data)));
    }

    [Fact]
    public void WriterProducesAFileTheReaderParsesBack()
    {
        var start = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        int tick = 0;
        string path;
        using (var writer = new TensorBoardWriter(_folder, () => start.AddSeconds(tick++)))
        {
            writer.AddScalar("train/loss", 1.25, 1);
            writer.AddScalar("train/lr", 0.01, 1);
            writer.AddScalar("eval/miou", 0.5, 10);
            path = writer.FilePath;
        }

        string name = Path.GetFileName(path);
        Assert.StartsWith($"events.out.tfevents.{start.ToUnixTimeSeconds()}.", name);
        Assert.Equal(_folder, Path.GetDirectoryName(path));

        var events = TfRecordReader.ReadEvents(path);
        Assert.Equal(4, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(start.ToUnixTimeSeconds(), events[0].WallTime);
        Assert.Empty(events[0].Scalars);
        Assert.Equal(("train/loss", 1.25f), Assert.Single(events[1].Scalars));
        Assert.Equal(1, events[1].Step);
        Assert.Equal(start.ToUnixTimeSeconds() + 1, events[1].WallTime);
        Assert.Equal(("train/lr", 0.01f), Assert.Single(events[2].Scalars));
        Assert.Equal(("eval/miou", 0.5f), Assert.Single(events[3].Scalars));
        Assert.Equal(10, events[3].Step);
    }

    [Fact]
    public void WriterReproducesTheGoldenFileTensorBoardReads()
    {
        // tools/check_tensorboard_events.py wrote these scalars with this clock and checked that TensorBoard 2.22's own
        // readers (CRC-checking record reader, EventAccumulator, the --logdir ingester and its HTTP scalars route) read
        // every tag, step, value and wall time back; then it committed the file.
        var start = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        int tick = 0;
        string path;
        using (var writer = new TensorBoardWriter(_folder, () => start.AddSeconds(tick++)))
        {
            writer.AddScalar("Train/loss", 1.25, 1);
            writer.AddScalar("Train/lr", 0.01, 1);
            writer.AddScalar("Train/loss", 0.5, 300);
            writer.AddScalar("Evaluation/miou", 0.625, 2);
            path = writer.FilePath;
        }

        byte[] golden = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "tensorboard", "scalars.tfevents"));
        Assert.Equal(golden, File.ReadAllBytes(path));
    }

    [Fact]
    public void PurgeStepReproducesTheGoldenFileThatMakesTensorBoardDropLaterSteps()
    {
        // tools/check_tensorboard_events.py's "restart" run: a first file with steps 1…6, then this one, opened 70 s after
        // it with purge step 4. TensorBoard's readers showed steps 1…3 of the first file and 4…6 of this one, and
        // nothing else; the file was committed from that run.
        var start = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        int tick = 7;
        string path;
        using (var writer = new TensorBoardWriter(_folder, () => start.AddSeconds(tick++ * 10), purgeStep: 4))
        {
            for (int step = 4; step <= 6; step++) writer.AddScalar("Train/loss", 100.0 / step, step);
            path = writer.FilePath;
        }

        byte[] golden = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "tensorboard", "purge_step.tfevents"));
        Assert.Equal(golden, File.ReadAllBytes(path));
        var events = TfRecordReader.ReadEvents(path);
        Assert.Equal([0L, 4, 4, 4, 5, 6], events.Select(e => e.Step));
        Assert.All(events.Take(3), e => Assert.Empty(e.Scalars));
        Assert.Equal([100f / 4, 100f / 5, 100f / 6], events.Skip(3).Select(e => Assert.Single(e.Scalars).Item2));
    }

    [Fact]
    public void EventsAreReadableBeforeTheWriterCloses()
    {
        using var writer = new TensorBoardWriter(_folder);
        writer.AddScalar("loss", 2, 5);

        var events = TfRecordReader.ReadEvents(writer.FilePath);

        Assert.Equal(("loss", 2f), Assert.Single(events[1].Scalars));
    }

    [Fact]
    public void TwoWritersInTheSameSecondGetTwoFiles()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        using var first = new TensorBoardWriter(_folder, () => now);
        using var second = new TensorBoardWriter(_folder, () => now);

        Assert.NotEqual(first.FilePath, second.FilePath);
        Assert.StartsWith(first.FilePath, second.FilePath);
        Assert.Single(TfRecordReader.ReadEvents(first.FilePath));
    }
}
