namespace SharpSeg.Data.Tests.Imaging;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sharpseg-atomic-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void AFailedWriteKeepsTheOldFileAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_folder, "metrics.json");
        AtomicFile.WriteAllText(path, "old");

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("new, half written"u8);
            throw new IOException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void ASuccessfulWriteReplacesTheFileWithUtf8WithoutAByteOrderMark()
    {
        string path = Path.Combine(_folder, "labels.txt");
        AtomicFile.WriteAllText(path, "old content that is longer");
        AtomicFile.WriteAllText(path, "ciel\nroute\n");

        Assert.Equal("ciel\nroute\n"u8.ToArray(), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }
}
