using SharpSeg.Data;
using SharpSeg.Detection.Data;

namespace SharpSeg.Detection.Tests.Data;

/// <summary>The COCO instances reader: conversions, masks, and errors that name file, id and line.</summary>
public class CocoReaderTests
{
    private static readonly string Golden = Path.Combine(AppContext.BaseDirectory, "Golden", "coco");

    [Fact]
    public void ReadsBoxesLabelsMasksCrowdsAndKeepsImagesWithoutAnnotations()
    {
        var file = CocoAnnotationFile.Load(Path.Combine(Golden, "instances.json"));
        using var folder = new TempFolder();
        foreach (var image in file.Images)
            ImageFile.WritePng(Path.Combine(folder.Path, image.FileName), new Image<byte>(image.Height, image.Width, 3));
        var dataset = new CocoDetectionDataset(folder.Path, file);

        // Categories 1, 3, 7, 9 become labels 1…4; samples are the images in id order, the unannotated image 6 included.
        Assert.Equal(["background", "disk", "rectangle", "triangle", "never annotated"], dataset.ClassNames);
        Assert.Equal([1L, 3, 5, 6, 8], dataset.ImageIds);
        Assert.Equal(0, dataset.Load(3).Target.Count);

        var sample = dataset.Load(1);   // image 3
        var annotations = file.AnnotationsByImage[3];
        Assert.Equal(annotations.Count, sample.Target.Count);
        for (int i = 0; i < annotations.Count; i++)
        {
            var a = annotations[i];
            Assert.Equal((float)a.Box.X, sample.Target.Boxes[4 * i]);
            Assert.Equal((float)a.Box.Y + (float)a.Box.Height, sample.Target.Boxes[4 * i + 3]);
            Assert.Equal(file.CategoriesById[a.CategoryId].Label, sample.Target.Labels[i]);
            Assert.Equal(a.IsCrowd, sample.Target.IsCrowd[i]);
            Assert.Equal((float)a.Area, sample.Target.Area[i]);
            Assert.Equal(a.Segmentation!.ToRle(120, 160).Decode(), sample.Target.Masks![i].ToArray());
        }
        // The two-part rectangle: both parts in one mask (30×20 + 20×10 pixels at pixel-corner coordinates).
        int twoPart = annotations.ToList().FindIndex(a => a.Segmentation!.Polygons is { Count: 2 });
        Assert.Equal(600 + 200, sample.Target.Masks!.Area(twoPart));
        // The crowd region is an uncompressed RLE: a 35×50 block with a 10×10 hole.
        int crowd = Array.IndexOf(sample.Target.IsCrowd, true);
        Assert.Equal(35 * 50 - 100, sample.Target.Masks!.Area(crowd));
        var withoutCrowds = sample.Target.WithoutCrowds();
        Assert.Equal(sample.Target.Count - 1, withoutCrowds.Count);
        Assert.DoesNotContain(true, withoutCrowds.IsCrowd);
    }

    [Fact]
    public void SyntheticSetWrittenAsCocoReadsBackIdentically()
    {
        using var folder = new TempFolder();
        var options = new SyntheticDetectionOptions(Height: 48, Width: 64, Seed: 3);
        SyntheticDetectionDataset.WriteCoco(folder.Path, options, trainCount: 3, valCount: 2);
        var generator = new SyntheticDetectionDataset(options with { Count = 5 });
        var val = new CocoDetectionDataset(Path.Combine(folder.Path, "images"), Path.Combine(folder.Path, "annotations", "instances_val.json"));
        Assert.Equal(2, val.Count);
        for (int i = 0; i < 2; i++)
        {
            var expected = generator.Load(3 + i);
            var read = val.Load(i);
            Assert.Equal(expected.Image.Pixels, read.Image.Pixels);
            Assert.Equal(expected.Target.Boxes, read.Target.Boxes);
            Assert.Equal(expected.Target.Labels, read.Target.Labels);
            Assert.Equal(expected.Target.Area, read.Target.Area);
            Assert.Equal(expected.Target.Masks!.Data, read.Target.Masks!.Data);
            Assert.Equal(3 + i, read.Target.ImageId);
        }
    }

    private const string Images = """
        {"images": [
        {"id": 1, "file_name": "a.png", "height": 20, "width": 30},
        {"id": 2, "file_name": "b.png", "height": 10, "width": 10}
        ],
        "categories": [{"id": 5, "name": "thing"}],
        "annotations": [
        {"id": 11, "image_id": 1, "category_id": 5, "iscrowd": 0, "area": 20, "bbox": [1, 1, 4, 5], "segmentation": [[1, 1, 5, 1, 5, 6]]},
        """;

