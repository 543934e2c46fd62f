using SharpSeg.Data;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Data;

/// <summary>The Pascal VOC reader: 1-based boxes to torchvision's convention, difficult flags, errors with lines.</summary>
public class VocReaderTests
{
    private static string Xml(int width, int height, string objects) => $"""
        <annotation>
          <filename>x.jpg</filename>
          <size><width>{width}</width><height>{height}</height><depth>3</depth></size>
        {objects}
        </annotation>
        """;

    private static string Object(string name, int xmin, int ymin, int xmax, int ymax, int difficult = 0) => $"""
          <object>
            <name>{name}</name><difficult>{difficult}</difficult>
            <bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>
          </object>

        """;

    private static TempFolder Voc(params (string Id, int Width, int Height, string Objects)[] images)
    {
        var folder = new TempFolder();
        folder.File("ImageSets/Main/train.txt", string.Join("\n", images.Select(i => i.Id)) + "\n");
        foreach (var (id, width, height, objects) in images)
        {
            folder.File($"Annotations/{id}.xml", Xml(width, height, objects));
            // A PNG under the .jpg name: the codecs pick the decoder from the bytes.
            Directory.CreateDirectory(Path.Combine(folder.Path, "JPEGImages"));
            ImageFile.WritePng(Path.Combine(folder.Path, "JPEGImages", id + ".jpg"), new Image<byte>(height, width, 3));
        }
        return folder;
    }

    [Fact]
    public void BoxesBecomeZeroBasedWithExclusiveEndsAndDifficultIsKept()
    {
        using var folder = Voc(("000001", 40, 30, Object("dog", 1, 2, 10, 20) + Object("person", 5, 5, 40, 30, difficult: 1)),
            ("000002", 16, 16, ""));
        var dataset = new VocDetectionDataset(folder.Path, "train");
        Assert.Equal(21, dataset.NumClasses);
        var target = dataset.Load(0).Target;
        // xmin 1…xmax 10 (1-based, inclusive) are pixels 0…9: the box [0, 10).
        Assert.Equal([0f, 1, 10, 20, 4, 4, 40, 30], target.Boxes);
        Assert.Equal([12, 15], target.Labels);
        Assert.Equal([false, true], target.Difficult!);
        Assert.Equal([10f * 19, 36 * 26], target.Area);
        Assert.Equal(0, dataset.Load(1).Target.Count);
    }

    [Theory]
    [InlineData("unicorn", 1, 1, 5, 5, "unknown class \"unicorn\"")]
    [InlineData("dog", 0, 1, 5, 5, "lies outside the 40×30 image")]
    [InlineData("dog", 1, 1, 41, 5, "lies outside the 40×30 image")]
    [InlineData("dog", 6, 1, 5, 5, "non-positive size")]
    public void BadObjectIsAnErrorNamingFileObjectAndLine(string name, int xmin, int ymin, int xmax, int ymax, string problem)
    {
        using var folder = Voc(("a", 40, 30, Object("cat", 1, 1, 4, 4) + Object(name, xmin, ymin, xmax, ymax)));
        var dataset = new VocDetectionDataset(folder.Path, "train");
        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(0));
        Assert.Contains(Path.Combine(folder.Path, "Annotations", "a.xml") + ", line 8: object 1", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void MalformedXmlAndMissingImagesAreErrors()
    {
        using var folder = Voc(("a", 40, 30, ""));
        folder.File("Annotations/a.xml", "<annotation>\n<size><width>4</width>\n</annotation>");
        var dataset = new VocDetectionDataset(folder.Path, "train");
        Assert.Contains("a.xml, line 3: malformed XML", Assert.Throws<InvalidDataException>(() => dataset.Load(0)).Message);

        File.Delete(Path.Combine(folder.Path, "JPEGImages", "a.jpg"));
        var missing = Assert.Throws<FileNotFoundException>(() => new VocDetectionDataset(folder.Path, "train"));
        Assert.Contains("train.txt, line 1: image", missing.Message);
    }
}
