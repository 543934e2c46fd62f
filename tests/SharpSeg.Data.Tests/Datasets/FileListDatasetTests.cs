using SharpSeg.Data.Datasets;

namespace SharpSeg.Data.Tests.Datasets;

public class FileListDatasetTests
{
    private static TempTree TwoSampleTree(string list)
    {
        var tree = new TempTree();
        tree.WriteImage("img/a.png", TempTree.Rgb(2, 3, seed: 10));
        tree.WriteImage("img/b.png", TempTree.Rgb(2, 3, seed: 50));
        tree.WriteImage("ann/a.png", TempTree.Label(2, 3, 0, 1, 2, 255, 1, 0));
        tree.WriteImage("ann/b.png", TempTree.Label(2, 3, 2, 2, 2, 2, 2, 2));
        tree.WriteText("train.txt", list);
        return tree;
    }

    [Fact]
    public void ReadsImagesAndLabelsRelativeToRoot()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png ann/b.png\n");
        var dataset = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 3);
        Assert.Equal(2, dataset.Count);
        var sample = dataset.Load(0);
        Assert.Equal((2, 3, 3), (sample.Image.Height, sample.Image.Width, sample.Image.Channels));
        Assert.Equal([11f, 12f, 10f], sample.Image.Pixels[15..18]);   // pixel (1, 2) = (10 + 1, 10 + 2, 10)
        Assert.Equal([0, 1, 2, 255, 1, 0], sample.Label!.Pixels);
        Assert.Equal(tree.PathOf("img/a.png"), sample.ImagePath);
        Assert.Equal(tree.PathOf("ann/b.png"), dataset.Load(1).LabelPath);
    }

    [Fact]
    public void CustomSeparatorAndBlankLines()
    {
        using var tree = TwoSampleTree("img/a.png|ann/a.png\n\n  img/b.png|ann/b.png  \r\n");
        var dataset = new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3, separator: "|");
        Assert.Equal(2, dataset.Count);
        Assert.Equal(tree.PathOf("ann/b.png"), dataset.Files[1].LabelPath);
        Assert.Equal([$"{tree.PathOf("train.txt")}, line 1", $"{tree.PathOf("train.txt")}, line 3"], dataset.Files.Select(f => f.ListedAt));
    }

    [Fact]
    public void LineWithThreeItemsNamesFileAndLine()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png ann/b.png extra\n");
        var error = Assert.Throws<InvalidDataException>(() => new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3));
        Assert.Contains(tree.PathOf("train.txt") + ", line 2", error.Message);
        Assert.Contains("3 item(s)", error.Message);
    }

    [Fact]
    public void ImageOnlyLineIsAnErrorInTrainButAllowedInTest()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png\n");
        var error = Assert.Throws<InvalidDataException>(() => new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3, DatasetMode.Val));
        Assert.Contains("line 2", error.Message);
        Assert.Contains("Val mode", error.Message);

        var test = new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3, DatasetMode.Test);
        Assert.Null(test.Load(1).Label);
        Assert.NotNull(test.Load(0).Label);
    }

    [Fact]
    public void MissingFileNamesLine()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png ann/missing.png\n");
        var error = Assert.Throws<FileNotFoundException>(() => new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3));
        Assert.Contains("line 2", error.Message);
        Assert.Contains("missing.png", error.Message);
    }

    [Fact]
    public void LabelBeyondClassCountNamesFileValueAndCount()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\n");
        tree.WriteImage("ann/a.png", TempTree.Label(2, 3, 0, 1, 7, 255, 1, 0));
        var dataset = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 5);
        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(0));
        Assert.Contains(tree.PathOf("ann/a.png"), error.Message);
        Assert.Contains("value 7 at row 0, column 2", error.Message);
        Assert.Contains("5 classes", error.Message);
    }

    [Fact]
    public void DescribeReportsSizesHistogramAndBadLabels()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png ann/b.png\n");
        tree.WriteImage("img/b.png", TempTree.Rgb(1, 2));
        tree.WriteImage("ann/b.png", TempTree.Label(1, 2, 2, 9));
        var report = new FileListDataset(tree.Root, tree.PathOf("train.txt"), numClasses: 3).Describe();
        Assert.Equal(2, report.Samples);
        Assert.Equal([new ImageSizeCount(1, 2, 3, 1), new ImageSizeCount(2, 3, 3, 1)], report.ImageSizes);
        Assert.Equal([2L, 2, 2], report.ClassPixels);
        Assert.Equal(1, report.IgnoredPixels);
        Assert.Equal([new BadLabel(tree.PathOf("ann/b.png"), 9, 1)], report.BadLabels);
        Assert.Contains("value 9", report.ToString());
    }

    [Fact]
    public void LabelOfOtherSizeOrWithColourChannelsIsRejected()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\nimg/b.png ann/b.png\n");
        tree.WriteImage("ann/a.png", TempTree.Label(3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        tree.WriteImage("ann/b.png", TempTree.Rgb(2, 3));
        var dataset = new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3);
        Assert.Contains("3×3", Assert.Throws<InvalidDataException>(() => dataset.Load(0)).Message);
        Assert.Contains("3 channels", Assert.Throws<InvalidDataException>(() => dataset.Load(1)).Message);
    }

    [Fact]
    public void GrayImagesAreReplicatedToThreeChannels()
    {
        using var tree = TwoSampleTree("img/a.png ann/a.png\n");
        tree.WriteImage("img/a.png", TempTree.Label(2, 3, 5, 6, 7, 8, 9, 10));
        var sample = new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3).Load(0);
        Assert.Equal([5f, 5f, 5f, 6f, 6f, 6f], sample.Image.Pixels[..6]);
        var kept = new FileListDataset(tree.Root, tree.PathOf("train.txt"), 3, imageChannels: null).Load(0);
        Assert.Equal(1, kept.Image.Channels);
    }

    [Fact]
    public void PaddleXFolderTakesClassesFromLabelsTxt()
    {
        using var tree = new TempTree();
        tree.WriteImage("JPEGImages/1.jpg", TempTree.Rgb(2, 2));
        tree.WriteImage("Annotations/1.png", TempTree.Label(2, 2, 0, 1, 2, 1));
        tree.WriteImage("JPEGImages/2.jpg", TempTree.Rgb(2, 2, seed: 90));
        tree.WriteImage("Annotations/2.png", TempTree.Label(2, 2, 0, 0, 0, 0));
        tree.WriteText("train_list.txt", "JPEGImages/1.jpg Annotations/1.png\nJPEGImages/2.jpg\tAnnotations/2.png\n");
        tree.WriteText("val_list.txt", "JPEGImages/2.jpg Annotations/2.png\n");
        tree.WriteText("labels.txt", "background\nroad\ncar\n");

        var train = PaddleXSegDataset.Open(tree.Root, DatasetMode.Train);
        Assert.Equal(2, train.Count);
        Assert.Equal(3, train.NumClasses);
        Assert.Equal(["background", "road", "car"], train.ClassNames!);
        Assert.Equal([0, 1, 2, 1], train.Load(0).Label!.Pixels);
        Assert.Single(PaddleXSegDataset.Open(tree.Root, DatasetMode.Val).Files);

        tree.WriteText("labels.txt", "background\n");
        var error = Assert.Throws<InvalidDataException>(() => PaddleXSegDataset.Open(tree.Root, DatasetMode.Train).Load(0));
        Assert.Contains("value 1 at row 0, column 1", error.Message);
        Assert.Contains("1 classes", error.Message);
    }
}