    public static TheoryData<string, string, string> BadAnnotations() => new()
    {
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [25, 2, 10, 5]}""", "outside the 30×20 image", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [2, 2, 0, 5]}""", "non-positive width or height", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 6, "bbox": [2, 2, 3, 5]}""", "category_id 6 is not among the file's categories [5]", "annotation 12" },
        { """{"id": 12, "image_id": 9, "category_id": 5, "bbox": [2, 2, 3, 5]}""", "image_id 9 is not in the file's images", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [2, 2, 3, 5], "segmentation": []}""", "empty polygon list", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [2, 2, 3, 5], "segmentation": [[2, 2, 5, 7]]}""", "needs at least 3", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [2, 2, 3, 5], "segmentation": [[2, 2, 3, 3, 4, 4]]}""", "degenerate", "annotation 12" },
        { """{"id": 12, "image_id": 1, "category_id": 5, "bbox": [2, 2, 3, 5], "segmentation": {"size": [10, 10], "counts": [100]}}""", "is not the image's size [20, 30]", "annotation 12" },
        { """{"id": 12, "image_id": 2, "category_id": 5, "bbox": [2, 2, 3, 5], "segmentation": {"size": [10, 10], "counts": [40, 50]}}""", "add up to 90", "annotation 12" },
        { """{"id": 12, "image_id": 2, "category_id": 5, "iscrowd": 2, "bbox": [2, 2, 3, 5]}""", "iscrowd is 2", "annotation 12" },
        { """{"id": 11, "image_id": 2, "category_id": 5, "bbox": [2, 2, 3, 5]}""", "appears more than once", "annotation 11" },
    };

    [Theory]
    [MemberData(nameof(BadAnnotations))]
    public void BadAnnotationIsAnErrorNamingFileIdAndLine(string annotation, string problem, string id)
    {
        string json = Images + "\n" + annotation + "\n]}";
        var error = Assert.Throws<InvalidDataException>(() => CocoAnnotationFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "bad.json"));
        Assert.Contains(problem, error.Message);
        Assert.Contains(id, error.Message);
        Assert.StartsWith("bad.json, line 8:", error.Message);
    }

    [Fact]
    public void MalformedJsonNamesTheLine()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            CocoAnnotationFile.Parse(System.Text.Encoding.UTF8.GetBytes("{\"images\": [\n{\"id\": 1,,}\n]}"), "broken.json"));
        Assert.StartsWith("broken.json, line 2: malformed JSON", error.Message);
    }

    [Fact]
    public void BoxesOvershootingByRoundingAreClippedAndMissingImagesAreErrors()
    {
        string json = Images + "\n{\"id\": 12, \"image_id\": 1, \"category_id\": 5, \"bbox\": [20, 0.5, 10.01, 4]}\n]}";
        var file = CocoAnnotationFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "ok.json");
        Assert.Equal(new SharpSeg.Detection.Evaluation.CocoBox(20, 0.5, 10.01, 4), file.Annotations[1].Box);

        using var folder = new TempFolder();
        ImageFile.WritePng(Path.Combine(folder.Path, "a.png"), new Image<byte>(20, 30, 3));
        var error = Assert.Throws<FileNotFoundException>(() => new CocoDetectionDataset(folder.Path, file));
        Assert.Contains("image 2 names file b.png", error.Message);

        ImageFile.WritePng(Path.Combine(folder.Path, "b.png"), new Image<byte>(12, 10, 3));
        var dataset = new CocoDetectionDataset(folder.Path, file, loadMasks: false);
        Assert.Contains("image 2 declares 10×10 but", Assert.Throws<InvalidDataException>(() => dataset.Load(1)).Message);
        var boxOnly = dataset.Load(0).Target;
        Assert.Null(boxOnly.Masks);
        Assert.Equal([20f, 0.5f, 30, 4.5f], boxOnly.Boxes.AsSpan(4, 4).ToArray());
    }
}

/// <summary>Errors in the images and categories sections of a COCO file.</summary>
public class CocoReaderImageErrorTests
{
    [Theory]
    [InlineData("{\"id\": 1, \"file_name\": \"a.png\", \"height\": 4, \"width\": 4},\n{\"id\": 1, \"file_name\": \"b.png\", \"height\": 4, \"width\": 4}",
        "line 3: image 1: image id 1 appears more than once")]
    [InlineData("{\"id\": 1, \"file_name\": \"a.png\", \"height\": 4, \"width\": 4},\n{\"id\": 2, \"height\": 4, \"width\": 4}",
        "line 3: image 2: the string field \"file_name\" is missing")]
    [InlineData("{\"id\": 1, \"file_name\": \"a.png\", \"height\": 0, \"width\": 4}", "line 2: image 1: size 0×4 is not positive")]
    public void BadImageEntriesNameTheImageAndLine(string images, string problem)
    {
        string json = "{\"images\": [\n" + images + "\n],\n\"categories\": [{\"id\": 1, \"name\": \"x\"}]}";
        var error = Assert.Throws<InvalidDataException>(() => CocoAnnotationFile.Parse(System.Text.Encoding.UTF8.GetBytes(json), "i.json"));
        Assert.Equal("i.json, " + problem + ".", error.Message);
    }

    [Fact]
    public void AFileWithoutCategoriesIsAnError() =>
        Assert.Contains("no categories", Assert.Throws<InvalidDataException>(() =>
            CocoAnnotationFile.Parse("{\"images\": [], \"categories\": []}"u8.ToArray(), "c.json")).Message);
}
